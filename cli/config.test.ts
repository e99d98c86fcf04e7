// Config rollout against a real agent process: conf.d fragments, reload on SIGHUP and on file change, a refused
// config (the agent runs on the last good one and says so), and `config show` with secrets masked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentStatus } from '../agent/admin-http.ts';
import { tempDir, until } from '../test/helpers.ts';
import { freePort, plantsync, runAgent } from './test-kit.ts';

test('the agent reloads conf.d on SIGHUP and on file change, refuses a bad config and runs on; status and metrics say which', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const config = join(dir, 'plantsync.json');
  mkdirSync(join(dir, 'conf.d'));
  writeFileSync(config, JSON.stringify({ agent: { id: 'gw-reload', plant: '1000', stateDir: dir, label: 'r1' }, admin: { port }, sinks: { erp: { type: 'memory' } }, routes: [{ sink: 'erp', types: '*' }] }));
  const { proc, log } = runAgent(t, config);
  await until(() => log().includes('admin HTTP listening'), 'agent up', 20_000);
  const status = async () => (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as AgentStatus;
  const v1 = (await status()).configVersion;
  assert.match(v1, /^r1\+/);

  // A fragment arrives (config management): the watcher reloads it.
  writeFileSync(join(dir, 'conf.d', '50-qms.json'), JSON.stringify({ sinks: { qms: { type: 'memory' } }, routes: [{ sink: 'qms', types: ['quality.hold'] }] }));
  await until(() => log().includes('"msg":"config reloaded"'), 'reloaded on file change', 10_000);
  const s2 = await status();
  assert.notEqual(s2.configVersion, v1);
  assert.deepEqual(Object.keys(s2.sinks), ['erp', 'qms']);
  assert.deepEqual(s2.config.files, [config, join(dir, 'conf.d', '50-qms.json')]);

  // A broken fragment is refused: the agent keeps running on the last good config and reports it.
  writeFileSync(join(dir, 'conf.d', '60-bad.json'), JSON.stringify({ sinks: { qms: { type: 'memory', delivery: { concurrency: 0 } } } }));
  proc.kill('SIGHUP');
  await until(() => log().includes('"msg":"config refused; running on the last good config"'), 'refused', 10_000);
  const s3 = await status();
  assert.equal(s3.configVersion, s2.configVersion);
  assert.match(s3.config.refused!.message, /60-bad\.json: \/sinks\/qms\/delivery\/concurrency: must be >= 1/);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(metrics, /^plantsync_config_refused 1$/m);
  assert.match(metrics, new RegExp(`^plantsync_config_info\\{version="${s2.configVersion.replace('+', '\\+')}"\\} 1$`, 'm'));
  // The files on disk are bad, yet status shows the running agent (on its last good config) and says both.
  const human = await plantsync('status', '--config', config);
  assert.equal(human.code, 1, human.stdout + human.stderr);
  assert.match(human.stdout, /^CONFIG ON DISK INVALID \(the agent runs on its last good config .*60-bad\.json/m);
  assert.match(human.stdout, /^CONFIG REFUSED .*60-bad\.json/m);

  // Fixed: the next reload applies and clears the report.
  writeFileSync(join(dir, 'conf.d', '60-bad.json'), JSON.stringify({ sinks: { qms: { type: 'memory', delivery: { concurrency: 1 } } } }));
  proc.kill('SIGHUP');
  await until(() => log().split('"msg":"config reloaded"').length === 3, 'reloaded again', 10_000);
  const s4 = await status();
  assert.equal(s4.config.refused, null);
  assert.notEqual(s4.configVersion, s2.configVersion);
  assert.equal((await plantsync('status', '--config', config)).code, 0);
});

test('config show prints the merged config with its version and files, secrets masked', async (t) => {
  const dir = tempDir(t);
  const config = join(dir, 'plantsync.json');
  mkdirSync(join(dir, 'conf.d'));
  writeFileSync(config, JSON.stringify({ agent: { id: 'gw', plant: '1000', stateDir: dir }, sinks: { erp: { type: 'erp-http', url: 'http://erp/batch', auth: { type: 'basic', user: 'plantsync', password: 'hunter2' } } }, routes: [{ sink: 'erp', types: '*' }] }));
  writeFileSync(join(dir, 'conf.d', '10-token.json'), JSON.stringify({ sinks: { erp: { auth: { type: 'bearer', token: '${env:ERP_TOKEN}', user: undefined } } } }));
  const r = await plantsync('config', 'show', config);
  assert.equal(r.code, 2, 'bearer auth has no user: the merged config is invalid');
  assert.match(r.stderr, /plantsync\.json \(merged with \S+10-token\.json\): \/sinks\/erp\/auth\/password: unknown field/);
  writeFileSync(join(dir, 'conf.d', '10-token.json'), JSON.stringify({ sinks: { erp: { headers: { 'x-plant': '1000', 'x-api-key': 'k-123' } } } }));
  const ok = await plantsync('config', 'show', config);
  assert.equal(ok.code, 0, ok.stderr);
  const shown = JSON.parse(ok.stdout) as { version: string; files: string[]; config: { sinks: { erp: { auth: unknown; headers: unknown } } } };
  assert.deepEqual(shown.files, [config, join(dir, 'conf.d', '10-token.json')]);
  assert.deepEqual(shown.config.sinks.erp.auth, { type: 'basic', user: 'plantsync', password: '***' });
  assert.deepEqual(shown.config.sinks.erp.headers, { 'x-plant': '1000', 'x-api-key': '***' });
  assert.doesNotMatch(ok.stdout, /hunter2|k-123/);
  const v = await plantsync('config', 'validate', config);
  assert.match(v.stdout, new RegExp(`10-token\\.json: valid \\(config version ${shown.version.replace('+', '\\+')}\\)`));
});

test('a secret the agent cannot read: config validate --secrets names it (exit 2), and run stops with one line and exit 2', async (t) => {
  const dir = tempDir(t);
  const config = join(dir, 'plantsync.json');
  const secret = join(dir, 'erp-token');
  writeFileSync(config, JSON.stringify({ agent: { id: 'gw', plant: '1000', stateDir: dir }, admin: { enabled: false }, sinks: { erp: { type: 'erp-http', url: 'http://127.0.0.1:9/batch', auth: { type: 'bearer', token: `\${file:${secret}}` } } }, routes: [{ sink: 'erp', types: '*' }] }));
  assert.equal((await plantsync('config', 'validate', config)).code, 0, 'without --secrets only the config is checked');
  const v = await plantsync('config', 'validate', '--secrets', config);
  assert.equal(v.code, 2);
  assert.match(v.stderr, /\/sinks\/erp\/auth\/token: cannot read secret file .*erp-token/);
  const { proc, log } = runAgent(t, config);
  const code = await new Promise((r) => proc.once('exit', r));
  assert.equal(code, 2);
  const lines = log().trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string });
  const fatal = lines.find((l) => l.level === 60);
  assert.match(fatal!.msg, /plantsync\.json: \/sinks\/erp\/auth\/token: cannot read secret file/);
  assert.doesNotMatch(log(), /\n\s+at /, 'no stack trace');
  writeFileSync(secret, 'tok-1\n');
  assert.match((await plantsync('config', 'validate', '--secrets', config)).stdout, /valid, secrets readable/);
});

