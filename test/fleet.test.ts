// The fleet path end to end, with real parts: gateway agents publish to a private nats-server's stream (JetStream
// sink), central relay agents consume it per partition (JetStream source) and post to an ERP receiver (erp-http
// sink -> erp-sim). Every run ends with every event booked once, in per-key order, also when a gateway, a relay or
// the nats-server is killed with SIGKILL in the middle, and when a relay is added mid-run and takes partitions over.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent } from '../agent/agent.ts';
import type { ConfigInput } from '../agent/config.ts';
import { runAgent } from '../cli/test-kit.ts';
import { simResponse, startSim } from '../adapters/erp-http/sim/test-kit.ts';
import type { ErpSim } from '../adapters/erp-http/sim/erp-sim.ts';
import { createFleetStream, startNats } from '../adapters/jetstream/sim/nats-server.ts';
import { confirmation, gatewayConfig, ORDERS, startAgent } from '../adapters/jetstream/sim/test-kit.ts';
import type { JetStreamSource } from '../adapters/jetstream/source.ts';
import { sleep, tempDir, until } from './helpers.ts';

const PER_ORDER = 50;
const TOTAL = ORDERS.length * PER_ORDER;

function relayConfig(stateDir: string, id: string, natsUrl: string, erpUrl: string, source: Record<string, unknown> = {}): ConfigInput {
  return {
    agent: { id, plant: 'central', stateDir },
    admin: { enabled: false },
    sources: { backbone: { type: 'jetstream', servers: [natsUrl], stream: 'PLANTSYNC', maxBatch: 20, ackWaitSec: 5, ...source } },
    sinks: { erp: { type: 'erp-http', url: `${erpUrl}/batch`, response: simResponse, delivery: { maxEvents: 10, concurrency: 2, backoff: { baseMs: 20, capMs: 300 } } } },
    routes: [{ sink: 'erp', types: '*' }],
    mappings: [],
  } as ConfigInput;
}

const interleaved = () => Array.from({ length: PER_ORDER }, (_, i) => ORDERS.map((o) => confirmation(i + 1, o))).flat();

/** Booked once each, and per ordering key in the order the gateway took them in (yields 1..n). */
function assertBookedOnceInOrder(sim: ErpSim): void {
  const keys = sim.booked.map((b) => b.idempotencyKey);
  assert.equal(new Set(keys).size, keys.length, 'nothing booked twice');
  assert.equal(keys.length, TOTAL, 'every event booked');
  const byKey = new Map<string, number[]>();
  for (const b of sim.booked) byKey.set(b.orderingKey, [...(byKey.get(b.orderingKey) ?? []), Number(b.idempotencyKey.split('/seq-')[1])]);
  for (const [key, ns] of byKey) assert.deepEqual(ns, Array.from({ length: PER_ORDER }, (_, i) => i + 1), `${key} booked in order`);
}

async function fleet(t: TestContext) {
  const dir = tempDir(t);
  const nats = await startNats(t, dir);
  await createFleetStream(nats.url);
  const sim = await startSim(t);
  return { dir, nats, sim };
}

const file = (dir: string, name: string, config: ConfigInput) => {
  const f = join(dir, name);
  writeFileSync(f, JSON.stringify(config));
  return f;
};

test('gateway -> JetStream -> relay -> ERP: every event booked once, in per-key order', async (t) => {
  const { dir, nats, sim } = await fleet(t);
  const gateway = await startAgent(t, gatewayConfig(join(dir, 'gw'), nats.url, {}, { concurrency: 4, maxEvents: 50 }));
  const relay = await startAgent(t, relayConfig(join(dir, 'relay'), 'relay-a', nats.url, sim.url));
  await gateway.ingest(interleaved());
  await until(() => sim.booked.length >= TOTAL, () => `booked ${sim.booked.length} of ${TOTAL}`, 30_000);
  await sleep(300);
  assertBookedOnceInOrder(sim);
  const m = await relay.metrics.value('plantsync_relay_events_total', { source: 'backbone', plant: '1000' });
  assert.equal(m, TOTAL, 'per-plant relay count');
});

test('kill -9 of the relay mid-run: after its restart every event is booked once, in order', async (t) => {
  const { dir, nats, sim } = await fleet(t);
  const gateway = await startAgent(t, gatewayConfig(join(dir, 'gw'), nats.url));
  await gateway.ingest(interleaved());
  sim.setFault({ mode: 'slow', latencyMs: 40 }); // a slow ERP: the relay holds committed, unposted events when killed
  const relayFile = file(dir, 'relay.json', relayConfig(join(dir, 'relay'), 'relay-a', nats.url, sim.url));
  const child = runAgent(t, relayFile);
  await until(() => sim.booked.length >= 40, () => `the relay posts (${sim.booked.length}; ${child.log().slice(-400)})`, 30_000);
  child.proc.kill('SIGKILL');
  await new Promise((r) => child.proc.once('exit', r));
  assert.ok(sim.booked.length < TOTAL, 'killed in the middle');
  sim.setFault(undefined);
  await startAgent(t, relayConfig(join(dir, 'relay'), 'relay-a', nats.url, sim.url));
  await until(() => sim.booked.length >= TOTAL, () => `booked ${sim.booked.length} of ${TOTAL}`, 30_000);
  await sleep(300);
  assertBookedOnceInOrder(sim);
});

