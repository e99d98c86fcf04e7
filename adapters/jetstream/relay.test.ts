// The relay side alone: what a relay commits is the gateway's event as it was built (identity, plant, times, 64-bit
// counters exact); a message on the stream that is not a canonical event is that message's rejected record, and the
// partition flows on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import type { ConfigInput } from '../../agent/config.ts';
import { buildEvent, toRecord } from '../../agent/events.ts';
import { spoolOf } from '../../agent/inspect.ts';
import { tempDir, until } from '../../test/helpers.ts';
import { createFleetStream, startNats } from './sim/nats-server.ts';
import { confirmation, startAgent } from './sim/test-kit.ts';
import { partitionOf } from './subject.ts';

/** A relay consuming the fleet stream into a memory sink. */
function relayIntoMemory(id: string, stateDir: string, url: string): ConfigInput {
  return {
    agent: { id, plant: 'central', stateDir },
    admin: { enabled: false },
    sources: { backbone: { type: 'jetstream', servers: [url], stream: 'PLANTSYNC' } },
    sinks: { erp: { type: 'memory' } },
    routes: [{ sink: 'erp', types: '*' }],
    mappings: [],
  } as ConfigInput;
}

test('a relay commits the gateway\'s events as they are, and a message that is not one becomes a rejected record', async (t) => {
  const dir = tempDir(t);
  const nats = await startNats(t, dir);
  await createFleetStream(nats.url);
  const counter = `${2n ** 63n - 5n}`; // a 64-bit machine counter: exact digits, beyond what a double holds
  const good = [1, 2, 3].map((n) => {
    const d = confirmation(n, 'Заказ-1001');
    const r = buildEvent({ ...d, key: `Заказ-1001/${counter}/${n}`, payload: { ...d.payload, counter: BigInt(counter) } }, 'gw-config-7');
    if (!r.ok) throw new Error(r.reason);
    return r.event;
  });
  const body = (e: (typeof good)[number]) => toRecord(e).body; // as the gateway's spool holds it: exact digits
  const subject = `plantsync.1000.Linie_1.production_confirmation.${partitionOf(good[0]!.orderingKey, 16)}`;
  const nc = await connect({ servers: nats.url });
  const js = jetstream(nc);
  await js.publish(subject, body(good[0]!), { msgID: good[0]!.idempotencyKey });
  await js.publish(subject, '{"this is": not json', { msgID: 'junk-1' });
  await js.publish(subject, body({ ...good[1]!, type: 'no.such.type' as never }), { msgID: 'junk-2' });
  for (const e of good.slice(1)) await js.publish(subject, body(e), { msgID: e.idempotencyKey });
  await nc.close();

  const relay = await startAgent(t, relayIntoMemory('relay-a', dir, nats.url));
  await until(() => relay.sinkStatus('erp').delivered === 3, () => `the three events relayed (${JSON.stringify(relay.sinkStatus('erp'))})`);
  const db = spoolOf(relay).db;
  const rows = db.prepare('SELECT idem, body FROM events ORDER BY seq').all() as { idem: string; body: string }[];
  assert.deepEqual(rows.map((r) => r.idem), good.map((e) => e.idempotencyKey), 'their own idempotency keys, in stream order');
  const first = JSON.parse(rows[0]!.body) as { plant: string; mappingVersion: string; occurredAt: string; receivedAt: string };
  assert.deepEqual([first.plant, first.mappingVersion, first.occurredAt, first.receivedAt], [good[0]!.plant, 'gw-config-7', good[0]!.occurredAt, good[0]!.receivedAt], 'plant, mapping version and times as the gateway made them');
  assert.match(rows[1]!.body, new RegExp(`"counter":${counter}[,}]`), 'a 64-bit counter keeps its exact digits');
  const rejected = db.prepare('SELECT address, reason FROM rejected ORDER BY id').all() as { address: string; reason: string }[];
  assert.equal(rejected.length, 2);
  assert.ok(rejected.every((r) => r.address === subject));
  assert.match(rejected[0]!.reason, /not JSON/);
  assert.match(rejected[1]!.reason, /not a canonical event: .*type/);
});

test('a relay started before the stream exists says so and starts consuming once it is created (no restart needed)', async (t) => {
  const dir = tempDir(t);
  const nats = await startNats(t, dir);
  const relay = await startAgent(t, relayIntoMemory('relay-early', dir, nats.url));
  const status = () => relay.sources.get('backbone')!.status();
  await until(() => /stream 'PLANTSYNC' does not exist/.test(status().lastError ?? ''), () => `the reason is in status (${JSON.stringify(status())})`);
  await createFleetStream(nats.url);
  const r = buildEvent(confirmation(1, 'Auftrag-4711'), 'gw');
  if (!r.ok) throw new Error(r.reason);
  const nc = await connect({ servers: nats.url });
  await jetstream(nc).publish(`plantsync.1000.Linie_1.production_confirmation.${partitionOf(r.event.orderingKey, 16)}`, toRecord(r.event).body, { msgID: r.event.idempotencyKey });
  await nc.close();
  await until(() => relay.sinkStatus('erp').delivered === 1, () => `relayed once the stream exists (${JSON.stringify(status())})`, 20_000);
  assert.equal(status().lastError, undefined);
});
