// The MQTT source adapter, as the registry sees it.
import type { SourceAdapter } from '../../agent/adapter.ts';
import { MqttSourceConfig } from './config.ts';
import { MqttSource } from './source.ts';

export const mqttAdapter: SourceAdapter<MqttSourceConfig> = {
  type: 'mqtt',
  description: 'MQTT 3.1.1 / 5 subscriber with a persistent session; acknowledges after the spool commit',
  configSchema: MqttSourceConfig,
  createSource: (name, config) => new MqttSource(name, config),
};
