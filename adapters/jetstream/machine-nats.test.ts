// Interop with the machine's own nats-server (NATS_URL, default nats://127.0.0.1:4222; .ci/run starts it when it is
// not running): a gateway and a relay through it, with a stream, subjects and leases of this run's own, removed at
// the end. Skipped when no server answers there (the private-server tests cover the behaviour; this covers the
// server as installed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { ConfigInput } from '../../agent/config.ts';
import { sleep, tempDir, until } from '../../test/helpers.ts';
import { createFleetStream } from './sim/nats-server.ts';
import { confirmation, gatewayConfig, ORDERS, startAgent } from './sim/test-kit.ts';

const URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

async function reachable(): Promise<NatsConnection | undefined> {
  try {
    return await connect({ servers: URL, timeout: 1000, reconnect: false });
  } catch {
    return undefined;
  }
}

test(`gateway -> the machine's nats-server (${URL}) -> relay: every event relayed and delivered once`, async (t) => {
  const nc = await reachable();
  if (!nc) return t.skip(`no nats-server at ${URL}`);
  const run = `t${process.pid}x${Date.now().toString(36)}`;
  const stream = `PLANTSYNC_${run}`;
  const leases = `LEASES_${run}`;
  const jsm = await jetstreamManager(nc);
  t.after(async () => {
    await jsm.streams.delete(stream).catch(() => {});
    await jsm.streams.delete(leases).catch(() => {});
    await nc.close();
  });
  await createFleetStream(URL, stream, { subjects: [`${run}.>`] });
  const dir = tempDir(t);
  const gateway = await startAgent(t, gatewayConfig(join(dir, 'gw'), URL, { stream, subject: `${run}.{{plant}}.{{line}}.{{type}}.{{partition}}` }));
  const relay = await startAgent(t, {
    agent: { id: `relay-${run}`, plant: 'central', stateDir: join(dir, 'relay') },
    admin: { enabled: false },
    sources: { backbone: { type: 'jetstream', servers: [URL], stream, filter: `${run}.*.*.*.{{partition}}`, leaseStream: leases, consumerPrefix: run } },
    sinks: { erp: { type: 'memory' } },
    routes: [{ sink: 'erp', types: '*' }],
    mappings: [],
  } as ConfigInput);
  const PER_ORDER = 20;
  await gateway.ingest(Array.from({ length: PER_ORDER }, (_, i) => ORDERS.map((o) => confirmation(i + 1, o))).flat());
  const relayed = () => relay.sinkStatus('erp').delivered;
  await until(() => relayed() >= ORDERS.length * PER_ORDER, () => `relayed ${relayed()} of ${ORDERS.length * PER_ORDER}`, 30_000);
  await sleep(300);
  assert.equal(relayed(), ORDERS.length * PER_ORDER, 'each once');
  assert.equal(await relay.metrics.value('plantsync_relay_events_total', { source: 'backbone', plant: '1000' }), ORDERS.length * PER_ORDER);
});