test('a missing secret in a conf.d fragment is named in that fragment, by config validate --secrets and by run', async (t) => {
  const dir = tempDir(t);
  const config = join(dir, 'plantsync.json');
  writeFileSync(config, JSON.stringify({ agent: { id: 'gw', plant: '1000', stateDir: dir }, admin: { enabled: false }, sinks: { erp: { type: 'memory' } }, routes: [{ sink: 'erp', types: '*' }] }));
  mkdirSync(join(dir, 'conf.d'));
  const fragment = join(dir, 'conf.d', '20-werk-2-erp.json');
  writeFileSync(fragment, JSON.stringify({ sinks: { werk2: { type: 'erp-http', url: 'http://127.0.0.1:9/batch', auth: { type: 'basic', user: 'plantsync', password: '${env:PLANTSYNC_TEST_UNSET_WERK2}' } } } }));
  const v = await plantsync('config', 'validate', '--secrets', config);
  assert.equal(v.code, 2);
  assert.match(v.stderr, /conf\.d\/20-werk-2-erp\.json: \/sinks\/werk2\/auth\/password: environment variable PLANTSYNC_TEST_UNSET_WERK2 is not set/);
  const { proc, log } = runAgent(t, config);
  assert.equal(await new Promise((r) => proc.once('exit', r)), 2);
  const fatal = log().trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.level === 60);
  assert.match(fatal!.msg, /conf\.d\/20-werk-2-erp\.json: \/sinks\/werk2\/auth\/password: environment variable/);
});

test('a second agent on the same spool stops at once with one fatal line naming who holds it (exit 1)', async (t) => {
  const dir = tempDir(t);
  const config = join(dir, 'plantsync.json');
  writeFileSync(config, JSON.stringify({ agent: { id: 'gw', plant: '1000', stateDir: dir }, admin: { enabled: false }, sinks: { erp: { type: 'memory' } }, routes: [{ sink: 'erp', types: '*' }] }));
  const first = runAgent(t, config);
  await until(() => first.log().includes('agent started'), 'first agent up', 20_000);
  const second = runAgent(t, config);
  assert.equal(await new Promise((r) => second.proc.once('exit', r)), 1);
  const fatal = second.log().trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 60);
  assert.equal(fatal.length, 1);
  assert.match(fatal[0]!.msg, /^agent could not start: .*spool.*(in use|locked)/i);
});
