// Spool -> dispatcher -> SAP OData sink -> SAP simulator (in its own process), beside the generic ERP HTTP sink into
// erp-sim, in one sitting and on the same backlog: what a $batch of 100 and of 500 changesets costs against one JSON
// request per batch. The backlog is production confirmations over 500 ordering keys (one event per key per request).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Dispatcher } from '../../agent/dispatcher.ts';
import { buildEvent, toRecord } from '../../agent/events.ts';
import type { Sink } from '../../agent/sink.ts';
import { withSchemaDefaults } from '../../agent/schema-defaults.ts';
import { ErpHttpSink } from '../../adapters/erp-http/sink.ts';
import { ErpHttpSinkConfig } from '../../adapters/erp-http/config.ts';
import { SapODataSink } from '../../adapters/sap-odata/sink.ts';
import { SapODataSinkConfig } from '../../adapters/sap-odata/config.ts';
import { Spool } from '../../spool/spool.ts';
import type { SpoolRecord } from '../../spool/types.ts';
import type { Figure } from './report.ts';
import { startSimProcess, type SimProcess } from './sim-process.ts';

function records(n: number, run: string): SpoolRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const order = `Auftrag-${run}${100000 + (i % 500)}`;
    const r = buildEvent({ type: 'production.confirmation', key: `${run}-${i}`, orderingKey: `${order}/0010`, plant: '1000', occurredAt: Date.now(), source: { adapter: 'bench', id: 'press-01', address: 'bench' }, payload: { order, operation: '0010', workCenter: 'PRESSE-01', yield: 4, scrap: 0, unit: 'ST', final: false } }, 'bench');
    if (!r.ok) throw new Error(r.reason);
    return toRecord(r.event);
  });
}

async function drain(sink: Sink, n: number, maxEvents: number, run: string, booked: () => Promise<number>): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'plantsync-sap-bench-'));
  const spool = Spool.open({ path: join(dir, 'spool.db'), routes: [{ sink: sink.name, types: '*', onReject: 'park' }] });
  try {
    for (let i = 0; i < n; i += 10_000) await spool.append(records(Math.min(10_000, n - i), `${run}${i}-`));
    await sink.open();
    const before = await booked();
    const d = new Dispatcher(spool, sink, { concurrency: 4, maxEvents, maxBytes: 16_777_216, backoff: { baseMs: 100, capMs: 1000, maxRetryAfterMs: Infinity } }, pino({ level: 'silent' }));
    const t0 = performance.now();
    d.start();
    while (d.stats.delivered < n) await new Promise((r) => setTimeout(r, 20));
    const seconds = (performance.now() - t0) / 1000;
    await d.stop(1000);
    const got = (await booked()) - before;
    if (got !== n) throw new Error(`${sink.name}: booked ${got} of ${n}`);
    return n / seconds;
  } finally {
    await sink.close().catch(() => {});
    spool.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function sapBenchmarks(n = 100_000): Promise<Figure[]> {
  const erp: SimProcess = await startSimProcess('independent');
  const sap: SimProcess = await startSimProcess('independent', 'sap');
  const log = pino({ level: 'silent' });
  const sapBooked = async () => ((await sap.counters()) as unknown as { booked: number }).booked;
  try {
    const sapSink = () => new SapODataSink('s4', withSchemaDefaults(SapODataSinkConfig, { type: 'sap-odata', url: sap.url, client: '100' }), { log });
    const generic = await drain(new ErpHttpSink('erp', withSchemaDefaults(ErpHttpSinkConfig, { type: 'erp-http', url: `${erp.url}/batch`, response: { itemsPath: 'results', itemStatusPath: 'status', itemErrorPath: 'error', receiptPath: 'documentNumber' } }), { log }), n, 500, 'g', async () => (await erp.counters()).accepted);
    const sap100 = await drain(sapSink(), n, 100, 's', sapBooked);
    const sap500 = await drain(sapSink(), n, 500, 't', sapBooked);
    return [
      { name: `generic ERP HTTP sink into erp-sim, batches of 500, ${n.toLocaleString('en')} confirmations over 500 keys`, value: generic, unit: 'events/s' },
      { name: 'SAP OData sink into the SAP simulator, $batch of 100 changesets', value: sap100, unit: 'events/s' },
      { name: 'SAP OData sink into the SAP simulator, $batch of 500 changesets', value: sap500, unit: 'events/s' },
      { name: 'SAP $batch of 500 / generic', value: sap500 / generic, unit: 'x' },
    ];
  } finally {
    erp.stop();
    sap.stop();
  }
}
