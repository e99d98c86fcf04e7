// Spool -> dispatcher -> ERP HTTP sink -> erp-sim (in its own process, so it does not share the agent's core) on
// loopback: throughput with batches of 500, and how long a 1,000,000-event backlog takes to drain.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Dispatcher } from '../../agent/dispatcher.ts';
import { buildEvent } from '../../agent/events.ts';
import { ErpHttpSink } from '../../adapters/erp-http/sink.ts';
import { ErpHttpSinkConfig } from '../../adapters/erp-http/config.ts';
import { withSchemaDefaults } from '../../agent/schema-defaults.ts';
import { Spool } from '../../spool/spool.ts';
import type { SpoolRecord } from '../../spool/types.ts';
import type { Figure } from './report.ts';
import { startSimProcess } from './sim-process.ts';

function records(from: number, n: number, run: string): SpoolRecord[] {
  const out: SpoolRecord[] = [];
  for (let i = from; i < from + n; i++) {
    const r = buildEvent(
      {
        type: 'production.confirmation',
        key: `${run}-seq-${String(i).padStart(10, '0')}`,
        orderingKey: `PO-${run}${100000 + (i % 500)}/0010`,
        plant: '1000',
        occurredAt: Date.now(),
        source: { adapter: 'bench', id: 'press-01', address: 'bench' },
        payload: { order: `PO${100000 + (i % 500)}`, operation: '0010', workCenter: 'PRESS-01', yield: 4, scrap: 0, unit: 'PC', final: false },
      },
      'bench',
    );
    if (!r.ok) throw new Error(r.reason);
    out.push({ idempotencyKey: r.event.idempotencyKey, orderingKey: r.event.orderingKey, type: r.event.type, priority: 'business', occurredAt: Date.now(), body: JSON.stringify(r.event) });
  }
  return out;
}

export async function erpBenchmarks(backlog = 1_000_000): Promise<Figure[]> {
  const independent = await startSimProcess('independent');
  const orderAware = await startSimProcess('stop-at-failure');
  try {
    // In one sitting: the default (at most one event per ordering key in a request, safe against a receiver that
    // books items independently) and a sink declaring keyOrderInBatch against a receiver that stops at a key's first
    // failure (several events of a key per request, as before the rule).
    const onePerKey = await drain(independent, backlog, false);
    const severalPerKey = await drain(orderAware, backlog, true);
    return [
      { name: 'spool -> erp-http -> erp-sim, batches of 500, one event per key, first half of the backlog', value: onePerKey.firstHalfRate, unit: 'events/s', target: '>= 50000' },
      { name: `drain a ${backlog.toLocaleString('en')}-event backlog (500 keys) into erp-sim, one event per key per request`, value: onePerKey.seconds, unit: 's', target: '<= 30' },
      { name: 'drain rate over the whole backlog (booked once each, in order), one event per key', value: backlog / onePerKey.seconds, unit: 'events/s' },
      { name: 'drain rate, keyOrderInBatch (order-aware receiver): several events per key per request', value: backlog / severalPerKey.seconds, unit: 'events/s' },
    ];
  } finally {
    independent.stop();
    orderAware.stop();
  }
}

async function drain(sim: Awaited<ReturnType<typeof startSimProcess>>, backlog: number, keyOrderInBatch: boolean): Promise<{ seconds: number; firstHalfRate: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'plantsync-erp-bench-'));
  const spool = Spool.open({ path: join(dir, 'spool.db'), routes: [{ sink: 'erp', types: '*', onReject: 'park' }] });
  const log = pino({ level: 'silent' });
  const sink = new ErpHttpSink('erp', withSchemaDefaults(ErpHttpSinkConfig, { type: 'erp-http', url: `${sim.url}/batch`, connections: 8, keyOrderInBatch, response: { itemsPath: 'results', itemStatusPath: 'status', itemErrorPath: 'error', receiptPath: 'documentNumber' } }), { log });
  const before = await sim.counters();
  try {
    for (let i = 0; i < backlog; i += 10_000) await spool.append(records(i, Math.min(10_000, backlog - i), keyOrderInBatch ? 'b' : 'a'));
    await sink.open();
    const d = new Dispatcher(spool, sink, { concurrency: 8, maxEvents: 500, maxBytes: 4_194_304, backoff: { baseMs: 100, capMs: 1000, maxRetryAfterMs: Infinity } }, log);
    const t0 = performance.now();
    let firstHalf = 0;
    d.start();
    while (d.stats.delivered < backlog) {
      await new Promise((r) => setTimeout(r, 20));
      if (!firstHalf && d.stats.delivered >= backlog / 2) firstHalf = performance.now() - t0;
    }
    const seconds = (performance.now() - t0) / 1000;
    await d.stop(1000);
    const c = await sim.counters();
    if (c.accepted - before.accepted !== backlog || c.outOfOrder !== 0) throw new Error(`erp-sim booked ${c.accepted - before.accepted} of ${backlog}, ${c.outOfOrder} out of order`);
    return { seconds, firstHalfRate: backlog / 2 / (firstHalf / 1000) };
  } finally {
    await sink.close().catch(() => {});
    spool.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
