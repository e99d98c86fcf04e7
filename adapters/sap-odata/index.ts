// The SAP S/4HANA OData v2 sink adapter, as the registry sees it.
import type { SinkAdapter } from '../../agent/adapter-kit.ts';
import { SapODataSinkConfig } from './config.ts';

export const sapODataAdapter: SinkAdapter<typeof SapODataSinkConfig> = {
  type: 'sap-odata',
  description: 'SAP S/4HANA OData v2: $batch with one changeset per event, CSRF, SAP error classes, unknown-outcome lookups',
  configSchema: SapODataSinkConfig,
  warnings: (c) => {
    const out: string[] = [];
    if (c.tls?.rejectUnauthorized === false) out.push('/tls/rejectUnauthorized: TLS certificate verification is off: anyone on the path can read and change postings');
    if (/^http:/i.test(c.url) && c.auth && c.auth.type !== 'none') out.push(`/url: credentials (auth ${c.auth.type}) go over plain http://`);
    return out;
  },
  createSink: async (name, config, ctx) => new (await import('./sink.ts')).SapODataSink(name, config, ctx),
};
