// The static list of adapters this build knows. Config validation and `config schema` are derived from it.
import type { SinkAdapter, SourceAdapter } from './adapter.ts';
import { mqttAdapter } from '../adapters/mqtt/index.ts';
import { memoryAdapter } from '../adapters/memory/index.ts';
import { erpHttpAdapter } from '../adapters/erp-http/index.ts';
import { opcuaAdapter } from '../adapters/opcua/index.ts';

export const sinkAdapters: ReadonlyMap<string, SinkAdapter<never>> = new Map(
  [memoryAdapter as SinkAdapter<never>, erpHttpAdapter as SinkAdapter<never>].map((a) => [a.type, a]),
);

export const sourceAdapters: ReadonlyMap<string, SourceAdapter<never>> = new Map(
  [mqttAdapter as SourceAdapter<never>, opcuaAdapter as SourceAdapter<never>].map((a) => [a.type, a]),
);
