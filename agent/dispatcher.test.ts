import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pino } from 'pino';
import { Spool } from '../spool/spool.ts';
import type { Route } from '../spool/types.ts';
import { Dispatcher } from './dispatcher.ts';
import { MemorySink } from '../adapters/memory/sink.ts';
import { record, tempDir, until } from '../test/helpers.ts';

const log = pino({ level: 'silent' });
const fast = { baseMs: 5, capMs: 20, maxRetryAfterMs: Infinity };

function setup(t: import('node:test').TestContext, routes: Route[] = [{ sink: 'erp', types: '*', onReject: 'park' }]) {
  const dir = tempDir(t);
  const spool = Spool.open({ path: join(dir, 'spool.db'), routes });
  const dispatchers: Dispatcher[] = [];
  t.after(async () => {
    for (const d of dispatchers) await d.stop(100);
    spool.close();
  });
  const start = (sink: MemorySink, opts: Partial<ConstructorParameters<typeof Dispatcher>[2]> = {}) => {
    const d = new Dispatcher(spool, sink, { concurrency: 4, maxEvents: 25, maxBytes: 1e6, backoff: fast, ...opts }, log);
    dispatchers.push(d);
    d.start();
    return d;
  };
  return { dir, spool, start };
}

test('under injected failures and a parked key every event arrives once, in order per key, while other keys flow', async (t) => {
  const { spool, start } = setup(t);
  const sink = new MemorySink('erp', { type: 'memory' });
  const erp = sink.receiver;
  erp.inject({ kind: 'unavailable' }, 5);
  erp.rejectEvent(record(40, 'K0').idempotencyKey, 'order PO0 closed');
  start(sink);
  const total = 600;
  for (let i = 0; i < total; i += 50) {
    await spool.append(Array.from({ length: 50 }, (_, k) => record(i + k, `K${(i + k) % 8}`)));
  }
  // K0 is parked behind event 40; the other seven keys deliver completely.
  const otherKeys = Array.from({ length: total }, (_, i) => i).filter((i) => i % 8 !== 0).length;
  await until(() => erp.counters.accepted >= otherKeys + 40 / 8, 'other keys delivered');
  assert.equal(erp.counters.outOfOrder, 0);
  assert.equal(erp.counters.duplicates, 0);
  assert.ok(erp.log.filter((e) => e.orderingKey === 'K0').every((e) => e.seq < 41), 'nothing of K0 after the rejected event');
  assert.equal(spool.stats('erp').parkedKeys, 1);
  // The ERP owner fixes the order; the technician replays the dead letter: K0 drains in order.
  erp.rejectEvent(record(40, 'K0').idempotencyKey, '');
  spool.admin.replayDead({ orderingKey: 'K0' }, 'tech', 'PO0 reopened');
  await until(() => erp.counters.accepted === total, 'all delivered');
  assert.equal(erp.counters.outOfOrder, 0);
  assert.equal(erp.counters.duplicates, 0);
});

test('a Retry-After from the sink is waited out before the batch goes again', async (t) => {
  const { spool, start } = setup(t);
  const sink = new MemorySink('erp', { type: 'memory' });
  const times: number[] = [];
  const receive = sink.receiver.receive.bind(sink.receiver);
  sink.receiver.receive = (b, s) => (times.push(Date.now()), receive(b, s));
  sink.receiver.inject({ kind: 'unavailable', retryAfterMs: 400 });
  start(sink);
  await spool.append([record(1)]);
  await until(() => sink.receiver.counters.accepted === 1, 'delivered after the wait');
  assert.equal(times.length, 2);
  assert.ok(times[1]! - times[0]! >= 395, `waited ${times[1]! - times[0]!} ms of the 400 asked`);
});

test('fan-out: a sink that never answers holds back neither the ERP nor its own other batches forever', async (t) => {
  const { spool, start } = setup(t, [
    { sink: 'erp', types: '*', onReject: 'park' },
    { sink: 'qms', types: '*', onReject: 'park' },
  ]);
  const erp = new MemorySink('erp', { type: 'memory' });
  const qms = new MemorySink('qms', { type: 'memory', latencyMs: 60_000 });
  start(erp);
  start(qms, { concurrency: 1 });
  await spool.append(Array.from({ length: 200 }, (_, i) => record(i, `K${i % 5}`)));
  await until(() => erp.receiver.counters.accepted === 200, 'erp has everything');
  assert.equal(spool.stats('qms').inFlightBatches, 1);
  assert.equal(qms.receiver.counters.accepted, 0);
});

