// The ERP HTTP sink adapter, as the registry sees it.
import type { SinkAdapter } from '../../agent/adapter.ts';
import { ErpHttpSinkConfig } from './config.ts';
import { ErpHttpSink } from './sink.ts';

export const erpHttpAdapter: SinkAdapter<ErpHttpSinkConfig> = {
  type: 'erp-http',
  description: 'ERP HTTP APIs: batches or per-type templated posts, idempotent, ordered, paced',
  configSchema: ErpHttpSinkConfig,
  createSink: (name, config, ctx) => new ErpHttpSink(name, config, ctx),
};
