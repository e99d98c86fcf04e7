// The MQTT source adapter, as the registry sees it.
import type { SourceAdapter } from '../../agent/adapter-kit.ts';
import { MqttSourceConfig } from './config.ts';

export const mqttAdapter: SourceAdapter<typeof MqttSourceConfig> = {
  type: 'mqtt',
  description: 'MQTT 3.1.1 / 5 subscriber with a persistent session; acknowledges after the spool commit',
  configSchema: MqttSourceConfig,
  warnings: (c) => {
    const out: string[] = [];
    if (c.tls?.rejectUnauthorized === false) out.push('/tls/rejectUnauthorized: TLS certificate verification is off: anyone on the path can read and inject machine events');
    if (/^(mqtt|ws):/i.test(c.url) && c.password) out.push(`/url: the broker password goes over plain ${c.url.split(':')[0]}://`);
    return out;
  },
  createSource: async (name, config) => new (await import('./source.ts')).MqttSource(name, config),
};
