// The history the status page plots and `plantsync report` sums: minute and hour rows that add up whatever the
// flush rhythm, survive a reopen, stay bounded, give percentiles within the bucket width, and record how long a dead
// letter waited for the person who replayed or dropped it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Spool } from './spool.ts';
import { bucketOf, HOUR_MS, MINUTE_MS, quantileMs, emptyStats, mergeStats } from './history.ts';
import { record, tempDir } from '../test/helpers.ts';

const routes = [{ sink: 'erp', types: '*' as const, onReject: 'park' as const }];
const T0 = Date.UTC(2026, 10, 30, 6, 0, 0); // a Monday's early shift

test('deltas add up in their minute and hour rows whatever the flush rhythm, and survive a reopen', (t) => {
  const dir = tempDir(t);
  let s = Spool.open({ path: join(dir, 'spool.db'), routes });
  const add = (at: number, ms: number) => s.history.add([{ at, kind: 'sink', name: 'erp', type: 'production.confirmation', events: 1, judged: 1, within: ms <= 30_000 ? 1 : 0, maxMs: ms, hist: { [bucketOf(ms)]: 1 } }]);
  add(T0 + 1_000, 800);
  add(T0 + 59_000, 45_000); // same minute, later flush
  s.close();
  s = Spool.open({ path: join(dir, 'spool.db'), routes });
  t.after(() => s.close());
  add(T0 + 61_000, 1_200); // next minute, same hour
  s.history.add([{ at: T0 + 5_000, kind: 'backlog', name: 'erp', type: '', backlog: 9_223, oldestMs: 4_000 }, { at: T0 + 50_000, kind: 'backlog', name: 'erp', type: '', backlog: 17, oldestMs: 100 }]);
  const { rows } = s.history.rows(T0, T0 + HOUR_MS, T0 + 2 * MINUTE_MS);
  const first = rows.find((r) => r.kind === 'sink' && r.at === T0)!;
  assert.deepEqual([first.res, first.events, first.within, first.judged, first.maxMs], [1, 2, 1, 2, 45_000]);
  assert.equal(rows.find((r) => r.kind === 'sink' && r.at === T0 + MINUTE_MS)!.events, 1);
  assert.equal(rows.find((r) => r.kind === 'backlog')!.backlog, 9_223, 'a gauge keeps the highest sample of its minute');
  // Three days later the same hour is read from its hour row: everything in it, the range rounded to its hour.
  const later = s.history.rows(T0 + 30 * MINUTE_MS, T0 + HOUR_MS, T0 + 72 * HOUR_MS, ['sink']);
  assert.equal(later.from, T0, 'older than the minute rows: whole hours');
  assert.deepEqual(later.rows.map((r) => [r.res, r.events, r.maxMs]), [[60, 3, 45_000]]);
});

test('percentiles from the merged histograms are within one bucket (9 %) of the exact ones', () => {
  const values = Array.from({ length: 10_000 }, (_, i) => 200 + ((i * 7919) % 10_000) * 3.7); // 200 ms .. 37 s
  const s = emptyStats();
  for (const v of values) mergeStats(s, { events: 1, maxMs: v, hist: { [bucketOf(v)]: 1 } });
  const sorted = [...values].sort((a, b) => a - b);
  for (const q of [0.5, 0.95]) {
    const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
    const got = quantileMs(s, q)!;
    assert.ok(got >= exact && got <= exact * 1.091, `p${q * 100}: ${got} vs exact ${exact}`);
  }
  assert.equal(quantileMs(s, 1), Math.max(...values), 'never above the largest value seen');
  assert.equal(quantileMs(emptyStats(), 0.5), undefined);
});

test('bounded: minute rows older than 48 hours and hour rows older than keepDays are pruned', (t) => {
  const s = Spool.open({ path: join(tempDir(t), 'spool.db'), routes });
  t.after(() => s.close());
  for (let h = 0; h < 24 * 10; h += 6) s.history.add([{ at: T0 + h * HOUR_MS, kind: 'intake', name: '', type: '', events: 5 }]);
  const now = T0 + 240 * HOUR_MS;
  s.history.prune(now, 7);
  const rows = s.db.prepare('SELECT res, min(at) AS first, count(*) AS n FROM history GROUP BY res').all() as { res: number; first: number }[];
  const byRes = new Map(rows.map((r) => [r.res, r.first]));
  assert.ok(byRes.get(1)! >= now - 49 * HOUR_MS, 'minute rows: the last 48 hours');
  assert.ok(byRes.get(60)! >= now - 7 * 24 * HOUR_MS, 'hour rows: keepDays');
  assert.ok(byRes.get(60)! < now - 48 * HOUR_MS, 'older hours are still there for the report');
});

test('a replayed or dropped dead letter records how long it waited for a person, per sink and type', async (t) => {
  let now = T0;
  const s = Spool.open({ path: join(tempDir(t), 'spool.db'), routes, now: () => now });
  t.after(() => s.close());
  await s.append([record(1, 'Auftrag-4711/0010', { type: 'scrap' }), record(2, 'Заказ-77/0020', { type: 'scrap' })]);
  s.settle(s.claim('erp', 10)!, { kind: 'rejected', status: 422, reason: 'Auftrag gesperrt' });
  now += 42 * MINUTE_MS;
  assert.equal(s.admin.replayDead({ sink: 'erp', seq: 1 }, 'meister', 'Auftrag entsperrt'), 1);
  now += 3 * HOUR_MS;
  assert.equal(s.admin.dropDead({ sink: 'erp' }, 'meister', 'doppelt gebucht'), 1);
  const { rows } = s.history.rows(T0, now + 1, now, ['replayed', 'dropped']);
  const min = rows.filter((r) => r.res === 1);
  assert.deepEqual(min.map((r) => [r.kind, r.type, r.events, r.maxMs]), [['replayed', 'scrap', 1, 42 * MINUTE_MS], ['dropped', 'scrap', 1, 42 * MINUTE_MS + 3 * HOUR_MS]]);
});
