// Per-key order against a receiver that books a request's items independently (erp-sim's batch endpoint, like
// SAP's $batch changesets): a key's later events never overtake a rejected one, not in one request, not on a
// replay that fails again, not after a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Agent } from '../../agent/agent.ts';
import type { ConfigInput } from '../../agent/config.ts';
import { buildEvent } from '../../agent/events.ts';
import { sleep, tempDir, until } from '../../test/helpers.ts';
import { confirmation, simResponse, startSim } from './sim/test-kit.ts';
import { spoolOf } from '../../agent/inspect.ts';

const K = 'Заказ-4711';

function config(stateDir: string, url: string): ConfigInput {
  return {
    agent: { id: 'gw-order', plant: '1000', stateDir },
    admin: { port: 0 }, // never the default port in a test
    sinks: { erp: { type: 'erp-http', url, response: simResponse, delivery: { maxEvents: 100, backoff: { baseMs: 10, capMs: 50 } } } },
    routes: [{ sink: 'erp', types: '*', onReject: 'park' }],
  } as ConfigInput;
}

async function startAgent(t: import('node:test').TestContext, cfg: ConfigInput): Promise<Agent> {
  const agent = new Agent({ config: cfg, configVersion: 'v1', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(1000));
  return agent;
}

const idem = (n: number) => {
  const r = buildEvent(confirmation(n, K), 'v1');
  if (!r.ok) throw new Error(r.reason);
  return r.event.idempotencyKey;
};

test('a request holds one event per ordering key: the ERP rejects the first of K, and K\'s second and third are never booked ahead of it; a replay that fails again parks K again; after a restart nothing phantom is held, and a drop releases K in order', async (t) => {
  const dir = tempDir(t);
  const sim = await startSim(t);
  sim.reject(idem(1), 422, 'order closed');
  const first = await startAgent(t, config(dir, `${sim.url}/batch`));
  await first.ingest([confirmation(1, K), confirmation(2, K), confirmation(3, K), confirmation(4, '订单-1'), confirmation(5, 'Auftrag-Größe')]);
  await until(() => first.sinkStatus('erp').deadLetters === 1 && sim.counters.accepted === 2, 'K parked, the other keys booked');
  await sleep(100);
  assert.deepEqual(sim.booked.filter((b) => b.orderingKey.startsWith(K)), [], "K's later events wait behind its dead letter");

  // The operator replays while the ERP still rejects: the head goes alone, fails again, and parks K again.
  const replayed = first.dlq({ action: 'replay', filter: { orderingKey: `${K}/0010` }, reason: 'order reopened?', actor: 'test' });
  assert.equal(replayed.count, 1);
  await until(() => first.sinkStatus('erp').deadLetters === 1 && sim.counters.rejected >= 2, 'rejected again');
  await sleep(100);
  assert.deepEqual(sim.booked.filter((b) => b.orderingKey.startsWith(K)), [], 'still nothing of K booked');
  const st = first.sinkStatus('erp');
  assert.deepEqual([st.parkedKeys, st.held + st.pending], [1, 2]);
  await first.stop(1000);

  // After a restart the two later events are still held behind the one dead letter: no phantom backlog.
  const second = await startAgent(t, config(dir, `${sim.url}/batch`));
  const again = second.sinkStatus('erp');
  assert.deepEqual([again.deadLetters, again.parkedKeys, again.held + again.pending], [1, 1, 2]);
  second.dlq({ action: 'drop', filter: { orderingKey: `${K}/0010` }, reason: 'posted by hand in ERP', actor: 'test' });
  await until(() => sim.counters.accepted === 4, "K's held events booked");
  const booked = sim.booked.filter((b) => b.orderingKey.startsWith(K)).map((b) => b.idempotencyKey);
  assert.deepEqual(booked, [idem(2), idem(3)], 'in order, once each');
  assert.equal(sim.counters.outOfOrder, 0);
  await sleep(100);
  assert.equal(sim.counters.accepted, 4, 'nothing sent twice');
});

test('keyOrderInBatch against a receiver that stops at a key\'s first failure: several events of a key per request, and still none booked ahead of a rejected one', async (t) => {
  const dir = tempDir(t);
  const sim = await startSim(t, { keyOrder: 'stop-at-failure' });
  sim.reject(idem(1), 422, 'order closed');
  const cfg = config(dir, `${sim.url}/batch`);
  (cfg.sinks.erp as { keyOrderInBatch?: boolean }).keyOrderInBatch = true;
  const agent = await startAgent(t, cfg);
  await agent.ingest([confirmation(1, K), confirmation(2, K), confirmation(3, K), confirmation(4, '订单-1')]);
  // K's three events went in one request: the first rejected, the two after it refused by the receiver (424).
  await until(() => agent.sinkStatus('erp').deadLetters === 3 && sim.counters.accepted === 1, () => `K's three dead, the other key booked (${JSON.stringify(agent.sinkStatus('erp'))})`);
  await sleep(100);
  assert.deepEqual(sim.booked.filter((b) => b.orderingKey.startsWith(K)), [], "K's later events were refused with it, not booked");
  assert.match(spoolOf(agent).admin.listDead({ orderingKey: `${K}/0010` }).map((d) => d.reason).join('\n'), /HTTP 424: an earlier item of this ordering key failed/);
});
