// The OPC UA source holds at most maxInFlight values in memory: while commits cannot keep up (here: the spool is full
// and refuses them) it turns the subscription's publishing off, and the server keeps the values in its queues.
// Nothing is lost for a counter: after a restart with room in the spool the whole increment is posted, once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpoolFullError } from '../../spool/types.ts';
import { sleep, tempDir, until } from '../../test/helpers.ts';
import { agentConfig, postedYield, pressNodes, startAgent, startSim } from './sim/test-kit.ts';

const MAX_IN_FLIGHT = 10;

test('a full spool: the source holds at most maxInFlight values, publishing goes off; after a restart with room the whole increment is posted once', async (t) => {
  const sim = await startSim(t);
  const dir = tempDir(t);
  const nodes = pressNodes(sim)
    .filter((n) => ['PRESS-01/parts', 'order', 'operation'].includes(n.name))
    .map((n) => (n.name === 'PRESS-01/parts' ? { ...n, samplingIntervalMs: 0, queueSize: 200 } : n));
  const cfg = (capBytes: number) => ({ ...agentConfig(dir, { endpoint: sim.endpoint, nodes, maxInFlight: MAX_IN_FLIGHT }), spool: { capBytes }, admin: { enabled: false } });
  const first = await startAgent(t, cfg(1_048_576));
  const status = () => first.sources.get('press')!.status();
  await until(() => status().connected, 'connected');
  await sleep(300);
  // Fill the spool to its cap with business events of another source: from now on commits are refused.
  for (let i = 0; ; i++) {
    try {
      await first.ingest(Array.from({ length: 50 }, (_, k) => ({ type: 'scrap' as const, key: `fill-${i}-${k}`, orderingKey: `Auftrag-${i}`, plant: '1000', occurredAt: Date.now(), source: { adapter: 'test', id: 'filler', address: 'x' }, payload: { quantity: 1, unit: 'ST', reasonCode: 'R1', reasonText: 'Брак '.repeat(40) } })));
    } catch (err) {
      if (err instanceof SpoolFullError) break;
      throw err;
    }
  }
  const before = postedYield(first);
  let added = 0;
  const press = async (n: number) => {
    for (let i = 0; i < n; i++, added++) {
      sim.addParts(1);
      await sleep(5);
    }
  };
  await press(100);
  await until(() => (status().held ?? 0) >= MAX_IN_FLIGHT, () => `the source holds maxInFlight (${JSON.stringify(status())})`);
  await sleep(500); // publishing off has reached the server; what was on its way has arrived
  const received = status().received;
  await press(100);
  await sleep(500);
  const st = status();
  assert.ok(st.held! <= 2 * MAX_IN_FLIGHT, `held ${st.held}: bounded by maxInFlight plus what was on its way`);
  assert.ok(st.received - received <= 2, `publishing is off: ${st.received - received} values taken while 100 more parts were made`);
  assert.ok(st.connected, 'the session stays up (keep-alives go on)');
  assert.equal(postedYield(first), before, 'nothing was committed while the spool was full');
  await first.stop(1000);

  const second = await startAgent(t, cfg(64 * 1024 * 1024));
  await until(() => postedYield(second) === before + added, () => `the whole increment is posted (${postedYield(second)} of ${before + added})`, 20_000);
  await sleep(500);
  assert.equal(postedYield(second), before + added, 'posted once');
});
