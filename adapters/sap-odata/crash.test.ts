// kill -9 of the agent while a $batch is on its way to SAP: after the restart every event is booked exactly once,
// in per-key order. The killed $batch is executed by SAP after the agent died (its answer reaches no one); the
// restarted agent finds its claim in the spool, looks its events up, and settles them with SAP's documents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent } from '../../agent/agent.ts';
import { runAgent } from '../../cli/test-kit.ts';
import { tempDir, until } from '../../test/helpers.ts';
import { bookedYields, confirmation, sapAgentConfig, sapSinkConfig, startSapSim } from './sim/test-kit.ts';

const ORDERS = ['Auftrag-4711', 'Заказ-1001', '订单-2002', 'Auftrag-Größe-7', 'Заказ-Ёлка-3'];
const PER_ORDER = 30;

test('kill -9 during a $batch: after the restart every event is booked exactly once, in per-key order', async (t) => {
  const sim = await startSapSim(t);
  const dir = tempDir(t);
  // The backlog is spooled first, by an agent that cannot reach SAP (nothing is booked yet).
  const offline = new Agent({ config: sapAgentConfig(dir, sapSinkConfig(sim, { url: 'http://127.0.0.1:1' })), configVersion: 't', log: pino({ level: 'silent' }) });
  await offline.start();
  await offline.ingest(ORDERS.flatMap((o) => Array.from({ length: PER_ORDER }, (_, i) => confirmation(i + 1, o))));
  await offline.stop(500);

  const config = sapAgentConfig(dir, sapSinkConfig(sim, { delivery: { maxEvents: 5, concurrency: 2, backoff: { baseMs: 20, capMs: 200 } } }));
  const file = join(dir, 'plantsync.json');
  writeFileSync(file, JSON.stringify(config));
  for (let i = 0; i < 40; i++) sim.fault({ kind: 'slow', ms: 150 }); // every $batch takes a while: one is always on its way
  const child = runAgent(t, file);
  await until(() => sim.counters.batches >= 4, () => `the agent posts (${sim.counters.batches} $batch so far; ${child.log().slice(-500)})`, 30_000);
  await new Promise((r) => setTimeout(r, 60));
  child.proc.kill('SIGKILL');
  await new Promise((r) => child.proc.once('exit', r));
  await new Promise((r) => setTimeout(r, 300)); // SAP finishes the $batch whose answer no one will read
  const bookedBeforeRestart = sim.counters.booked;
  assert.ok(bookedBeforeRestart > 0 && bookedBeforeRestart < ORDERS.length * PER_ORDER, `killed in the middle (${bookedBeforeRestart} booked)`);

  const agent = new Agent({ config, configVersion: 't', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(1000));
  await until(() => agent.sinkStatus('s4').pending + agent.sinkStatus('s4').held + agent.sinkStatus('s4').inFlightBatches + agent.sinkStatus('s4').waitingBatches === 0, () => `drained (${JSON.stringify(agent.sinkStatus('s4'))})`, 60_000);
  assert.equal(sim.counters.booked, ORDERS.length * PER_ORDER, 'each event booked once');
  assert.equal(sim.counters.bookedTwice, 0, 'no reference booked twice');
  for (const [order, yields] of bookedYields(sim)) assert.deepEqual(yields, Array.from({ length: PER_ORDER }, (_, i) => i + 1), `order ${order} in order`);
  assert.ok(sim.counters.lookups > 0, 'the cut-off batch was looked up, not simply sent again');
});