test('kill -9 of the gateway mid-run: after its restart every event is booked once, in order', async (t) => {
  const { dir, nats, sim } = await fleet(t);
  const gwDir = join(dir, 'gw');
  // The backlog is spooled first, by the gateway while the backbone is unreachable.
  const offline = await startAgent(t, gatewayConfig(gwDir, 'nats://127.0.0.1:1'));
  await offline.ingest(interleaved());
  await offline.stop(500);
  await startAgent(t, relayConfig(join(dir, 'relay'), 'relay-a', nats.url, sim.url));
  const gwFile = file(dir, 'gw.json', gatewayConfig(gwDir, nats.url, {}, { maxEvents: 5 }));
  const child = runAgent(t, gwFile);
  await until(() => sim.booked.length >= 20, () => `events flow (${sim.booked.length}; ${child.log().slice(-400)})`, 30_000);
  child.proc.kill('SIGKILL');
  await new Promise((r) => child.proc.once('exit', r));
  assert.ok(sim.booked.length < TOTAL, 'killed in the middle');
  await startAgent(t, gatewayConfig(gwDir, nats.url));
  await until(() => sim.booked.length >= TOTAL, () => `booked ${sim.booked.length} of ${TOTAL}`, 30_000);
  await sleep(300);
  assertBookedOnceInOrder(sim);
});

test('kill -9 of nats-server mid-run: gateway and relay carry on after its restart; every event booked once, in order', async (t) => {
  const { dir, nats, sim } = await fleet(t);
  const gateway = await startAgent(t, gatewayConfig(join(dir, 'gw'), nats.url, {}, { maxEvents: 5 }));
  await startAgent(t, relayConfig(join(dir, 'relay'), 'relay-a', nats.url, sim.url));
  await gateway.ingest(interleaved());
  await until(() => sim.booked.length >= 20, () => `events flow (${sim.booked.length})`, 30_000);
  await nats.kill9();
  await sleep(1500);
  await nats.restart();
  await until(() => sim.booked.length >= TOTAL, () => `booked ${sim.booked.length} of ${TOTAL}`, 60_000);
  await sleep(300);
  assertBookedOnceInOrder(sim);
});

test('a relay added mid-run takes partitions over only after the first relay delivered what it took from them', async (t) => {
  const { dir, nats, sim } = await fleet(t);
  const gateway = await startAgent(t, gatewayConfig(join(dir, 'gw'), nats.url, {}, { maxEvents: 5 }));
  // A slow ERP: relay A still holds a backlog of every partition when it gives half of them away, and posts it
  // while relay B could already post the same keys' later events (it must not: B waits for the hand-over).
  sim.setFault({ mode: 'slow', latencyMs: 200 });
  let relayA: Agent = await startAgent(t, relayConfig(join(dir, 'relay-a'), 'relay-a', nats.url, sim.url));
  const all = interleaved();
  await gateway.ingest(all.slice(0, all.length / 2));
  await until(() => sim.booked.length >= 30, () => `relay A posts (${sim.booked.length})`, 30_000);
  // The central team adds relay B and moves partitions 8-15 to it: A runs on with 0-7, B is started with 8-15.
  await relayA.stop(1000);
  relayA = await startAgent(t, relayConfig(join(dir, 'relay-a'), 'relay-a', nats.url, sim.url, { take: [0, 1, 2, 3, 4, 5, 6, 7] }));
  const relayB = await startAgent(t, relayConfig(join(dir, 'relay-b'), 'relay-b', nats.url, sim.url, { take: [8, 9, 10, 11, 12, 13, 14, 15] }));
  const partitionsOfB = () => (relayB.sources.get('backbone') as unknown as JetStreamSource).partitions();
  await until(() => partitionsOfB().some((p) => p.state === 'waiting for relay-a (draining)'), () => `B waits while A drains (${JSON.stringify(partitionsOfB())})`);
  await gateway.ingest(all.slice(all.length / 2));
  await until(() => sim.booked.length >= TOTAL, () => `booked ${sim.booked.length} of ${TOTAL}`, 60_000);
  await sleep(300);
  assertBookedOnceInOrder(sim);
  assert.equal(partitionsOfB().filter((p) => p.state === 'consuming').length, 8, `B consumes its partitions (${JSON.stringify(partitionsOfB())})`);
  assert.ok((await relayB.metrics.value('plantsync_relay_events_total', { source: 'backbone', plant: '1000' })) > 0, 'relay B relayed events of its partitions');
});
