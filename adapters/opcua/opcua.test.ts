// The OPC UA source against the simulated press line over real sockets: every trigger, read-on-trigger, the PLC
// handshake, and a restart of the agent in the middle of a shift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, tempDir, until } from '../../test/helpers.ts';
import { agentConfig, events, postedYield, pressNodes, startAgent, startSim } from './sim/test-kit.ts';
import { spoolOf } from '../../agent/inspect.ts';

const byType = (agent: Parameters<typeof events>[0], type: string) => events(agent).filter((e) => e.type === type);

test('every trigger on the simulated press becomes its event, with related nodes read on trigger and the handshake written after the commit', async (t) => {
  const sim = await startSim(t);
  const agent = await startAgent(t, agentConfig(tempDir(t), { endpoint: sim.endpoint, nodes: pressNodes(sim) }));
  await until(() => agent.sources.get('press')!.status().connected, 'connected');
  await sleep(400); // first readings are baselines

  sim.addParts(7);
  await until(() => postedYield(agent) === 7, () => `yield 7 posted (have ${postedYield(agent)})`);
  const [conf] = byType(agent, 'production.confirmation');
  assert.equal(conf!.payload.order, '1000451', 'order read on trigger');
  assert.equal(conf!.payload.operation, '0010');
  assert.match(conf!.idempotencyKey, /^1000\/press\/urn:.*ns=1;s=PRESS-01\.Parts\/\d{4}-.*Z\/7$/, 'server, node, source time and counter value');

  sim.set('state', 'DOWN');
  await sleep(1100);
  sim.set('state', 'RUNNING');
  await until(() => byType(agent, 'machine.downtime').length === 2, 'downtime started and ended');
  const [started, ended] = byType(agent, 'machine.downtime');
  assert.equal(started!.payload.state, 'started');
  assert.equal(ended!.payload.state, 'ended');
  assert.ok((ended!.payload.durationSec as number) >= 1 && (ended!.payload.durationSec as number) < 3, `duration ${ended!.payload.durationSec}`);

  sim.set('hold', true);
  await until(() => byType(agent, 'quality.hold').length === 1, 'hold (rising edge, found by browse path)');
  assert.deepEqual([byType(agent, 'quality.hold')[0]!.payload.lot, byType(agent, 'quality.hold')[0]!.payload.decision], ['L1000451', 'hold']);
  sim.set('hold', false);
  await until(() => byType(agent, 'quality.hold').length === 2, 'release (falling edge)');

  for (const v of [65, 66, 50, 70]) {
    sim.set('temperature', v);
    await sleep(250);
  }
  await until(() => byType(agent, 'telemetry').filter((e) => String(e.payload.tag).endsWith('.above')).length === 2, 'threshold fired twice');
  assert.deepEqual(byType(agent, 'telemetry').filter((e) => String(e.payload.tag).endsWith('.above')).map((e) => e.payload.value), [65, 70], 'once per crossing, re-armed below 55');

  sim.raiseDataReady({ order: '1000452', material: 'BRKT-4712', lot: 'L1000452' });
  await until(() => sim.acks === 1, 'the PLC saw the ack');
  const [receipt] = byType(agent, 'goods.receipt');
  assert.deepEqual([receipt!.payload.order, receipt!.payload.material, receipt!.payload.batch], ['1000452', 'BRKT-4712', 'L1000452']);
  await until(() => sim.get('dataReady') === false, 'the PLC lowered data-ready after the ack');
  await until(() => byType(agent, 'telemetry').some((e) => e.payload.tag === 'PRESS-01.Order' && e.payload.value === '1000452'), 'order change');
  assert.equal(spoolOf(agent).admin.listRejected().length, 0, JSON.stringify(spoolOf(agent).admin.listRejected().map((r) => r.reason)));
});

test('parts made while the agent is stopped are posted after its restart, each once; republished values post nothing', async (t) => {
  const sim = await startSim(t);
  const dir = tempDir(t);
  const nodes = pressNodes(sim).filter((n) => ['PRESS-01/parts', 'order', 'operation'].includes(n.name));
  const first = await startAgent(t, agentConfig(dir, { endpoint: sim.endpoint, nodes }));
  await until(() => first.sources.get('press')!.status().connected, 'connected');
  await sleep(300);
  sim.addParts(10);
  await until(() => postedYield(first) === 10, 'first 10');
  await first.stop(1000);
  sim.addParts(5); // while the agent is away
  sim.addParts(3);
  const second = await startAgent(t, agentConfig(dir, { endpoint: sim.endpoint, nodes }));
  await until(() => postedYield(second) === 18, () => `all 18 parts posted (have ${postedYield(second)})`);
  sim.addParts(2);
  await until(() => postedYield(second) === 20, 'and it goes on');
  await sleep(500);
  assert.equal(postedYield(second), 20, 'nothing posted twice');
  assert.equal(sim.get('parts'), 20);
});

