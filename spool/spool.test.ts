import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Spool } from './spool.ts';
import { SpoolFullError, type Route, type SpoolNotice } from './types.ts';
import { record, tempDir } from '../test/helpers.ts';

const erpOnly: Route[] = [{ sink: 'erp', types: '*', onReject: 'park' }];

function open(dir: string, over: Partial<Parameters<typeof Spool.open>[0]> = {}) {
  return Spool.open({ path: join(dir, 'spool.db'), routes: erpOnly, ...over });
}

test('append is durable across reopen, and a redelivered idempotency key is counted, not stored twice', async (t) => {
  const dir = tempDir(t);
  const s = open(dir);
  const first = await s.append([record(1), record(2)]);
  assert.deepEqual(first.map((r) => r.duplicate), [false, false]);
  const again = await s.append([record(2), record(3)]);
  assert.deepEqual(again.map((r) => r.duplicate), [true, false]);
  s.close();
  const s2 = open(dir);
  t.after(() => s2.close());
  assert.equal(s2.counter('duplicates'), 1);
  assert.equal(s2.stats('erp').pending, 3);
});

test('appends in the same turn share one group commit and resolve with their own results', async (t) => {
  const s = open(tempDir(t));
  t.after(() => s.close());
  const [a, b] = await Promise.all([s.append([record(1)]), s.append([record(1), record(2)])]);
  assert.equal(a[0]!.duplicate, false);
  assert.deepEqual(b.map((r) => r.duplicate), [true, false]);
});

test('appends within the commit window share one transaction; without a window they go at once', async (t) => {
  const windowed = open(tempDir(t), { commitWindowMs: 50 });
  t.after(() => windowed.close());
  const first = windowed.append([record(1)]);
  await new Promise((r) => setTimeout(r, 10));
  await Promise.all([first, windowed.append([record(2)])]);
  const at = windowed.db.prepare('SELECT DISTINCT appended_at FROM events').pluck().all();
  assert.equal(at.length, 1, 'one commit for both');
  const immediate = open(tempDir(t));
  t.after(() => immediate.close());
  await immediate.append([record(1)]);
  await new Promise((r) => setTimeout(r, 10));
  await immediate.append([record(2)]);
  assert.equal(immediate.db.prepare('SELECT count(DISTINCT appended_at) FROM events').pluck().get(), 2);
});

test('large appends keep record order and spot duplicates inside the same call and against stored events', async (t) => {
  const s = open(tempDir(t));
  t.after(() => s.close());
  await s.append([record(5)]);
  const batch = Array.from({ length: 100 }, (_, i) => record(i));
  batch[40] = record(3); // repeats an earlier record of this call
  batch[70] = record(69);
  const res = await s.append(batch);
  const dupAt = res.flatMap((r, i) => (r.duplicate ? [i] : []));
  assert.deepEqual(dupAt, [5, 40, 70]);
  const seqs = res.filter((r) => !r.duplicate).map((r) => r.seq!);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'seq follows record order');
  assert.equal(s.stats('erp').pending, 98);
});

test('claim hands out the oldest events in append order, one batch per ordering key', async (t) => {
  const s = open(tempDir(t));
  t.after(() => s.close());
  await s.append([record(1, 'A'), record(2, 'B'), record(3, 'A'), record(4, 'C')]);
  const c1 = s.claim('erp', 2)!;
  assert.deepEqual(c1.events.map((e) => e.orderingKey), ['A', 'B']);
  // A and B are out: the next claim skips A's second event and takes C.
  const c2 = s.claim('erp', 10)!;
  assert.deepEqual(c2.events.map((e) => e.orderingKey), ['C']);
  assert.equal(s.claim('erp', 10), undefined);
  s.settle(c1, { kind: 'delivered' });
  const c3 = s.claim('erp', 10)!;
  assert.deepEqual(c3.events.map((e) => e.seq), [3]);
});

test('with spread, a batch takes only its share of the waiting keys so concurrent batches find keys of their own', async (t) => {
  const s = open(tempDir(t));
  t.after(() => s.close());
  await s.append(Array.from({ length: 12 }, (_, i) => record(i, ['A', 'B', 'C', 'D'][i % 4])));
  // A sink that keeps a key's order inside a request (onePerKey false) gets every waiting event of its keys.
  const first = s.claim('erp', 100, Infinity, 2, false)!;
  assert.deepEqual([...new Set(first.events.map((e) => e.orderingKey))], ['A', 'B']);
  assert.deepEqual(first.events.map((e) => e.seq), [1, 2, 5, 6, 9, 10], 'each key in order, all of its waiting events');
  const second = s.claim('erp', 100, Infinity, 2, false)!;
  assert.deepEqual([...new Set(second.events.map((e) => e.orderingKey))], ['C', 'D']);
  assert.equal(s.claim('erp', 100, Infinity, 2, false), undefined);
});

