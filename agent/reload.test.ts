import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { Agent } from './agent.ts';
import { withDefaults, type ConfigInput } from './config.ts';
import { planReload } from './reload-plan.ts';
import { robotMappings, robotSource, ROBOT_TOPIC } from '../adapters/mqtt/sim/machine.ts';
import { startBroker } from '../adapters/mqtt/sim/test-broker.ts';
import { simResponse, startSim } from '../adapters/erp-http/sim/test-kit.ts';
import { tempDir, until } from '../test/helpers.ts';

function config(stateDir: string, broker: string, erp: string): ConfigInput {
  const robot = { ...robotSource(broker), clientId: `reload-${process.pid}-${Date.now()}` };
  return {
    agent: { id: `gw-reload-${process.pid}`, plant: '1000', stateDir },
    admin: { enabled: false },
    sources: { robot },
    sinks: { erp: { type: 'erp-http', url: `${erp}/batch`, response: simResponse } },
    routes: [{ sink: 'erp', types: '*' }],
    mappings: robotMappings,
  };
}

/** An agent on config v1 with the robot source on a test broker and the ERP sink on erp-sim. */
async function running(t: TestContext) {
  const broker = await startBroker(t);
  const erp = await startSim(t);
  const cfg = config(tempDir(t), broker.url, erp.url);
  const agent = new Agent({ config: cfg, configVersion: 'v1', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(1000));
  return { broker, erp, cfg, agent };
}

const cycle = (seq: number) => JSON.stringify({ seq, ts: new Date(1_780_000_000_000 + seq).toISOString(), order: 'PO7', wire: 'W1', wire_g: 30 });

test('a reload keeps unchanged sources connected, restarts changed sinks, applies new mappings; events carry the version that made them', async (t) => {
  const { broker, erp, cfg, agent } = await running(t);
  const robot = await connectAsync(broker.url, { clientId: `robot-${process.pid}` });
  t.after(() => robot.endAsync());
  const source = agent.sources.get('robot')!;
  await until(() => source.status().connected, 'source connected');
  for (let i = 1; i <= 5; i++) await robot.publishAsync(ROBOT_TOPIC, cycle(i), { qos: 1 });
  await until(() => erp.counters.accepted === 5, () => `5 booked, got ${erp.counters.accepted}`);
  const sinkBefore = agent.sinks.get('erp');

  // The sink's delivery settings and the mapping change; the source's settings do not.
  const rule = robotMappings![0]!;
  const next: ConfigInput = {
    ...cfg,
    sinks: { erp: { ...cfg.sinks.erp!, delivery: { maxEvents: 7 } } },
    mappings: [{ ...rule, emit: [{ ...rule.emit[0]!, key: 'v2/{{topic.machine}}/{{payload.seq}}' }] }],
  };
  const report = await agent.reload({ config: next, version: 'v2' });
  assert.deepEqual(report.sources, { added: [], removed: [], changed: [], unchanged: ['robot'] });
  assert.deepEqual(report.sinks.changed, ['erp']);
  assert.equal(report.mappingsChanged, true);
  assert.equal(agent.sources.get('robot'), source, 'the same source object: its connection was kept');
  assert.equal(source.status().reconnects, 0);
  assert.notEqual(agent.sinks.get('erp'), sinkBefore, 'a new sink with the new settings');
  assert.equal(agent.configVersion, 'v2');

  for (let i = 6; i <= 10; i++) await robot.publishAsync(ROBOT_TOPIC, cycle(i), { qos: 1 });
  await until(() => erp.counters.accepted === 10, () => `10 booked, got ${erp.counters.accepted}`);
  const versions = erp.booked.map((b) => `${b.mappingVersion}:${b.idempotencyKey.includes('/v2/') ? 'new' : 'old'}`);
  assert.deepEqual(versions, [...Array(5).fill('v1:old'), ...Array(5).fill('v2:new')]);
  assert.equal(erp.counters.duplicates, 0);

  // The admin listener follows its settings: off in v2, on (any free port) in v2b.
  assert.equal(agent.adminUrl, undefined);
  await agent.reload({ config: { ...next, admin: { port: 0 } }, version: 'v2b' });
  assert.match(agent.adminUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal((await fetch(`${agent.adminUrl}/healthz`)).status, 200);

  // Removing the source stops it; adding it back starts a new one.
  const { robot: _, ...noSources } = next.sources!;
  const r3 = await agent.reload({ config: { ...next, admin: { port: 0 }, sources: noSources }, version: 'v3' });
  assert.deepEqual(r3.sources.removed, ['robot']);
  assert.equal(agent.sources.size, 0);
  assert.equal(source.status().connected, false);
});

test('a config that changes what only a restart can change, or names a secret that cannot be read, is refused, and the agent runs on', async (t) => {
  const { broker, erp, cfg, agent } = await running(t);
  await assert.rejects(agent.reload({ config: { ...cfg, agent: { ...cfg.agent, plant: '2000' } }, version: 'v2' }), /needs a restart to change \/agent\/plant; still running config v1/);
  assert.equal(agent.configVersion, 'v1');
  assert.equal(agent.config.agent.plant, '1000');

  // A secret the new config names cannot be read: refused before anything is stopped.
  const sinkBefore = agent.sinks.get('erp');
  const next = { ...cfg, sinks: { erp: { ...cfg.sinks.erp!, headers: { authorization: '${env:PLANTSYNC_TEST_UNSET_TOKEN}' } } } };
  await assert.rejects(agent.reload({ config: next, version: 'v3' }), /\/sinks\/erp\/headers\/authorization: environment variable PLANTSYNC_TEST_UNSET_TOKEN is not set/);
  assert.equal(agent.sinks.get('erp'), sinkBefore, 'the running sink was not touched');
  assert.equal(agent.configVersion, 'v1');
});

test('planReload tells unchanged, changed, added and removed apart, and what needs a restart', () => {
  const base = config('/var/lib/plantsync', 'mqtt://a', 'http://erp');
  const p = planReload(withDefaults(base), withDefaults({ ...base, spool: { capBytes: 1 << 30 }, sinks: { ...base.sinks, qms: { type: 'memory' } }, sources: {} }));
  assert.deepEqual(p.sinks, { added: ['qms'], removed: [], changed: [], unchanged: ['erp'] });
  assert.deepEqual(p.sources.removed, ['robot']);
  assert.deepEqual(p.restartNeeded, ['/spool']);
  assert.equal(p.routesChanged, false);
  assert.equal(p.adminChanged, false);
});
