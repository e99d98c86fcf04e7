// The history recorder under a spool that refuses writes (disk full, injected with a trigger as SQLite reports it):
// nothing thrown at the delivery path or at stop, the warning said once, the counts kept and written in full once
// the spool takes writes again. And the history as the status page reads it over a long range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Spool } from '../spool/spool.ts';
import { HistoryRecorder, type HistoryView } from './history.ts';
import { historySeries, stepMinutes } from './history-series.ts';
import { bucketOf } from '../spool/history.ts';
import { tempDir } from '../test/helpers.ts';

test('a full disk: history counts are kept, the warning said once, and everything written when space is back', (t) => {
  const spool = Spool.open({ path: join(tempDir(t), 'spool.db'), routes: [{ sink: 'erp', types: '*', onReject: 'park' }] });
  t.after(() => spool.close());
  const lines: { msg: string }[] = [];
  const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, done) => (lines.push(JSON.parse(c.toString()) as { msg: string }), done()) }));
  // The agent's side as the recorder reads it: plain figures (the recorder is what is tested, the spool is real).
  const view: HistoryView = {
    sources: new Map(),
    dispatchers: new Map([['erp', {}]]),
    sinkStatus: (name) => ({ ...spool.stats(name), inFlight: 0 }),
    ingestStats: { accepted: 0, rejectedBySource: new Map([['press-opcua', 2]]) },
    objectives: { objectiveOf: (type) => (type === 'scrap' ? 60 : undefined) },
  };
  const rec = new HistoryRecorder(view, () => spool, log, () => 400);
  const now = Date.UTC(2026, 11, 1, 22, 15, 0); // the night shift
  for (let i = 0; i < 5; i++) rec.settled('erp', 'delivered', 'scrap', now - 1000 * (i + 1), now);
  rec.settled('erp', 'dead', 'scrap', now - 500, now);
  spool.db.exec(`CREATE TEMP TRIGGER disk_full BEFORE INSERT ON main.history BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
  rec.flush(now);
  rec.settled('erp', 'delivered', 'scrap', now - 90_000, now + 5_000); // late: outside its 60 s objective
  rec.flush(now + 10_000);
  assert.equal(lines.filter((l) => l.msg.startsWith('history not written')).length, 1, 'said once');
  assert.equal(spool.db.prepare('SELECT count(*) FROM history').pluck().get(), 0);
  spool.db.exec('DROP TRIGGER disk_full');
  rec.flush(now + 20_000);
  assert.ok(lines.some((l) => l.msg === 'history written again'));
  const { rows } = spool.history.rows(now - 60_000, now + 60_000, now + 20_000, ['sink', 'source']);
  const sink = rows.find((r) => r.kind === 'sink')!;
  assert.deepEqual([sink.events, sink.judged, sink.within, sink.dead, sink.maxMs], [6, 6, 5, 1, 95_000], 'every count kept through the failures');
  assert.equal(rows.find((r) => r.kind === 'source' && r.name === 'press-opcua')!.rejected, 2);
  rec.flush(now + 30_000);
  assert.equal(spool.history.rows(now - 60_000, now + 60_000, now + 30_000, ['sink']).rows[0]!.events, 6, 'written once, not again');
});

test('48 hours of minutes plot as 360 points: counts as the average per minute, gauges at their highest, latency over the merged minutes', (t) => {
  const spool = Spool.open({ path: join(tempDir(t), 'spool.db'), routes: [{ sink: 'erp', types: '*', onReject: 'park' }] });
  t.after(() => spool.close());
  const now = Date.UTC(2026, 11, 1, 22, 0, 0);
  for (let m = 0; m < 48 * 60; m++) {
    const at = now - m * 60_000;
    const slow = m % 8 === 0; // one minute in eight: the ERP answered slowly
    spool.history.add([
      { at, kind: 'intake', name: '', type: '', events: 80 },
      { at, kind: 'backlog', name: 'erp', type: '', backlog: m % 8 === 3 ? 5_000 : 10 },
      { at, kind: 'sink', name: 'erp', type: 'production.confirmation', events: 80, maxMs: slow ? 40_000 : 800, hist: { [bucketOf(slow ? 40_000 : 800)]: 80 } },
    ]);
  }
  const long = historySeries(spool, 48, () => 30, now);
  assert.equal(stepMinutes(48), 8);
  assert.equal(long.minutes.length, 360);
  assert.equal(long.minutes[1]! - long.minutes[0]!, 8 * 60, 'eight minutes a point');
  assert.ok(long.eventsIn.every((v) => v === 80), `events in: per minute, as at one minute a point (the last point too, over the minutes it has had): ${long.eventsIn.filter((v) => v !== 80)}`);
  assert.ok(long.backlog.erp!.slice(0, -1).every((v) => v === 5_000), 'the backlog peak of each eight minutes shows');
  const p95 = long.latency['production.confirmation']!.p95Sec.slice(0, -1);
  const p50 = long.latency['production.confirmation']!.p50Sec.slice(0, -1);
  assert.ok(p50.every((v) => v !== null && v < 1) && p95.every((v) => v !== null && v >= 40), 'p50 of the quick minutes, p95 of the slow one');
  const short = historySeries(spool, 1, () => 30, now);
  assert.deepEqual([short.minutes.length, short.minutes[1]! - short.minutes[0]!], [60, 60]);
});
