// Spool -> dispatcher -> ERP HTTP sink -> erp-sim (in its own process, so it does not share the agent's core) on
// loopback: throughput with batches of 500, and how long a 1,000,000-event backlog takes to drain.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Dispatcher } from '../../agent/dispatcher.ts';
import { buildEvent } from '../../agent/events.ts';
import { ErpHttpSink } from '../../adapters/erp-http/sink.ts';
import { Spool } from '../../spool/spool.ts';
import type { SpoolRecord } from '../../spool/types.ts';
import type { Figure } from './report.ts';
import { startSimProcess } from './sim-process.ts';

function records(from: number, n: number): SpoolRecord[] {
  const out: SpoolRecord[] = [];
  for (let i = from; i < from + n; i++) {
    const r = buildEvent(
      {
        type: 'production.confirmation',
        key: `seq-${String(i).padStart(10, '0')}`,
        orderingKey: `PO${100000 + (i % 500)}/0010`,
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
  const dir = mkdtempSync(join(tmpdir(), 'plantsync-erp-bench-'));
  const sim = await startSimProcess();
  const spool = Spool.open({ path: join(dir, 'spool.db'), routes: [{ sink: 'erp', types: '*', onReject: 'park' }] });
  const log = pino({ level: 'silent' });
  const sink = new ErpHttpSink('erp', { type: 'erp-http', url: `${sim.url}/batch`, connections: 8, response: { itemsPath: 'results', itemStatusPath: 'status', itemErrorPath: 'error', receiptPath: 'documentNumber' } }, { log });
  try {
    for (let i = 0; i < backlog; i += 10_000) await spool.append(records(i, Math.min(10_000, backlog - i)));
    await sink.open();
    const d = new Dispatcher(spool, sink, { concurrency: 8, maxEvents: 500, maxBytes: 4_194_304, backoff: { baseMs: 100, capMs: 1000, maxRetryAfterMs: Infinity } }, log);
    const t0 = performance.now();
    let firstHalf = 0;
    d.start();
    while (d.stats.delivered < backlog) {
      await new Promise((r) => setTimeout(r, 20));
      if (!firstHalf && d.stats.delivered >= backlog / 2) firstHalf = performance.now() - t0;
    }
    const total = (performance.now() - t0) / 1000;
    await d.stop(1000);
    const c = await sim.counters();
    if (c.accepted !== backlog || c.outOfOrder !== 0) throw new Error(`erp-sim booked ${c.accepted} of ${backlog}, ${c.outOfOrder} out of order`);
    return [
      { name: 'spool -> erp-http -> erp-sim, batches of 500, first half of the backlog', value: backlog / 2 / (firstHalf / 1000), unit: 'events/s', target: '>= 50000' },
      { name: `drain a ${backlog.toLocaleString('en')}-event backlog into erp-sim`, value: total, unit: 's', target: '<= 30' },
      { name: 'drain rate over the whole backlog (booked once each, in order)', value: backlog / total, unit: 'events/s' },
    ];
  } finally {
    await sink.close().catch(() => {});
    spool.close();
    sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