test('by default a batch holds at most one event per ordering key: the next waits for the first one\'s outcome', async (t) => {
  const s = open(tempDir(t));
  t.after(() => s.close());
  await s.append(Array.from({ length: 12 }, (_, i) => record(i + 1, ['Auftrag-Größe', 'Заказ-7', '订单-9'][i % 3])));
  const first = s.claim('erp', 100)!;
  assert.deepEqual(first.events.map((e) => e.seq), [1, 2, 3], "each key's oldest event only");
  assert.equal(s.claim('erp', 100), undefined, 'every key has its batch out');
  s.settle(first, { kind: 'partial', results: [{ kind: 'rejected', reason: 'closed' }, { kind: 'delivered' }, { kind: 'delivered' }] });
  assert.deepEqual(s.claim('erp', 100)!.events.map((e) => e.seq), [5, 6], 'the rejected key is parked; the others go on, one each');
});

test('a key that must retry waits alone: other keys keep flowing, and the retry re-sends the same batch', async (t) => {
  let now = 1_000_000;
  const s = open(tempDir(t), { now: () => now });
  t.after(() => s.close());
  await s.append([record(1, 'A'), record(2, 'B')]);
  const a = s.claim('erp', 1)!;
  s.settle(a, { kind: 'retry', error: '503' }, 5_000);
  await s.append([record(3, 'A'), record(4, 'B')]);
  const b = s.claim('erp', 10, Infinity, 1, false)!;
  assert.deepEqual(b.events.map((e) => e.seq), [2, 4], 'B flows; A waits behind its retry');
  s.settle(b, { kind: 'delivered' });
  assert.equal(s.claim('erp', 10), undefined, 'nothing for A before its retry time');
  assert.equal(s.nextDueAt('erp'), now + 5_000);
  now += 5_000;
  const again = s.claim('erp', 10)!;
  assert.equal(again.batchKey, a.batchKey);
  assert.deepEqual(again.events.map((e) => e.seq), [1]);
  assert.equal(again.attempts, 1);
  assert.deepEqual([a.resend, b.resend, again.resend], [false, false, true], 'a batch going out again says so');
  s.settle(again, { kind: 'delivered' });
  assert.deepEqual(s.claim('erp', 10)!.events.map((e) => e.seq), [3], "A's later event follows, in order");
});

test('a rejected event parks its key until the dead letter is replayed; the replay keeps order and is audited', async (t) => {
  const s = open(tempDir(t));
  t.after(() => s.close());
  await s.append([record(1, 'A'), record(2, 'B')]);
  const c = s.claim('erp', 1)!;
  s.settle(c, { kind: 'rejected', status: 422, reason: 'order PO1 is closed' });
  await s.append([record(3, 'A'), record(4, 'A')]);
  const b = s.claim('erp', 10)!;
  assert.deepEqual(b.events.map((e) => e.seq), [2], 'A is parked; B flows');
  s.settle(b, { kind: 'delivered' });
  assert.equal(s.claim('erp', 10), undefined);
  assert.equal(s.stats('erp').parkedKeys, 1);
  const dead = s.admin.listDead({ sink: 'erp' });
  assert.equal(dead.length, 1);
  assert.equal(dead[0]!.status, 422);
  assert.match(dead[0]!.reason, /closed/);
  assert.throws(() => s.admin.replayDead({ sink: 'erp' }, 'tech', ''), /reason is required/);
  assert.equal(s.admin.replayDead({ sink: 'erp', orderingKey: 'A' }, 'tech', 'order reopened in ERP'), 1);
  const r = s.claim('erp', 10)!;
  assert.deepEqual(r.events.map((e) => e.seq), [1], 'the replayed head goes first, alone');
  assert.equal(r.events[0]!.idempotencyKey, record(1).idempotencyKey, 'same idempotency key after replay');
  s.settle(r, { kind: 'delivered' });
  const next = s.claim('erp', 10)!;
  assert.deepEqual(next.events.map((e) => e.seq), [3], "then the key's held events, in order");
  s.settle(next, { kind: 'delivered' });
  assert.deepEqual(s.claim('erp', 10)!.events.map((e) => e.seq), [4]);
  const audit = s.admin.auditLog();
  assert.equal(audit[0]!.action, 'dlq.replay');
  assert.equal(audit[0]!.actor, 'tech');
  assert.equal(audit[0]!.reason, 'order reopened in ERP');
});

