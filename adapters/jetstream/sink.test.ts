// The JetStream sink against a private nats-server: every event once in the stream, with its idempotency key as
// Nats-Msg-Id, to its subject, in per-key order; a re-sent batch beyond the duplicate window is looked up instead of
// stored twice; a missing or unsafe stream is a clear error while events wait in the spool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { jetstream, StorageType } from '@nats-io/jetstream';
import { buildEvent } from '../../agent/events.ts';
import { sleep, tempDir, until } from '../../test/helpers.ts';
import { checkStream } from './connection.ts';
import { createFleetStream, startNats } from './sim/nats-server.ts';
import { confirmation, gatewayConfig, ORDERS, readStream, startAgent, yieldsByKey } from './sim/test-kit.ts';
import { partitionOf } from './subject.ts';

const drained = (s: { pending: number; held: number; inFlightBatches: number; waitingBatches: number }) => s.pending + s.held + s.inFlightBatches + s.waitingBatches === 0;

test('every event once in the stream: Nats-Msg-Id = idempotency key, subject with plant, line, type and partition, per-key order', async (t) => {
  const dir = tempDir(t);
  const nats = await startNats(t, dir);
  await createFleetStream(nats.url);
  const agent = await startAgent(t, gatewayConfig(dir, nats.url, {}, { concurrency: 4, maxEvents: 50 }));
  const PER_ORDER = 40;
  // Interleaved, as a plant's orders run side by side.
  await agent.ingest(Array.from({ length: PER_ORDER }, (_, i) => ORDERS.map((o) => confirmation(i + 1, o))).flat());
  await until(() => drained(agent.sinkStatus('backbone')), () => `delivered (${JSON.stringify(agent.sinkStatus('backbone'))})`, 20_000);

  const stored = await readStream(nats.url);
  assert.equal(stored.length, ORDERS.length * PER_ORDER, 'each event stored once');
  assert.equal(new Set(stored.map((s) => s.msgId)).size, stored.length);
  for (const s of stored) {
    assert.equal(s.msgId, s.event.idempotencyKey, 'Nats-Msg-Id is the idempotency key');
    assert.equal(s.subject, `plantsync.1000.Linie_1.production_confirmation.${partitionOf(s.event.orderingKey, 16)}`);
  }
  const byKey = yieldsByKey(stored.map((s) => ({ orderingKey: s.event.orderingKey, yield: s.event.payload.yield })));
  assert.equal(byKey.size, ORDERS.length);
  for (const [key, yields] of byKey) assert.deepEqual(yields, Array.from({ length: PER_ORDER }, (_, i) => i + 1), `${key} in order`);
  assert.equal(agent.sinkStatus('backbone').delivered, ORDERS.length * PER_ORDER);
});

test('a batch re-sent after the duplicate window: events the stream holds are found and not stored again', async (t) => {
  const dir = tempDir(t);
  const nats = await startNats(t, dir);
  await createFleetStream(nats.url, 'PLANTSYNC', { duplicate_window: 1e9 }); // 1 s, so the test need not wait 2 minutes
  const drafts = [1, 2, 3].map((n) => confirmation(n, 'Auftrag-4711')).concat([1, 2].map((n) => confirmation(n, 'Заказ-1001')));
  const built = drafts.map((d) => {
    const r = buildEvent(d, 'jetstream-test');
    if (!r.ok) throw new Error(r.reason);
    return r.event;
  });
  const subjectOf = (e: (typeof built)[number]) => `plantsync.1000.Linie_1.production_confirmation.${partitionOf(e.orderingKey, 16)}`;
  const heads = [built[0]!, built[3]!]; // the first event of each order: one batch, as the gateway claims them
  // That batch went out before and reached the stream, but its PubAcks were lost (a link cut at that moment).
  const nc = await connect({ servers: nats.url });
  const js = jetstream(nc);
  for (const e of heads) await js.publish(subjectOf(e), JSON.stringify(e), { msgID: e.idempotencyKey });
  await nc.close();
  // Then the backbone was away for longer than the duplicate window while the gateway kept retrying that batch.
  await nats.kill9();
  const agent = await startAgent(t, gatewayConfig(dir, nats.url));
  await agent.ingest(drafts);
  await until(() => agent.sinkStatus('backbone').retried > 0, 'the gateway tried while the backbone was away');
  await sleep(1500);
  await nats.restart();
  await until(() => drained(agent.sinkStatus('backbone')), () => `delivered (${JSON.stringify(agent.sinkStatus('backbone'))})`, 20_000);

  const stored = await readStream(nats.url);
  const byKey = yieldsByKey(stored.map((s) => ({ orderingKey: s.event.orderingKey, yield: s.event.payload.yield })));
  assert.deepEqual(byKey.get('Auftrag-4711/0010'), [1, 2, 3], 'each once, in order');
  assert.deepEqual(byKey.get('Заказ-1001/0010'), [1, 2], 'each once, in order');
  // Without the look-up they would have been stored twice: the stream no longer recognises their Nats-Msg-Id.
  const again = await connect({ servers: nats.url });
  const ack = await jetstream(again).publish(subjectOf(heads[0]!), JSON.stringify(heads[0]), { msgID: heads[0]!.idempotencyKey });
  await again.close();
  assert.equal(ack.duplicate, false, 'the duplicate window had passed');
});

test('no stream yet: the sink says so and keeps the events; once the stream exists they are published', async (t) => {
  const dir = tempDir(t);
  const nats = await startNats(t, dir);
  const agent = await startAgent(t, gatewayConfig(dir, nats.url));
  await agent.ingest(ORDERS.map((o) => confirmation(1, o)));
  await until(() => /stream 'PLANTSYNC' does not exist .*nats stream add PLANTSYNC/.test(agent.sinkStatus('backbone').lastError ?? ''), () => `a clear error (${agent.sinkStatus('backbone').lastError})`);
  assert.equal(agent.sinkStatus('backbone').delivered, 0, 'nothing counts as delivered');
  assert.ok(!drained(agent.sinkStatus('backbone')), 'the events wait in the spool');
  await createFleetStream(nats.url);
  await until(() => drained(agent.sinkStatus('backbone')), () => `published once the stream exists (${JSON.stringify(agent.sinkStatus('backbone'))})`, 20_000);
  assert.equal((await readStream(nats.url)).length, ORDERS.length);
});

test('an unsafe stream is refused with the reason: memory storage, no duplicate window, limits that delete unconsumed events', async (t) => {
  const dir = tempDir(t);
  const nats = await startNats(t, dir);
  const nc = await connect({ servers: nats.url });
  t.after(() => nc.close());
  const subject = 'plantsync.1000.-.production_confirmation.3';
  await createFleetStream(nats.url, 'MEM', { subjects: ['mem.>'], storage: StorageType.Memory });
  await assert.rejects(checkStream(nc, 'MEM', 'mem.x'), /keeps messages in memory/);
  await createFleetStream(nats.url, 'OLD', { subjects: ['old.>'], max_msgs: 1000, discard: 'old' as never });
  await assert.rejects(checkStream(nc, 'OLD', 'old.x'), /discard old: when full it deletes events no relay has consumed/);
  await createFleetStream(nats.url, 'PLANTSYNC');
  await assert.rejects(checkStream(nc, 'PLANTSYNC', 'other.subject'), /does not capture subject 'other.subject'/);
  const { duplicateWindowMs } = await checkStream(nc, 'PLANTSYNC', subject);
  assert.equal(duplicateWindowMs, 120_000);
});
