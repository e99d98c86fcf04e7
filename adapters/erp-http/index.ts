// The ERP HTTP sink adapter, as the registry sees it.
import type { SinkAdapter } from '../../agent/adapter-kit.ts';
import { ErpHttpSinkConfig } from './config.ts';

export const erpHttpAdapter: SinkAdapter<typeof ErpHttpSinkConfig> = {
  type: 'erp-http',
  description: 'ERP HTTP APIs: batches or per-type templated posts, idempotent, ordered, paced',
  configSchema: ErpHttpSinkConfig,
  warnings: (c) => {
    const out: string[] = [];
    if (c.tls?.rejectUnauthorized === false) out.push('/tls/rejectUnauthorized: TLS certificate verification is off: anyone on the path can read and change postings');
    const plain = /^http:/i.test(c.url);
    if (plain && c.auth && c.auth.type !== 'none') out.push(`/url: credentials (auth ${c.auth.type}) go over plain http://`);
    if (plain && Object.keys(c.headers ?? {}).some((h) => /auth|key|token|secret|password/i.test(h))) out.push('/url: a credential header goes over plain http://');
    return out;
  },
  createSink: async (name, config, ctx) => new (await import('./sink.ts')).ErpHttpSink(name, config, ctx),
};
