// The MQTT source against a real broker: acknowledgement after commit, bad input, topic changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { Agent } from '../../agent/agent.ts';
import type { ConfigInput } from '../../agent/config.ts';
import { tempDir, until } from '../../test/helpers.ts';
import { startBroker, uniquePrefix, type TestBroker } from './sim/test-broker.ts';
import { config } from './sim/test-kit.ts';
import { spoolOf } from '../../agent/inspect.ts';

async function startAgent(t: import('node:test').TestContext, cfg: ConfigInput): Promise<Agent> {
  const agent = new Agent({ config: cfg, configVersion: 'mqtt-test', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(1000));
  await until(() => agent.sources.get('hall2')!.status().connected, 'source connected');
  return agent;
}

async function publisher(t: import('node:test').TestContext, broker: TestBroker) {
  const p = await connectAsync(broker.url, { protocolVersion: broker.protocolVersion });
  t.after(() => p.endAsync());
  return p;
}

const count = (agent: Agent) => spoolOf(agent).db.prepare('SELECT count(*) FROM events').pluck().get() as number;

test('QoS 1 messages become events, and each is acknowledged only after its event is committed', async (t) => {
  const broker = await startBroker(t);
  const prefix = uniquePrefix();
  const agent = await startAgent(t, config(tempDir(t), broker, prefix));
  let ackedBeforeCommit = 0;
  let acks = 0;
  broker.aedes?.on('ack', (packet) => {
    if (!packet || !('payload' in packet) || !packet.payload) return;
    acks++;
    const seq = JSON.parse(packet.payload.toString()).seq;
    const stored = spoolOf(agent).db.prepare('SELECT count(*) FROM events WHERE idem = ?').pluck().get(`1000/hall2/PRESS-01/${seq}`);
    if (!stored) ackedBeforeCommit++;
  });
  await new Promise((r) => setTimeout(r, 200)); // subscription in place
  const p = await publisher(t, broker);
  const n = 2000;
  // In rounds of 200, so a broker's queue limit for a session (Mosquitto: max_queued_messages 1000) is never hit.
  for (let from = 0; from < n; from += 200) {
    await Promise.all(Array.from({ length: 200 }, (_, k) => p.publishAsync(`${prefix}/machines/PRESS-01/count`, JSON.stringify({ seq: from + k, order: `PO${k % 5}`, good: 4 }), { qos: 1 })));
    await until(() => count(agent) >= from, 'the agent keeps up');
  }
  await until(() => count(agent) === n, () => `${n} events spooled (have ${count(agent)})`, 30_000);
  if (broker.aedes) {
    await until(() => acks === n, 'all acknowledged', 10_000);
    assert.equal(ackedBeforeCommit, 0, 'no acknowledgement before the commit');
  }
  const erp = (agent.sinks.get('erp') as unknown as { receiver: { counters: { accepted: number; outOfOrder: number } } }).receiver;
  await until(() => erp.counters.accepted === n, 'delivered', 30_000);
  assert.equal(erp.counters.outOfOrder, 0);
});

test('malformed, oversized and unmappable messages become rejected records, are acknowledged, and do not stop the source', async (t) => {
  const broker = await startBroker(t);
  const prefix = uniquePrefix();
  const agent = await startAgent(t, config(tempDir(t), broker, prefix, [`${prefix}/#`], { maxPayloadBytes: 1000 }));
  await new Promise((r) => setTimeout(r, 200));
  const p = await publisher(t, broker);
  await p.publishAsync(`${prefix}/machines/PRESS-01/count`, '{"seq": 1, "order": ', { qos: 1 });
  await p.publishAsync(`${prefix}/machines/PRESS-01/count`, JSON.stringify({ seq: 2, pad: 'x'.repeat(5000) }), { qos: 1 });
  await p.publishAsync(`${prefix}/alarms`, JSON.stringify({ seq: 3 }), { qos: 1 });
  await p.publishAsync(`${prefix}/machines/PRESS-01/count`, JSON.stringify({ seq: 4, order: 'PO1', good: 4 }), { qos: 1 });
  await until(() => count(agent) === 1 && spoolOf(agent).admin.listRejected().length === 3, 'one event and three rejected records');
  const reasons = spoolOf(agent).admin.listRejected().map((r) => r.reason);
  assert.match(reasons[0]!, /^malformed JSON: /);
  assert.match(reasons[1]!, /^payload of 5\d\d\d bytes exceeds maxPayloadBytes 1000$/);
  assert.match(reasons[2]!, /^no mapping rule matches source 'hall2' address '.*\/alarms'$/);
  assert.equal(spoolOf(agent).admin.listRejected()[0]!.payload.toString(), '{"seq": 1, "order": ');
  assert.equal(agent.sources.get('hall2')!.status().rejected, 2);
});

/** A first run whose persistent session subscribes to machine A's topics; the caller stops it. */
async function subscribedToA(dir: string, broker: TestBroker, prefix: string): Promise<Agent> {
  const first = new Agent({ config: config(dir, broker, prefix, [`${prefix}/machines/A/+`]), configVersion: 'v1', log: pino({ level: 'silent' }) });
  await first.start();
  await until(() => first.sources.get('hall2')!.status().connected, 'connected');
  await new Promise((r) => setTimeout(r, 200));
  return first;
}

test('a changed topic list is applied across a restart with a persistent session: old topics unsubscribed, new ones subscribed', async (t) => {
  const broker = await startBroker(t);
  const prefix = uniquePrefix();
  const dir = tempDir(t);
  await (await subscribedToA(dir, broker, prefix)).stop(500);
  const second = await startAgent(t, config(dir, broker, prefix, [`${prefix}/machines/B/+`]));
  await new Promise((r) => setTimeout(r, 300));
  const p = await publisher(t, broker);
  await p.publishAsync(`${prefix}/machines/A/count`, JSON.stringify({ seq: 1, order: 'PO1', good: 1 }), { qos: 1 });
  await p.publishAsync(`${prefix}/machines/B/count`, JSON.stringify({ seq: 2, order: 'PO1', good: 1 }), { qos: 1 });
  await until(() => count(second) >= 1, 'B arrived');
  await new Promise((r) => setTimeout(r, 300));
  const keys = spoolOf(second).db.prepare('SELECT idem FROM events').pluck().all();
  assert.deepEqual(keys, ['1000/hall2/B/2'], 'the old topic A no longer delivers');
  assert.equal(spoolOf(second).sourceState('hall2').get('subscriptions'), JSON.stringify([`${prefix}/machines/B/+`]), 'kept in the spool, like the OPC UA node states');
});

test('an older plantsync\'s subscription file is read once: its topics are unsubscribed, then the spool keeps the list and the file goes', async (t) => {
  const { existsSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const broker = await startBroker(t);
  const prefix = uniquePrefix();
  const dir = tempDir(t);
  const first = await subscribedToA(dir, broker, prefix);
  spoolOf(first).db.prepare('DELETE FROM source_state WHERE source = ?').run('hall2'); // as an older plantsync left it
  await first.stop(500);
  const legacy = join(dir, 'mqtt-hall2-subscriptions.json');
  writeFileSync(legacy, JSON.stringify([`${prefix}/machines/A/+`]));
  const second = await startAgent(t, config(dir, broker, prefix, [`${prefix}/machines/B/+`]));
  // The file goes right after the commit that stores the list: wait for both (a timeout fails the test).
  await until(() => spoolOf(second).sourceState('hall2').get('subscriptions') !== undefined && !existsSync(legacy), 'the list is in the spool and the old file is gone');
  const p = await publisher(t, broker);
  await p.publishAsync(`${prefix}/machines/A/count`, JSON.stringify({ seq: 1, order: 'PO1', good: 1 }), { qos: 1 });
  await p.publishAsync(`${prefix}/machines/B/count`, JSON.stringify({ seq: 2, order: 'PO1', good: 1 }), { qos: 1 });
  await until(() => count(second) >= 1, 'B arrived');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(spoolOf(second).db.prepare('SELECT idem FROM events').pluck().all(), ['1000/hall2/B/2']);
});

test('the sample config in the README is a valid mqtt source', async () => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { parseConfig } = await import('../../agent/config.ts');
  const md = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
  const hall = JSON.parse(/```json\n([\s\S]*?)```/.exec(md)![1]!);
  const cfg = { agent: { id: 'gw', plant: '1000', stateDir: '/tmp/x' }, sources: { hall }, sinks: { erp: { type: 'memory' } }, routes: [{ sink: 'erp', types: '*' }] };
  assert.doesNotThrow(() => parseConfig(JSON.stringify(cfg), 'adapters/mqtt/README.md'));
  assert.throws(() => parseConfig(JSON.stringify({ ...cfg, sources: { hall: { ...hall, qos: 1 } } }), 'x'), /\/sources\/hall\/qos: unknown field/);
});

test('Sparkplug B: DDATA metrics named through their DBIRTH aliases become events', async (t) => {
  const { default: sparkplug } = await import('sparkplug-payload');
  const codec = sparkplug.get('spBv1.0')!;
  const broker = await startBroker(t);
  const group = `PT${Math.random().toString(36).slice(2, 8)}`;
  // A client id of its own (from a unique prefix): a persistent session left on a shared broker by an earlier run
  // must not hand this one its subscriptions or queued messages.
  const cfg = config(tempDir(t), broker, uniquePrefix(), [`spBv1.0/${group}/#`], { decode: 'sparkplug' });
  cfg.mappings = [
    { name: 'births', topic: `spBv1.0/${group}/+/#`, when: [{ path: 'payload.messageType', in: ['NBIRTH', 'DBIRTH', 'NDEATH', 'DDEATH'] }], emit: [] },
    {
      name: 'good-parts',
      topic: `spBv1.0/${group}/DDATA/{edge}/{device}`,
      when: [{ path: "payload.metrics['Counter/Good']", exists: true }],
      emit: [
        {
          type: 'production.confirmation',
          key: '{{payload.edgeNode}}/{{payload.device}}/{{payload.timestamp}}/{{payload.seq}}',
          orderingKey: '{{payload.metrics.Order}}/0010',
          occurredAt: 'payload.timestamp',
          payload: { order: '{{payload.metrics.Order}}', operation: '0010', workCenter: '{{topic.device}}', yield: "{{payload.metrics['Counter/Good']}}", scrap: 0, unit: 'PC', final: false },
        },
      ],
    },
  ];
  const agent = await startAgent(t, cfg);
  await new Promise((r) => setTimeout(r, 200));
  const p = await publisher(t, broker);
  const enc = (x: Parameters<typeof codec.encodePayload>[0]) => Buffer.from(codec.encodePayload(x));
  await p.publishAsync(`spBv1.0/${group}/DBIRTH/edge-1/PRESS-01`, enc({ timestamp: Date.now(), seq: 0, metrics: [{ name: 'Counter/Good', alias: 7, type: 'UInt32', value: 0 }, { name: 'Order', alias: 8, type: 'String', value: 'PO1' }] }), { qos: 1 });
  await p.publishAsync(`spBv1.0/${group}/DDATA/edge-1/PRESS-01`, enc({ timestamp: 1795760044250, seq: 1, metrics: [{ alias: 7, type: 'UInt32', value: 12 }, { alias: 8, type: 'String', value: 'PO1' }] }), { qos: 1 });
  await until(() => count(agent) === 1, 'one confirmation');
  const body = JSON.parse(spoolOf(agent).db.prepare('SELECT body FROM events').pluck().get() as string);
  assert.equal(body.idempotencyKey, '1000/hall2/edge-1/PRESS-01/1795760044250/1');
  assert.equal(body.payload.yield, 12);
  assert.equal(body.occurredAt, new Date(1795760044250).toISOString());
  assert.equal(spoolOf(agent).admin.listRejected().length, 0, 'the DBIRTH is consumed by a rule without events');
});

test('rejected messages are replayed through a fixed mapping: events committed, records removed, audited', async (t) => {
  const broker = await startBroker(t);
  const prefix = uniquePrefix();
  const dir = tempDir(t);
  const cfg = config(dir, broker, prefix, [`${prefix}/#`]);
  const first = new Agent({ config: cfg, configVersion: 'v1', log: pino({ level: 'silent' }) });
  await first.start();
  await until(() => first.sources.get('hall2')!.status().connected, 'connected');
  await new Promise((r) => setTimeout(r, 200));
  const p = await publisher(t, broker);
  await p.publishAsync(`${prefix}/lines/L1/scrap`, JSON.stringify({ id: 'sc-1', qty: 2, reason: 'SC-BURR' }), { qos: 1 });
  await until(() => spoolOf(first).admin.listRejected().length === 1, 'rejected: no rule yet');
  await first.stop(500);

  const fixed = config(dir, broker, prefix, [`${prefix}/#`]);
  fixed.mappings!.push({ name: 'scrap', topic: `${prefix}/lines/{line}/scrap`, emit: [{ type: 'scrap', key: '{{payload.id}}', orderingKey: '{{topic.line}}/scrap', payload: { quantity: '{{payload.qty}}', unit: 'PC', reasonCode: '{{payload.reason}}' } }] });
  const second = await startAgent(t, fixed);
  const dry = await second.rejected({ action: 'replay', filter: {}, actor: 'tech', reason: 'scrap rule added in plant1000-v13', dryRun: true });
  assert.deepEqual([dry.count, dry.stillRejected], [1, []]);
  assert.equal(spoolOf(second).admin.listRejected().length, 1, 'a dry run changes nothing');
  const r = await second.rejected({ action: 'replay', filter: {}, actor: 'tech', reason: 'scrap rule added in plant1000-v13' });
  assert.deepEqual([r.count, r.stillRejected], [1, []]);
  assert.equal(spoolOf(second).admin.listRejected().length, 0);
  const body = JSON.parse(spoolOf(second).db.prepare('SELECT body FROM events').pluck().get() as string);
  assert.equal(body.idempotencyKey, '1000/hall2/sc-1');
  assert.equal(body.source.adapter, 'mqtt');
  assert.equal(spoolOf(second).admin.auditLog()[0]!.action, 'rejected.replay');
});

test('QoS 2 messages are taken in exactly once and released after the commit', { skip: process.env.MQTT_URL ? false : 'the embedded aedes did not deliver QoS 2 to this subscriber in our runs; runs against Mosquitto in .ci/run' }, async (t) => {
  const broker = await startBroker(t);
  const prefix = uniquePrefix();
  const cfg = config(tempDir(t), broker, prefix);
  (cfg.sources!.hall2 as unknown as { subscriptions: unknown }).subscriptions = [{ topic: `${prefix}/machines/+/count`, qos: 2 }];
  const agent = await startAgent(t, cfg);
  await new Promise((r) => setTimeout(r, 200));
  const p = await publisher(t, broker);
  for (let i = 0; i < 300; i += 10) {
    // Windows of 10: Mosquitto refuses a publisher with too many QoS 2 messages in flight ("Quota exceeded").
    await Promise.all(Array.from({ length: 10 }, (_, k) => p.publishAsync(`${prefix}/machines/PRESS-01/count`, JSON.stringify({ seq: i + k, order: 'PO1', good: 1 }), { qos: 2 })));
  }
  await until(() => count(agent) === 300, () => `300 events (have ${count(agent)})`);
  assert.equal(spoolOf(agent).counter('duplicates'), 0);
});

test('when the spool refuses business events, nothing is acknowledged and nothing is lost', async (t) => {
  const broker = await startBroker(t);
  const prefix = uniquePrefix();
  const agent = await startAgent(t, config(tempDir(t), broker, prefix));
  // Simulate a full spool: appends are refused until we let them through again.
  const spool = spoolOf(agent);
  const append = spool.append.bind(spool);
  let full = true;
  let acks = 0;
  broker.aedes?.on('ack', () => acks++);
  const { SpoolFullError } = await import('../../spool/types.ts');
  spool.append = (records, opts) => (full ? Promise.reject(new SpoolFullError(1, 1)) : append(records, opts));
  await new Promise((r) => setTimeout(r, 200));
  const p = await publisher(t, broker);
  // In rounds, so the messages reach the source as several groups, each refused and retried on its own timer.
  for (let round = 0; round < 5; round++) {
    await Promise.all(Array.from({ length: 10 }, (_, k) => p.publishAsync(`${prefix}/machines/PRESS-01/count`, JSON.stringify({ seq: round * 10 + k, order: 'PO1', good: 1 }), { qos: 1 })));
    await new Promise((r) => setTimeout(r, 150));
  }
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(count(agent), 0);
  assert.equal(acks, 0, 'nothing acknowledged while the spool refuses');
  full = false;
  await until(() => count(agent) === 50, () => `50 events after the spool has room (have ${count(agent)})`, 15_000);
  if (broker.aedes) await until(() => acks === 50, 'all acknowledged once committed');
});

test('a group the spool refused once is not overtaken by the groups behind it', async (t) => {
  const broker = await startBroker(t);
  const prefix = uniquePrefix();
  const agent = await startAgent(t, config(tempDir(t), broker, prefix));
  const spool = spoolOf(agent);
  const append = spool.append.bind(spool);
  const { SpoolFullError } = await import('../../spool/types.ts');
  let refusals = 1; // the first group is refused once (and retried a second later); later ones would be accepted
  spool.append = (records, opts) => (refusals-- > 0 ? Promise.reject(new SpoolFullError(1, 1)) : append(records, opts));
  await new Promise((r) => setTimeout(r, 200));
  const p = await publisher(t, broker);
  for (let round = 0; round < 5; round++) {
    await Promise.all(Array.from({ length: 10 }, (_, k) => p.publishAsync(`${prefix}/machines/PRESS-01/count`, JSON.stringify({ seq: round * 10 + k, order: 'PO1', good: 1 }), { qos: 1 })));
    await new Promise((r) => setTimeout(r, 100));
  }
  await until(() => count(agent) === 50, () => `50 events (have ${count(agent)})`, 15_000);
  const order = (spool.db.prepare('SELECT idem FROM events ORDER BY seq').pluck().all() as string[]).map((k) => Number(k.split('/').pop()));
  assert.deepEqual(order, Array.from({ length: 50 }, (_, i) => i), 'the key\'s events are spooled in publish order');
});

test('username and password from a secret file are presented to the broker', { skip: process.env.MQTT_URL ? 'needs the embedded broker' : false }, async (t) => {
  const { Aedes } = await import('aedes');
  const { createServer } = await import('node:net');
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const aedes = await Aedes.createBroker({
    authenticate: (_client, username, password, done) => done(null, username === 'gw-01' && password?.toString() === 's3cret-42'),
  });
  const server = createServer(aedes.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(async () => {
    await new Promise<void>((r) => aedes.close(() => r()));
    server.close();
  });
  const url = `mqtt://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
  const dir = tempDir(t);
  writeFileSync(join(dir, 'pw'), 's3cret-42\n');
  const broker = { url, protocolVersion: 4 as const, aedes };
  const agent = await startAgent(t, config(dir, broker, uniquePrefix(), undefined, { username: 'gw-01', password: `\${file:${join(dir, 'pw')}}` }));
  assert.equal(agent.sources.get('hall2')!.status().connected, true);
});