test('a shift on the simulator: the yield posted equals the counter increments, every downtime starts and ends, the pallet is acknowledged', async (t) => {
  const sim = await startSim(t);
  const agent = await startAgent(t, agentConfig(tempDir(t), { endpoint: sim.endpoint, nodes: pressNodes(sim) }));
  await until(() => agent.sources.get('press')!.status().connected, 'connected');
  await sleep(400);
  const before = sim.get('parts') as number;
  sim.runShift(15); // 330 steps: two downtimes, a hold and its release, a new order raised with data-ready
  await sleep(15 * 330);
  sim.stopShift();
  const made = (sim.get('parts') as number) - before;
  assert.ok(made > 250, `${made} parts made`);
  await until(() => postedYield(agent) === made, () => `yield ${made} posted (have ${postedYield(agent)})`);
  await until(() => sim.acks === 1, 'the pallet record acknowledged');
  const downs = byType(agent, 'machine.downtime');
  assert.equal(downs.filter((e) => e.payload.state === 'started').length, 2, JSON.stringify(downs.map((e) => e.payload)));
  assert.equal(downs.filter((e) => e.payload.state === 'ended').length, 2);
  assert.deepEqual(byType(agent, 'quality.hold').map((e) => e.payload.decision), ['hold', 'release']);
  assert.equal(byType(agent, 'goods.receipt').length, 1);
  assert.equal(new Set(events(agent).map((e) => e.idempotencyKey)).size, events(agent).length, 'no event twice');
});

test('OPC UA events (alarms) become records with their fields, keyed by EventId; those below minSeverity are dropped', async (t) => {
  const sim = await startSim(t);
  const config = agentConfig(tempDir(t), { endpoint: sim.endpoint, nodes: pressNodes(sim).filter((n) => n.name === 'order'), events: [{ name: 'PRESS-01/alarms', minSeverity: 500 }] });
  config.mappings = [{ name: 'alarm', topic: '{machine}/alarms', emit: [{ type: 'quality.hold', key: '{{payload.key}}', orderingKey: '{{topic.machine}}/alarms', occurredAt: 'payload.ts', payload: { characteristic: '{{payload.Message}}', decision: 'hold', value: '{{payload.Severity}}' } }] }] as typeof config.mappings;
  const agent = await startAgent(t, config);
  await until(() => agent.sources.get('press')!.status().connected, 'connected');
  await sleep(300);
  sim.raiseAlarm('Die temperature high', 800);
  sim.raiseAlarm('Lubrication low (info)', 100);
  sim.raiseAlarm('Light curtain interrupted', 900);
  await until(() => byType(agent, 'quality.hold').length === 2, () => `two alarms (have ${JSON.stringify(events(agent).map((e) => e.payload))})`);
  await sleep(300);
  const holds = byType(agent, 'quality.hold');
  assert.deepEqual(holds.map((e) => [e.payload.characteristic, e.payload.value]), [['Die temperature high', 800], ['Light curtain interrupted', 900]]);
  assert.match(holds[0]!.idempotencyKey, /\/event\/[0-9a-f]{16,}$/, 'keyed by the EventId');
  assert.notEqual(holds[0]!.idempotencyKey, holds[1]!.idempotencyKey);
});

for (const deadband of [{ type: 'absolute' as const, value: 2 }, { type: 'percent' as const, value: 2 }]) test(`${deadband.type === 'absolute' ? 'an' : 'a'} ${deadband.type} deadband keeps small changes at the server; larger ones come through`, async (t) => {
  const sim = await startSim(t);
  // 2 units, or 2% of the oil temperature's engineering range 0-100: the same band.
  const nodes = [{ name: 'PRESS-01/temperature', nodeId: sim.nodeIds.temperature, deadband, trigger: { kind: 'change' as const } }];
  const config = agentConfig(tempDir(t), { endpoint: sim.endpoint, nodes });
  config.mappings = [{ name: 't', topic: '{machine}/temperature', emit: [{ type: 'telemetry', key: '{{payload.key}}', orderingKey: 't', occurredAt: 'payload.ts', payload: { tag: 'OilTemperature', value: '{{payload.value}}' } }] }] as typeof config.mappings;
  const agent = await startAgent(t, config);
  await until(() => agent.sources.get('press')!.status().connected, 'connected');
  await sleep(400);
  for (const v of [42.5, 43.0, 41.5, 45.0, 45.5, 48.0]) {
    sim.set('temperature', v);
    await sleep(200);
  }
  await until(() => byType(agent, 'telemetry').length === 2, () => `two changes beyond the deadband (have ${JSON.stringify(byType(agent, 'telemetry').map((e) => e.payload.value))})`);
  await sleep(300);
  assert.deepEqual(byType(agent, 'telemetry').map((e) => e.payload.value), [45, 48]);
});
