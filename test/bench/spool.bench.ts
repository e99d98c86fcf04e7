// Spool benchmarks: durable append, claim + settle, and whether cost grows with the backlog.
// Each figure is events per second (higher is better) unless its unit says otherwise.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../../spool/spool.ts';
import type { SpoolRecord } from '../../spool/types.ts';
import type { Figure } from './report.ts';

const routes = [{ sink: 'erp', types: '*' as const, onReject: 'park' as const }];
const PAD = 'x'.repeat(150);

/** A ~300-byte event. Sequential keys are what sources produce (machine sequence numbers, source timestamps). */
function rec(i: number, randomKey = false): SpoolRecord {
  const key = randomKey ? `1000/press-01/${Math.random().toString(36).slice(2)}${i}` : `1000/press-01/seq-${String(i).padStart(12, '0')}`;
  return {
    idempotencyKey: key,
    orderingKey: `PO${100000 + (i % 200)}/0010`,
    type: 'production.confirmation',
    priority: 'business',
    occurredAt: 1_795_000_000_000 + i,
    body: `{"i":${i},"type":"production.confirmation","payload":{"order":"PO${100000 + (i % 200)}","operation":"0010","yield":4,"unit":"PC","pad":"${PAD}"}}`,
  };
}

/**
 * Appends n records in groups, with up to `inFlight` groups waiting for their flush at once (a source pipelines
 * its groups like that; 1 = each group awaited before the next is sent).
 */
async function appendRate(s: Spool, from: number, n: number, group: number, randomKey = false, inFlight = 1): Promise<number> {
  const t0 = performance.now();
  const pending = new Set<Promise<unknown>>();
  for (let i = from; i < from + n; i += group) {
    const p = s.append(Array.from({ length: Math.min(group, from + n - i) }, (_, k) => rec(i + k, randomKey)));
    pending.add(p);
    void p.then(() => pending.delete(p));
    if (pending.size >= inFlight) await Promise.race(pending);
  }
  await Promise.all(pending);
  return n / ((performance.now() - t0) / 1000);
}

/** Many sources appending one event each in the same moment: group commit gathers them into one transaction. */
async function concurrentAppendRate(s: Spool, from: number, n: number, callers: number): Promise<number> {
  const t0 = performance.now();
  for (let i = from; i < from + n; i += callers) {
    await Promise.all(Array.from({ length: callers }, (_, k) => s.append([rec(i + k)])));
  }
  return n / ((performance.now() - t0) / 1000);
}

function claimSettleRate(s: Spool, n: number, batch: number): number {
  const t0 = performance.now();
  let done = 0;
  while (done < n) {
    const c = s.claim('erp', batch);
    if (!c) break;
    s.settle(c, { kind: 'delivered' });
    done += c.events.length;
  }
  return done / ((performance.now() - t0) / 1000);
}

/** Heap after a full GC (run the bench with --expose-gc) and resident set size, in bytes. */
function memory(): { heap: number; rss: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

export async function spoolBenchmarks(backlog: number): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'plantsync-bench-'));
  const path = join(dir, 'spool.db');
  const figures: Figure[] = [];
  try {
    let s = Spool.open({ path, routes });
    const n = 200_000;
    figures.push({ name: 'durable append, groups of 100, one at a time (each awaited)', value: await appendRate(s, 0, n, 100), unit: 'events/s' });
    figures.push({ name: 'durable append, groups of 100, 4 in flight (as a source pipelines them)', value: await appendRate(s, n, n, 100, false, 4), unit: 'events/s', target: '>= 100000' });
    figures.push({ name: 'durable append, groups of 500, one at a time', value: await appendRate(s, 2 * n, n, 500), unit: 'events/s', target: '>= 100000' });
    figures.push({ name: 'durable append, 200 concurrent single-event appends (group commit)', value: await concurrentAppendRate(s, 3 * n, n, 200), unit: 'events/s' });
    figures.push({ name: 'claim + settle(delivered), batches of 500, small backlog', value: claimSettleRate(s, 4 * n, 500), unit: 'events/s', target: '>= 100000' });
    figures.push({ name: 'durable append, groups of 500, random keys (worst case)', value: await appendRate(s, 4 * n, n, 500, true), unit: 'events/s' });
    s.close();
    rmSync(dir, { recursive: true, force: true });

    // Build the big backlog, then measure the same operations on top of it.
    s = Spool.open({ path, routes });
    const emptyAppend = await appendRate(s, 0, n, 500);
    const emptyClaim = claimSettleRate(s, n, 500);
    const memEmpty = memory();
    let i = n;
    const tb = performance.now();
    while (i < n + backlog) {
      await appendRate(s, i, 100_000, 5000);
      i += 100_000;
    }
    figures.push({ name: `build a ${backlog.toLocaleString('en')}-event backlog (groups of 5000)`, value: backlog / ((performance.now() - tb) / 1000), unit: 'events/s' });
    s.close();
    const to = performance.now();
    s = Spool.open({ path, routes });
    figures.push({ name: `open a spool holding ${backlog.toLocaleString('en')} events`, value: performance.now() - to, unit: 'ms', target: '< 1000' });
    const bigAppend = await appendRate(s, i, n, 500);
    const bigClaim = claimSettleRate(s, n, 500);
    const memBig = memory();
    figures.push({ name: 'durable append, groups of 500, on the backlog', value: bigAppend, unit: 'events/s' });
    figures.push({ name: 'append slowdown on the backlog (empty rate / backlog rate)', value: emptyAppend / bigAppend, unit: 'x', target: '<= 1.5' });
    figures.push({ name: 'claim + settle, batches of 500, on the backlog', value: bigClaim, unit: 'events/s' });
    figures.push({ name: 'claim + settle slowdown on the backlog (empty rate / backlog rate)', value: emptyClaim / bigClaim, unit: 'x', target: '<= 1.5' });
    figures.push({ name: 'JS heap after GC: backlog minus empty spool', value: (memBig.heap - memEmpty.heap) / 1024 ** 2, unit: 'MiB' });
    figures.push({ name: 'RSS: backlog minus empty spool (SQLite page cache is capped at 16 MiB)', value: (memBig.rss - memEmpty.rss) / 1024 ** 2, unit: 'MiB' });
    s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
