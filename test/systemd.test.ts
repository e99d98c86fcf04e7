// The systemd unit and the notify protocol. systemd is not PID 1 on these machines, so the unit is checked
// offline (systemd-analyze verify, which exits 0 even on errors: any output fails) and the agent's READY /
// WATCHDOG / RELOADING / STOPPING messages are read from a real Unix datagram socket given as NOTIFY_SOCKET.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, until } from './helpers.ts';

const root = join(import.meta.dirname, '..');
const unit = join(root, 'systemd', 'plantsync.service');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

test('the unit passes systemd-analyze verify without a word', { skip: !has('systemd-analyze') && 'no systemd-analyze' }, (t) => {
  // verify checks that ExecStart's program exists: point it at the repository's launcher for the check.
  const dir = tempDir(t);
  writeFileSync(join(dir, 'plantsync.service'), readFileSync(unit, 'utf8').replaceAll('/usr/local/bin/plantsync', join(root, 'cli', 'plantsync.js')));
  const r = spawnSync('systemd-analyze', ['verify', join(dir, 'plantsync.service')], { encoding: 'utf8' });
  assert.equal(r.stdout + r.stderr, '');
  const text = readFileSync(unit, 'utf8');
  for (const line of ['Type=notify', 'NotifyAccess=all', 'ExecReload=/bin/kill -HUP $MAINPID', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'Restart=on-failure', 'RestartPreventExitStatus=2']) assert.ok(text.includes(`\n${line}\n`), line);
  assert.doesNotMatch(text, /^MemoryDenyWriteExecute=/m, 'breaks V8');
  assert.match(text, /^ExecStartPre=\/usr\/local\/bin\/plantsync config validate --secrets /m);
});

test('under systemd the agent says READY, pings the watchdog, RELOADING on SIGHUP, STOPPING on SIGTERM', { skip: !(has('python3') && has('systemd-notify')) && 'no python3 or systemd-notify' }, async (t) => {
  const dir = tempDir(t);
  const socket = join(dir, 'notify.sock');
  // A listener on the notify socket, as systemd has: prints each datagram on one line.
  const listener = spawn('python3', ['-u', '-c', `import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("bound")\nwhile True: print(s.recv(4096).decode().replace("\\n"," "))`, socket]);
  t.after(() => listener.kill());
  let got = '';
  listener.stdout.on('data', (d: Buffer) => (got += d.toString()));
  await until(() => got.includes('bound'), 'listener bound');
  const config = join(dir, 'plantsync.json');
  writeFileSync(config, JSON.stringify({ agent: { id: 'gw-notify', plant: '1000', stateDir: dir }, admin: { enabled: false }, sinks: { erp: { type: 'memory' } }, routes: [{ sink: 'erp', types: '*' }] }));
  const agent = spawn(process.execPath, [join(root, 'cli', 'main.ts'), 'run', '--config', config], { env: { ...process.env, NOTIFY_SOCKET: socket, WATCHDOG_USEC: '400000', PLANTSYNC_LOG_FORMAT: 'json' } });
  t.after(() => agent.kill('SIGKILL'));
  await until(() => /READY=1 STATUS=running config [0-9a-f]{12}/.test(got), () => `READY, got ${JSON.stringify(got)}`, 20_000);
  await until(() => got.split('WATCHDOG=1').length > 3, 'three watchdog pings', 5000);
  agent.kill('SIGHUP');
  await until(() => /READY=1[^]*RELOADING=1[^]*READY=1/.test(got), () => `RELOADING then READY again, got ${got}`, 5000);
  const exited = new Promise((r) => agent.once('exit', r));
  agent.kill('SIGTERM');
  assert.equal(await exited, 0);
  await until(() => got.includes('STOPPING=1'), 'STOPPING');
});

test('install.sh stages binary, unit and an example config, keeps an existing config on upgrade; uninstall.sh keeps config and spool unless --purge', (t) => {
  const dest = tempDir(t);
  const env = { ...process.env, DESTDIR: dest };
  const sh = (script: string, ...args: string[]) => spawnSync('bash', [join(root, 'systemd', script), ...args], { env, encoding: 'utf8' });
  const bin = join(root, 'cli', 'plantsync.js');
  let r = sh('install.sh', '--binary', bin);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /installed an example \/etc\/plantsync\/plantsync\.json/);
  assert.equal(readFileSync(join(dest, 'etc/systemd/system/plantsync.service'), 'utf8'), readFileSync(unit, 'utf8'));
  assert.equal(readFileSync(join(dest, 'usr/local/bin/plantsync'), 'utf8'), readFileSync(bin, 'utf8'));
  assert.ok(existsSync(join(dest, 'etc/plantsync/conf.d')));
  assert.deepEqual(readdirSync(join(dest, 'etc/plantsync/conf.d')), [], 'example fragments only on request');
  r = sh('install.sh', '--binary', bin, '--examples');
  assert.deepEqual(readdirSync(join(dest, 'etc/plantsync/conf.d')).sort(), readdirSync(join(root, 'docs/examples/conf.d')).sort(), '--examples installs them');
  writeFileSync(join(dest, 'etc/plantsync/plantsync.json'), '{"edited":true}');
  r = sh('install.sh', '--binary', bin);
  assert.match(r.stdout, /kept the existing/);
  assert.equal(readFileSync(join(dest, 'etc/plantsync/plantsync.json'), 'utf8'), '{"edited":true}');
  assert.equal(sh('install.sh', '--binary', join(dest, 'missing')).status, 2);
  // On the machine itself (no DESTDIR) and without --yes: it says what it would create, and creates nothing.
  const onMachine = spawnSync('bash', [join(root, 'systemd', 'install.sh'), '--binary', bin], { env: { ...process.env, DESTDIR: '' }, encoding: 'utf8' });
  assert.equal(onMachine.status, 2);
  assert.match(onMachine.stderr, /would install plantsync on this machine:[^]*\/usr\/local\/bin\/plantsync[^]*\/etc\/systemd\/system\/plantsync\.service[^]*--yes/);
  mkdirSync(join(dest, 'var/lib/plantsync'), { recursive: true });
  r = sh('uninstall.sh');
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!existsSync(join(dest, 'usr/local/bin/plantsync')) && !existsSync(join(dest, 'etc/systemd/system/plantsync.service')));
  assert.ok(existsSync(join(dest, 'etc/plantsync/plantsync.json')) && existsSync(join(dest, 'var/lib/plantsync')), 'config and spool stay');
  assert.equal(sh('uninstall.sh', '--purge').status, 0);
  assert.ok(!existsSync(join(dest, 'etc/plantsync')) && !existsSync(join(dest, 'var/lib/plantsync')));
});
