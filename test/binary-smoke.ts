// Smoke test of the single binary (dist/plantsync, from `npm run package`), run by .ci/run after packaging; not
// part of `npm test`, which must not need a 120 MB build. It runs the binary as an operator would, with no
// node_modules in reach: version, config validate (good and bad), the status page's files, and a short demo that
// delivers events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './helpers.ts';

const exe = join(import.meta.dirname, '..', 'dist', 'plantsync');
const exec = promisify(execFile);

async function binary(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    // From an empty folder, so nothing is found in a node_modules by accident.
    return { code: 0, ...(await exec(exe, args, { cwd, env: { PATH: process.env.PATH, HOME: cwd, PLANTSYNC_CACHE_DIR: join(cwd, 'cache') }, timeout: 120_000 })) };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('dist/plantsync: version, config validate, and a short demo that delivers every event once', async (t) => {
  assert.ok(existsSync(exe), 'build it first: npm run package');
  const dir = tempDir(t);
  const v = await binary(dir, 'version', '--json');
  assert.equal(v.code, 0, v.stderr);
  const version = JSON.parse(v.stdout) as { node: string; singleBinary: boolean; execArgv: string[] };
  assert.match(version.node, /^v24\./);
  assert.equal(version.singleBinary, true);
  const flags = (JSON.parse(readFileSync(join(import.meta.dirname, '../pkg.config.json'), 'utf8')) as { execArgv: string[] }).execArgv;
  assert.deepEqual(version.execArgv, flags, 'pkg.config.json execArgv applies');
  // npx (cli/plantsync.js) and npm start run the agent with the same V8 flags as the binary.
  assert.ok(readFileSync(join(import.meta.dirname, '../cli/plantsync.js'), 'utf8').startsWith(`#!/usr/bin/env -S node ${flags.join(' ')}\n`), 'cli/plantsync.js flags');
  assert.ok((JSON.parse(readFileSync(join(import.meta.dirname, '../package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.startsWith(`node ${flags.join(' ')} `), 'npm start flags');
  assert.deepEqual(readdirSync(join(dir, 'cache')).length, 1, 'assets unpacked into one folder per build');

  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ agent: { id: 'gw', plant: '1000', stateDir: join(dir, 'state') }, admin: { port: 0 }, sinks: { erp: { type: 'memory' } }, routes: [{ sink: 'erp', types: '*' }] }));
  assert.equal((await binary(dir, 'config', 'validate', good)).code, 0);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ agent: { id: 'gw', plant: '1000', stateDir: dir }, sinks: {}, routes: [{ sink: 'erp', types: '*' }] }));
  const no = await binary(dir, 'config', 'validate', bad);
  assert.equal(no.code, 2);
  assert.match(no.stderr, /bad\.json: \/routes\/0\/sink: no sink named 'erp'/);

  const demo = await binary(dir, 'demo', '--duration', '3');
  assert.equal(demo.code, 0, demo.stdout + demo.stderr);
  const m = /^OK: (\d+) events spooled, \1 posted to ERP exactly once/m.exec(demo.stdout);
  assert.ok(m && Number(m[1]) > 20, demo.stdout);
  // The demo runs an MQTT source, an OPC UA source and the ERP sink: none of their libraries may warn at start.
  assert.doesNotMatch(demo.stderr, /DeprecationWarning|ExperimentalWarning/, 'no runtime warnings');
  // The status page's files travel inside the binary (pkg.config.json assets, unpacked beside the bundle).
  const agent = spawn(exe, ['run', '--config', good], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir, PLANTSYNC_CACHE_DIR: join(dir, 'cache'), PLANTSYNC_LOG_FORMAT: 'json' } });
  t.after(() => agent.kill('SIGKILL'));
  let log = '';
  agent.stdout.on('data', (c: Buffer) => (log += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no admin URL in the log: ${log}`)), 30_000);
    agent.stdout.on('data', () => {
      const m = /"url":"(http:[^"]+)".*admin HTTP listening/.exec(log);
      if (m) (clearTimeout(timer), resolve(m[1]!));
    });
  });
  for (const [path, marker] of [['/', '<title>plantsync</title>'], ['/page/app.js', 'refreshHistory'], ['/page/uPlot.iife.min.js', 'uPlot']] as const) {
    const res = await fetch(`${url}${path}`);
    assert.equal(res.status, 200, path);
    assert.ok((await res.text()).includes(marker), path);
  }
  agent.kill('SIGTERM');
  await new Promise((r) => agent.once('exit', r));

  const dashV = await binary(dir, '--version');
  assert.equal(dashV.code, 0, dashV.stderr);
  assert.match(dashV.stdout, /^plantsync \d+\.\d+\.\d+ \(node v24\./);
});