test('shutdown waits for in-flight batches up to its deadline; an abandoned batch is re-sent unchanged after restart', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'spool.db');
  const routes: Route[] = [{ sink: 'erp', types: '*', onReject: 'park' }];
  const spool = Spool.open({ path, routes });
  const slow = new MemorySink('erp', { type: 'memory', latencyMs: 30_000 });
  const d = new Dispatcher(spool, slow, { concurrency: 1, maxEvents: 10, maxBytes: 1e6, backoff: fast }, log);
  d.start();
  await spool.append(Array.from({ length: 5 }, (_, i) => record(i, 'A')));
  await until(() => d.stats.inFlight === 1, 'batch out');
  const t0 = Date.now();
  await d.stop(200);
  assert.ok(Date.now() - t0 < 5000, 'the deadline bounds shutdown');
  spool.close();

  const again = Spool.open({ path, routes });
  t.after(() => again.close());
  const sink = new MemorySink('erp', { type: 'memory' });
  const d2 = new Dispatcher(again, sink, { concurrency: 1, maxEvents: 10, maxBytes: 1e6, backoff: fast }, log);
  t.after(() => d2.stop(100));
  d2.start();
  await until(() => sink.receiver.counters.accepted === 5, 're-sent after restart');
  assert.equal(again.redeliveries('erp'), 1);
  assert.equal(sink.receiver.counters.outOfOrder, 0);
});

test('when the sink answers again, batches pushed back by the outage go out at once, not after their backoff', async (t) => {
  const { spool, start } = setup(t);
  const sink = new MemorySink('erp', { type: 'memory' });
  sink.receiver.downFor(150);
  start(sink, { backoff: { baseMs: 60_000, capMs: 60_000, maxRetryAfterMs: Infinity }, random: () => 0.99 });
  await spool.append([record(1, 'A')]);
  await until(() => sink.receiver.counters.faults === 1, 'A failed once');
  assert.ok(spool.nextDueAt('erp')! > Date.now() + 50_000, 'A waits out a long backoff');
  await until(() => !sink.receiver.isDown(), 'ERP back');
  await spool.append([record(2, 'B')]); // B goes out, succeeds: the sink has recovered
  await until(() => sink.receiver.counters.accepted === 2, 'A delivered right after recovery');
});

test('a wait the ERP asked for (Retry-After) is honoured even when other batches succeed', async (t) => {
  const { spool, start } = setup(t);
  const sink = new MemorySink('erp', { type: 'memory' });
  sink.receiver.inject({ kind: 'unavailable', retryAfterMs: 60_000 });
  start(sink);
  await spool.append([record(1, 'A')]);
  await until(() => sink.receiver.counters.faults === 1, 'A told to wait');
  await spool.append([record(2, 'B')]);
  await until(() => sink.receiver.counters.accepted === 1, 'B delivered');
  assert.ok(spool.nextDueAt('erp')! > Date.now() + 55_000, 'A still waits as asked');
});

test('with a linger time, a trickle of new events goes out together in one batch', async (t) => {
  const { spool, start } = setup(t);
  const sink = new MemorySink('erp', { type: 'memory' });
  start(sink, { lingerMs: 300, concurrency: 1 });
  for (let i = 0; i < 3; i++) {
    await spool.append([record(i, `K${i}`)]);
    await new Promise((r) => setTimeout(r, 40));
  }
  await until(() => sink.receiver.counters.accepted === 3, 'delivered');
  assert.equal(sink.receiver.counters.batches, 1);
});

test('the disk fills while batches settle: the dispatcher backs off and says so, and when space is back it goes on without a restart, every key in order, nothing lost', async (t) => {
  const { spool, start } = setup(t);
  const sink = new MemorySink('erp', { type: 'memory' });
  const erp = sink.receiver;
  await spool.append(Array.from({ length: 200 }, (_, i) => record(i, ['Auftrag-Größe', 'Заказ-7', '订单-9', 'PO-4711'][i % 4])));
  // Every settle of a delivered batch deletes its claims row: the disk is full right there.
  spool.db.exec(`CREATE TEMP TRIGGER disk_full BEFORE DELETE ON main.claims BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
  const d = start(sink);
  await until(() => d.stats.spoolError !== undefined, 'the dispatcher reports the failing spool');
  assert.match(d.stats.spoolError!, /settle failed: database or disk is full/);
  const tried = erp.counters.batches;
  await new Promise((r) => setTimeout(r, 150));
  assert.ok(erp.counters.batches - tried <= 6, `it backs off instead of spinning (${erp.counters.batches - tried} batches in 150 ms)`);
  spool.db.exec('DROP TRIGGER disk_full');
  await until(() => erp.counters.accepted === 200 && spool.stats('erp').pending === 0 && spool.stats('erp').waitingBatches === 0, () => `all delivered (accepted ${erp.counters.accepted})`);
  assert.equal(erp.counters.outOfOrder, 0);
  assert.equal(d.stats.spoolError, undefined, 'recovered');
});