test("with onReject 'skip' a rejected event does not hold back its key", async (t) => {
  const s = open(tempDir(t), { routes: [{ sink: 'erp', types: '*', onReject: 'skip' }] });
  t.after(() => s.close());
  await s.append([record(1, 'A'), record(2, 'A')]);
  s.settle(s.claim('erp', 1)!, { kind: 'rejected', status: 400, reason: 'bad' });
  assert.deepEqual(s.claim('erp', 10)!.events.map((e) => e.seq), [2]);
});

test('dropping a dead letter releases the parked key and is audited', async (t) => {
  const s = open(tempDir(t));
  t.after(() => s.close());
  await s.append([record(1, 'A'), record(2, 'A')]);
  s.settle(s.claim('erp', 1)!, { kind: 'rejected', reason: 'bad' });
  assert.equal(s.claim('erp', 10), undefined);
  assert.equal(s.admin.dropDead({ seq: 1 }, 'tech', 'posted by hand in ERP'), 1);
  assert.deepEqual(s.claim('erp', 10)!.events.map((e) => e.seq), [2]);
  assert.equal(s.admin.auditLog()[0]!.action, 'dlq.drop');
});

test('a partial outcome settles each event: receipts kept, rejects dead-lettered, retries re-sent alone', async (t) => {
  let now = 0;
  const s = open(tempDir(t), { now: () => now });
  t.after(() => s.close());
  await s.append([record(1, 'A'), record(2, 'B'), record(3, 'C')]);
  const c = s.claim('erp', 10)!;
  s.settle(
    c,
    {
      kind: 'partial',
      results: [
        { kind: 'delivered', receipt: 'DOC-1' },
        { kind: 'rejected', status: 422, reason: 'material unknown' },
        { kind: 'retry', error: 'locked by another user' },
      ],
    },
    100,
  );
  assert.equal(s.db.prepare('SELECT receipt FROM receipts WHERE seq = 1').pluck().get(), 'DOC-1');
  assert.equal(s.admin.listDead().length, 1);
  now = 100;
  const r = s.claim('erp', 10)!;
  assert.deepEqual(r.events.map((e) => e.seq), [3]);
  assert.notEqual(r.batchKey, c.batchKey, 'the re-sent batch holds fewer events, so it has its own key');
});

test('a claim survives a restart: the same batch goes out again under the same key, counted as a redelivery', async (t) => {
  const dir = tempDir(t);
  const s = open(dir);
  await s.append([record(1, 'A'), record(2, 'B')]);
  const c = s.claim('erp', 10)!;
  s.close(); // the agent died mid-delivery (nothing settled)
  const s2 = open(dir);
  t.after(() => s2.close());
  const again = s2.claim('erp', 10)!;
  assert.equal(again.batchKey, c.batchKey);
  assert.deepEqual(again.events.map((e) => e.seq), [1, 2]);
  assert.equal(s2.redeliveries('erp'), 1);
  assert.deepEqual([c.resend, again.resend], [false, true], 'it may have reached the target before the crash, though it was never settled');
});

test('fan-out: each sink has its own delivery state, so one slow sink holds back nobody', async (t) => {
  const routes: Route[] = [
    { sink: 'erp', types: '*', onReject: 'park' },
    { sink: 'qms', types: ['quality.hold'], onReject: 'park' },
  ];
  const s = open(tempDir(t), { routes });
  t.after(() => s.close());
  await s.append([record(1, 'A', { type: 'quality.hold' }), record(2, 'B')]);
  const q = s.claim('qms', 10)!;
  assert.deepEqual(q.events.map((e) => e.seq), [1], 'qms receives only quality holds');
  // qms never answers; erp goes on.
  const e1 = s.claim('erp', 10)!;
  assert.deepEqual(e1.events.map((e) => e.seq), [1, 2]);
  s.settle(e1, { kind: 'delivered' });
  assert.equal(s.stats('erp').pending, 0);
  assert.equal(s.stats('qms').inFlightBatches, 1);
});

