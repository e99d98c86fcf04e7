// `plantsync run` and the CLI against spool faults a gateway really has: a file damaged while running stops the
// agent with exit 1 (and the next start moves it aside), and a permission problem says so and who to run as.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Spool } from '../spool/spool.ts';
import { tempDir, until } from '../test/helpers.ts';
import { damagedSpool, routes } from '../test/spool-damage.ts';
import { main, runAgent } from './test-kit.ts';


test('a spool damaged where the running agent reads it: one fatal line, exit 1; the next start moves the file aside and runs', async (t) => {
  const dir = tempDir(t);
  await damagedSpool(dir, 'outbox');
  const config = join(dir, 'plantsync.json');
  writeFileSync(config, JSON.stringify({ agent: { id: 'gw-corrupt', plant: '1000', stateDir: dir }, admin: { enabled: false }, sinks: { erp: { type: 'memory' } }, routes }));
  const first = runAgent(t, config);
  const code = await new Promise<number | null>((r) => first.proc.once('exit', r));
  assert.equal(code, 1);
  assert.match(first.log(), /"level":60.*spool file is damaged/);
  const second = runAgent(t, config);
  await until(() => second.log().includes('agent started'), () => `second start (log: ${second.log().slice(-500)})`, 20_000);
  assert.match(second.log(), /quarantined/);
  assert.equal(readdirSync(dir).filter((f) => f.includes('.corrupt-')).length, 1);
});

/** Why the CLI cannot be run as 'nobody' here (not root, or a checkout 'nobody' may not enter), else undefined. */
function cannotRunAsNobody(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to run the CLI as another user';
  const r = spawnSync(process.execPath, ['-e', `require('node:fs').accessSync(${JSON.stringify(main)})`], { uid: 65534, gid: 65534 });
  return r.error || r.status !== 0 ? `user 'nobody' cannot run ${process.execPath} on ${main} (a checkout in a private folder)` : undefined;
}

test('a user who may not read the state directory is told "permission denied" and who to run as, never "in use by another agent"', { skip: cannotRunAsNobody() ?? false }, async (t) => {
  const dir = tempDir(t);
  chmodSync(dir, 0o755); // the config is readable by everyone; the state directory is not
  const state = join(dir, 'state');
  mkdirSync(state, { mode: 0o700 });
  const s = Spool.open({ path: join(state, 'spool.db'), routes });
  s.close();
  const config = join(dir, 'plantsync.json');
  writeFileSync(config, JSON.stringify({ agent: { id: 'gw-perm', plant: '1000', stateDir: state }, sinks: { erp: { type: 'memory' } }, routes }), { mode: 0o644 });
  for (const args of [['status'], ['dlq', 'list']]) {
    const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
      // As 'nobody' (65534): the state directory is root's, mode 0700.
      const p = spawn(process.execPath, [main, ...args, '--config', config], { uid: 65534, gid: 65534, env: { ...process.env, HOME: '/tmp' } });
      let text = '';
      p.stdout.on('data', (d: Buffer) => (text += d.toString()));
      p.stderr.on('data', (d: Buffer) => (text += d.toString()));
      p.on('exit', (code) => resolve({ code, text }));
    });
    assert.notEqual(out.code, 0, args.join(' '));
    assert.match(out.text, /permission denied.*run as the agent's user/, `${args.join(' ')}: ${out.text}`);
    assert.doesNotMatch(out.text, /in use by another/);
  }
});
