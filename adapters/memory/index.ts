// The memory sink adapter, as the registry sees it.
import type { SinkAdapter } from '../../agent/adapter-kit.ts';
import { MemorySinkConfig } from './config.ts';
import { MemorySink } from './sink.ts';

export const memoryAdapter: SinkAdapter<typeof MemorySinkConfig> = {
  type: 'memory',
  description: 'In-process ERP stand-in (de-duplicates, checks order, injects faults): for the demo and tests',
  configSchema: MemorySinkConfig,
  createSink: (name, config) => new MemorySink(name, config),
};
