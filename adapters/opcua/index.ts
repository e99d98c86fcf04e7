// The OPC UA source adapter, as the registry sees it.
import type { SourceAdapter } from '../../agent/adapter.ts';
import { OpcuaSourceConfig } from './config.ts';
import { OpcuaSource } from './source.ts';

export const opcuaAdapter: SourceAdapter<OpcuaSourceConfig> = {
  type: 'opcua',
  description: 'OPC UA client: subscriptions, triggers (edges, counters, transitions, thresholds), read-on-trigger, PLC handshake',
  configSchema: OpcuaSourceConfig,
  createSource: (name, config) => new OpcuaSource(name, config),
};
