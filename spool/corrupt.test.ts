// A spool damaged after a clean stop (which skips the integrity check): SQLITE_CORRUPT at any point moves the file
// aside or reports it so the agent stops; it never crashes on every start, and never runs on refusing every commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { pino } from 'pino';
import { Spool } from './spool.ts';
import type { SpoolNotice } from './types.ts';
import { Agent } from '../agent/agent.ts';
import type { ConfigInput } from '../agent/config.ts';
import { confirmation } from '../adapters/erp-http/sim/test-kit.ts';
import { record, tempDir } from '../test/helpers.ts';
import { damagedSpool, routes } from '../test/spool-damage.ts';

test('damage the open reads (claims) after a clean stop: the file is moved aside and a fresh spool starts, no crash', async (t) => {
  const dir = tempDir(t);
  const path = await damagedSpool(dir, 'claims', 50, true);
  const notices: SpoolNotice[] = [];
  const s2 = Spool.open({ path, routes, onNotice: (n) => notices.push(n) });
  t.after(() => s2.close());
  assert.ok(notices.some((n) => n.kind === 'quarantined' && /malformed|corrupt/i.test(n.reason)), JSON.stringify(notices));
  assert.equal(readdirSync(dir).filter((f) => f.includes('.corrupt-')).length, 1);
  await s2.append([record(1)]);
  assert.equal(s2.stats('erp').pending, 1);
});

test('damage found while running (outbox) is reported once as corrupt, the file is not marked clean, and the next open moves it aside', async (t) => {
  const dir = tempDir(t);
  const path = await damagedSpool(dir, 'outbox');
  const notices: SpoolNotice[] = [];
  const s2 = Spool.open({ path, routes, onNotice: (n) => notices.push(n) });
  assert.equal(notices.filter((n) => n.kind === 'quarantined').length, 0, 'the open itself reads no outbox page');
  await assert.rejects(s2.append([record(5000)]), /malformed|corrupt/i);
  await assert.rejects(s2.append([record(5001)]), /malformed|corrupt/i);
  assert.equal(notices.filter((n) => n.kind === 'corrupt').length, 1, 'reported once');
  assert.ok(s2.damaged);
  s2.close(); // a graceful stop must not mark it clean again
  const after: SpoolNotice[] = [];
  const s3 = Spool.open({ path, routes, onNotice: (n) => after.push(n) });
  t.after(() => s3.close());
  assert.ok(after.some((n) => n.kind === 'quarantined'), JSON.stringify(after));
  await s3.append([record(1)]);
  assert.equal(s3.stats('erp').pending, 1);
});

test('the agent stops on a damaged spool (onFatal) and is not ready meanwhile', async (t) => {
  const dir = tempDir(t);
  await damagedSpool(dir, 'outbox');
  const config = { agent: { id: 'gw', plant: '1000', stateDir: dir }, admin: { enabled: false }, sinks: { erp: { type: 'memory' } }, routes } as ConfigInput;
  let fatal: Error | undefined;
  const agent = new Agent({ config, configVersion: 'v1', log: pino({ level: 'silent' }), onFatal: (err) => (fatal = err) });
  await agent.start().catch(() => {});
  t.after(() => agent.stop(200));
  await agent.ingest([confirmation(1, 'PO-1')]).catch(() => {});
  assert.match(fatal?.message ?? '', /spool file is damaged/);
  assert.match(agent.readiness().join('\n'), /spool file damaged/);
});
