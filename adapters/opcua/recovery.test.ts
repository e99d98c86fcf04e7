// Recovery that never goes silent: a server restart in the middle of a shift, and a silent network drop (a proxy
// that stops forwarding without closing anything). After recovery the yield posted equals the counter's
// increments exactly, and the blind interval is reported as a source.gap event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startPausingProxy } from '../../test/pausing-proxy.ts';
import { sleep, tempDir, until } from '../../test/helpers.ts';
import { PressLineSim } from './sim/press-line.ts';
import { agentConfig, events, postedYield, pressNodes, startAgent, startSim } from './sim/test-kit.ts';

const counterNodes = (sim: PressLineSim) => pressNodes(sim).filter((n) => ['PRESS-01/parts', 'PRESS-01/state', 'order', 'operation'].includes(n.name));

test('a server restart mid-shift: the session is rebuilt and parts counted while the server was down are posted once', async (t) => {
  const pki = join(tempDir(t), 'sim-pki');
  let sim = await PressLineSim.start({ pkiDir: pki });
  t.after(() => sim.stop());
  const agent = await startAgent(t, agentConfig(tempDir(t), { endpoint: sim.endpoint, nodes: counterNodes(sim) }));
  await until(() => agent.sources.get('press')!.status().connected, 'connected');
  await sleep(300);
  sim.addParts(5);
  await until(() => postedYield(agent) === 5, 'first parts');
  const { port } = sim;
  const values = sim.snapshot();
  await sim.stop();
  await until(() => !agent.sources.get('press')!.status().connected, 'the loss is noticed');
  await sleep(800);
  // The PLC went on counting while its OPC UA server restarted.
  sim = await PressLineSim.start({ pkiDir: pki, port, initial: { ...values, parts: (values.parts as number) + 4 } });
  await until(() => agent.sources.get('press')!.status().connected, 'reconnected to the restarted server', 20_000);
  sim.addParts(3);
  await until(() => postedYield(agent) === 12, () => `yield 12 = 5 + 4 + 3 (have ${postedYield(agent)})`);
  await sleep(500);
  assert.equal(postedYield(agent), 12, 'no duplicate confirmation');
  assert.ok(agent.sources.get('press')!.status().reconnects >= 1);
});

test('a silent network drop is noticed within seconds; increments made during it are posted after it, and the blind interval becomes a source.gap', async (t) => {
  const sim = await startSim(t);
  const proxy = await startPausingProxy(t, sim.port);
  const endpoint = `opc.tcp://127.0.0.1:${proxy.port}/UA/PressLine`;
  const agent = await startAgent(t, agentConfig(tempDir(t), { endpoint, nodes: counterNodes(sim), staleAfterMs: 1500, transportTimeoutMs: 2000 }));
  const status = () => agent.sources.get('press')!.status();
  await until(() => status().connected, 'connected through the proxy');
  await sleep(300);
  sim.addParts(6);
  await until(() => postedYield(agent) === 6, 'first parts');
  proxy.pause();
  const pulled = Date.now();
  sim.addParts(4);
  sim.set('state', 'DOWN');
  sim.set('state', 'RUNNING'); // a short stop nobody can see through a pulled cable
  await until(() => !status().connected, 'the silent drop is noticed', 10_000);
  const noticedAfter = Date.now() - pulled;
  assert.equal(await agent.metrics.value('plantsync_source_connected', { source: 'press' }), 0, 'metrics say so too');
  assert.ok(noticedAfter < 5000, `noticed after ${noticedAfter} ms (the library alone: ~25 s)`);
  await sleep(1000);
  proxy.resume();
  await until(() => status().connected, 'reconnected after the cable is back', 20_000);
  assert.equal(await agent.metrics.value('plantsync_source_connected', { source: 'press' }), 1);
  assert.ok((await agent.metrics.value('plantsync_source_reconnects', { source: 'press' })) >= 1);
  await until(() => postedYield(agent) === 10, () => `yield 10 (have ${postedYield(agent)})`);
  sim.addParts(1);
  await until(() => postedYield(agent) === 11, 'and counting goes on');
  const gaps = events(agent).filter((e) => e.type === 'source.gap');
  assert.equal(gaps.length, 1, JSON.stringify(gaps));
  assert.match(String(gaps[0]!.payload.reason), /connection down: edges and state changes of PRESS-01\/state/);
  assert.ok(Date.parse(String(gaps[0]!.payload.from)) >= pulled && Date.parse(String(gaps[0]!.payload.until)) > Date.parse(String(gaps[0]!.payload.from)));
});
