// The admin listener and `plantsync status` against a real agent process: health, readiness with a source that
// cannot connect, metrics, and the spool's view once the agent has stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, until } from '../test/helpers.ts';
import { freePort, plantsync, runAgent } from './test-kit.ts';

test('status asks the running agent: ready or not (with the reason), metrics and health; once it stops, status reads the spool and exits 3', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const deadPlc = await freePort(); // nothing listens here: the OPC UA source cannot connect
  const config = join(dir, 'plantsync.json');
  writeFileSync(
    config,
    JSON.stringify({
      agent: { id: 'gw-status', plant: '1000', stateDir: dir },
      admin: { port },
      sources: { press: { type: 'opcua', endpoint: `opc.tcp://127.0.0.1:${deadPlc}`, reconnectMaxMs: 500, nodes: [{ name: 'parts', nodeId: 'ns=1;s=Parts', trigger: { kind: 'counter' } }] } },
      sinks: { erp: { type: 'memory' } },
      routes: [{ sink: 'erp', types: '*' }],
    }),
  );
  const { proc: agent, log } = runAgent(t, config);
  await until(() => log().includes('admin HTTP listening'), 'admin listener up', 20_000);
  const base = `http://127.0.0.1:${port}`;

  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  const ready = await fetch(`${base}/readyz`);
  assert.equal(ready.status, 503);
  assert.deepEqual(((await ready.json()) as { notReady: string[] }).notReady, ["source 'press' is not connected"]);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /^plantsync_source_connected\{source="press"\} 0$/m);
  assert.equal((await fetch(`${base}/status`, { method: 'POST' })).status, 405, 'read-only');

  const human = await plantsync('status', '--config', config);
  assert.equal(human.code, 1, 'degraded: a source is down');
  assert.match(human.stdout, /NOT READY: source 'press' is not connected/);
  assert.match(human.stdout, new RegExp(`^status page ${base}/$`, 'm'), 'where the technician can look');
  assert.match(human.stdout, /press\s+DISCONNECTED/);
  assert.match(human.stdout, /erp\s+backlog 0/);
  const json = JSON.parse((await plantsync('status', '--config', config, '--json')).stdout) as { agentId: string; sources: Record<string, { connected: boolean; reconnects: number }> };
  assert.equal(json.agentId, 'gw-status');
  assert.equal(json.sources.press!.connected, false);

  const exited = new Promise((r) => agent.once('exit', r));
  agent.kill('SIGTERM');
  await exited;
  const stopped = await plantsync('status', '--config', config);
  assert.equal(stopped.code, 3);
  assert.match(stopped.stdout, /not answering on its admin listener/);
  assert.match(stopped.stdout, /sink erp\s+backlog 0\s+dead letters 0/);
});

test('status of a healthy agent says READY and exits 0', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const config = join(dir, 'plantsync.json');
  writeFileSync(config, JSON.stringify({ agent: { id: 'gw-ok', plant: '1000', stateDir: dir }, admin: { port }, sinks: { erp: { type: 'memory' } }, routes: [{ sink: 'erp', types: '*' }] }));
  const { proc: agent, log } = runAgent(t, config);
  await until(() => log().includes('admin HTTP listening'), 'admin listener up', 20_000);
  const r = await plantsync('status', '--config', config);
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /^plantsync gw-ok {2}config \w+ {2}up \d+s {2}READY$/m);
  assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
});

test('status with an invalid conf.d fragment on disk still shows the running agent, on its last good config, and the error', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const config = join(dir, 'plantsync.json');
  writeFileSync(config, JSON.stringify({ agent: { id: 'gw-frag', plant: '1000', stateDir: dir }, admin: { port }, sinks: { erp: { type: 'memory' } }, routes: [{ sink: 'erp', types: '*' }] }));
  const { log } = runAgent(t, config);
  await until(() => log().includes('admin HTTP listening'), 'admin listener up', 20_000);
  mkdirSync(join(dir, 'conf.d'));
  writeFileSync(join(dir, 'conf.d', '30-linie-4.json'), JSON.stringify({ sinks: { erp: { delivery: { maxEvents: 0 } } } }));
  const r = await plantsync('status', '--config', config);
  assert.equal(r.code, 1, 'not all well');
  assert.match(r.stdout, /^CONFIG ON DISK INVALID \(the agent runs on its last good config \w+\): .*30-linie-4\.json: \/sinks\/erp\/delivery\/maxEvents: must be >= 1$/m);
  assert.match(r.stdout, /^plantsync gw-frag {2}config \w+ {2}up \d+s {2}READY$/m, 'the running agent is shown');
  const json = JSON.parse((await plantsync('status', '--config', config, '--json')).stdout) as { agentId: string; configOnDisk: { error: string } };
  assert.equal(json.agentId, 'gw-frag');
  assert.match(json.configOnDisk.error, /30-linie-4\.json/);
});
