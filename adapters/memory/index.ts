// The memory sink adapter, as the registry sees it.
import type { SinkAdapter } from '../../agent/adapter-kit.ts';
import { MemorySinkConfig } from './config.ts';

export const memoryAdapter: SinkAdapter<typeof MemorySinkConfig> = {
  type: 'memory',
  description: 'In-process ERP stand-in (de-duplicates, checks order, injects faults): for the demo and tests',
  configSchema: MemorySinkConfig,
  createSink: async (name, config) => new (await import('./sink.ts')).MemorySink(name, config),
};
