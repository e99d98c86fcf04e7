// `plantsync audit`: the audit log with filters, as a table and as JSON, from the spool file of a stopped agent and
// over the admin socket of a running one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { AuditEntry } from '../spool/admin.ts';
import { tempDir, until } from '../test/helpers.ts';
import { plantsync, runAgent } from './test-kit.ts';

test('audit lists who did what, when and why, newest first, filtered by action, user and time; offline and through the running agent', async (t) => {
  const dir = tempDir(t);
  const config = join(dir, 'plantsync.json');
  writeFileSync(config, JSON.stringify({ agent: { id: 'gw-audit', plant: '1000', stateDir: dir }, admin: { enabled: false }, sinks: { erp: { type: 'memory' } }, routes: [{ sink: 'erp', types: '*' }] }));
  const before = Date.now();
  // Through the running agent, over its admin socket.
  const first = runAgent(t, config);
  await until(() => first.log().includes('agent started'), 'agent up', 20_000);
  const dropped = await plantsync('dlq', 'drop', '--config', config, '--sink', 'erp', '--reason', 'Ticket 4711: in SAP von Hand gebucht', '--yes');
  assert.equal(dropped.code, 0, dropped.stderr);
  const stopped = new Promise((r) => first.proc.once('exit', r));
  first.proc.kill('SIGTERM');
  await stopped;
  // Offline: on the spool file, and read back from it.
  const replayed = await plantsync('dlq', 'replay', '--config', config, '--sink', 'erp', '--reason', 'Заказ 1001 разблокирован', '--yes');
  assert.equal(replayed.code, 0, replayed.stderr);
  assert.equal((JSON.parse((await plantsync('audit', '--config', config, '--json')).stdout) as AuditEntry[]).length, 2, 'read from the spool file');
  const { log } = runAgent(t, config);
  await until(() => log().includes('agent started'), 'agent up again', 20_000);

  const all = JSON.parse((await plantsync('audit', '--config', config, '--json')).stdout) as AuditEntry[];
  assert.deepEqual(all.map((e) => [e.action, e.reason]), [['dlq.replay', 'Заказ 1001 разблокирован'], ['dlq.drop', 'Ticket 4711: in SAP von Hand gebucht']], 'newest first');
  assert.ok(all.every((e) => e.actor.includes(userInfo().username) && e.at >= before), JSON.stringify(all));
  const onlyReplays = JSON.parse((await plantsync('audit', '--config', config, '--action', 'dlq.replay', '--json')).stdout) as AuditEntry[];
  assert.equal(onlyReplays.length, 1);
  assert.equal(JSON.parse((await plantsync('audit', '--config', config, '--user', 'nobody-here', '--json')).stdout).length, 0);
  assert.equal(JSON.parse((await plantsync('audit', '--config', config, '--since', new Date(Date.now() + 60_000).toISOString(), '--json')).stdout).length, 0);
  const table = (await plantsync('audit', '--config', config)).stdout;
  assert.match(table, /^when +who +action +events +what +why$/m);
  assert.match(table, /dlq\.drop .* Ticket 4711: in SAP von Hand gebucht$/m);
  const bad = await plantsync('audit', '--config', config, '--since', 'gestern');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--since: 'gestern' is not a time/);
});