test('at the byte cap telemetry drops oldest first and business appends get back-pressure', async (t) => {
  const notices: SpoolNotice[] = [];
  const s = open(tempDir(t), { capBytes: 1_048_576, warnRatio: 0.5, onNotice: (n) => notices.push(n) });
  t.after(() => s.close());
  const big = 'y'.repeat(2000);
  let i = 0;
  // Until the cap makes room by dropping (bounded: part of the cap is the WAL's reserve, so pages never reach it).
  for (let n = 0; n < 500 && s.counter('telemetry_dropped') === 0; n++) {
    const batch = Array.from({ length: 50 }, () => record(++i, `T${i % 3}`, { priority: 'telemetry', type: 'telemetry', body: big }));
    await s.append(batch);
  }
  assert.ok(notices.some((n) => n.kind === 'capacity-warning'), 'warned before the cap');
  assert.ok(s.counter('telemetry_dropped') > 0, 'oldest telemetry dropped to make room');
  assert.equal(s.db.prepare('SELECT min(seq) FROM events').pluck().get() !== 1, true, 'the oldest went first');
  assert.ok((s.db.prepare('SELECT count(*) FROM events').pluck().get() as number) < i, 'fewer kept than appended');

  // Fill with business events only: they are never dropped, so appends are refused instead.
  const notices2: SpoolNotice[] = [];
  const s2 = open(tempDir(t), { capBytes: 1_048_576, onNotice: (n) => notices2.push(n) });
  t.after(() => s2.close());
  let j = 0;
  let refused: unknown;
  while (!refused) {
    try {
      await s2.append(Array.from({ length: 50 }, () => record(++j, `B${j % 3}`, { body: big })));
    } catch (err) {
      refused = err;
    }
  }
  assert.ok(refused instanceof SpoolFullError);
  const stored = s2.db.prepare('SELECT count(*) FROM events').pluck().get() as number;
  assert.equal(stored, j - 50, 'every business event accepted before the cap is still there');
  await assert.rejects(s2.append([record(++j, 'B0')]), SpoolFullError);
  assert.equal(notices2.filter((n) => n.kind === 'backpressure').length, 1, 'reported once, not per refused append');
}
);

test('retention deletes delivered events past their age and keeps everything still owed', async (t) => {
  let now = 0;
  const s = open(tempDir(t), { now: () => now, retentionMs: 1000 });
  t.after(() => s.close());
  await s.append([record(1, 'A'), record(2, 'B'), record(3, 'C')]);
  const c = s.claim('erp', 1)!;
  s.settle(c, { kind: 'delivered', receipts: ['D1'] });
  const d = s.claim('erp', 1)!;
  s.settle(d, { kind: 'rejected', reason: 'bad' });
  now = 5000;
  assert.equal(s.maintenance.prune(), 1);
  const left = s.db.prepare('SELECT seq FROM events ORDER BY seq').pluck().all();
  assert.deepEqual(left, [2, 3], 'the dead letter and the pending event stay');
  assert.equal(s.db.prepare('SELECT count(*) FROM receipts').pluck().get(), 0);
});

test('replay re-sends delivered events of a time range under their idempotency keys, with an audit row', async (t) => {
  const s = open(tempDir(t));
  t.after(() => s.close());
  await s.append([record(1, 'A'), record(2, 'B')]);
  s.settle(s.claim('erp', 10)!, { kind: 'delivered' });
  const n = s.admin.requeueDelivered('erp', 1_700_000_000_000, 1_700_000_000_002, undefined, 'ops', 'ERP restored from backup');
  assert.equal(n, 1);
  assert.deepEqual(s.claim('erp', 10)!.events.map((e) => e.idempotencyKey), [record(1).idempotencyKey]);
  assert.equal(s.admin.auditLog()[0]!.action, 'replay');
});

test('rejected records keep a bounded payload copy and leave only with a reason', async (t) => {
  const s = open(tempDir(t));
  t.after(() => s.close());
  const [id] = s.admin.addRejected([{ source: 'mqtt-1', address: 'plants/1/x', reason: 'malformed JSON at 3', payload: Buffer.alloc(200_000, 65) }]);
  const [r] = s.admin.listRejected({ errorContains: 'MALFORMED' });
  assert.equal(r!.id, id);
  assert.equal(r!.truncated, true);
  assert.equal(r!.payload.length, 64 * 1024);
  assert.throws(() => s.admin.removeRejected([id!], 'tech', ' ', 'rejected.drop'), /reason/);
  assert.equal(s.admin.removeRejected([id!], 'tech', 'test message', 'rejected.drop'), 1);
  assert.equal(s.admin.listRejected().length, 0);
});

test('a source\'s state is committed with its events: read back after a reopen, and not written when the append is refused', async (t) => {
  const dir = tempDir(t);
  const s = open(dir, { capBytes: 1 }); // full at once: business appends are refused
  await assert.rejects(s.append([record(1)], { state: [{ source: 'press', key: 'counter/parts', value: '{"v":10}' }] }), SpoolFullError);
  assert.equal(s.sourceState('press').size, 0, 'refused with its events');
  s.close();
  const s2 = open(dir);
  await s2.append([record(1)], { state: [{ source: 'press', key: 'counter/parts', value: '{"v":10}' }] });
  await s2.append([], { state: [{ source: 'press', key: 'counter/parts', value: '{"v":12}' }, { source: 'other', key: 'x', value: '1' }] });
  s2.close();
  const s3 = open(dir);
  t.after(() => s3.close());
  assert.deepEqual([...s3.sourceState('press')], [['counter/parts', '{"v":12}']]);
  assert.deepEqual([...s3.sourceState('other')], [['x', '1']]);
});
