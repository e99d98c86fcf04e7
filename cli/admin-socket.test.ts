// The operator's tools cannot break the promises: admin requests go over a Unix socket in the state directory
// (found through the config, guarded by file permissions, the peer's OS user audited), every request is checked
// against its schema, read-only commands never create anything, and a stuck key can be taken out of the flow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent } from '../agent/agent.ts';
import type { ConfigInput } from '../agent/config.ts';
import { adminSocketPath } from '../agent/peer-proof.ts';
import type { MemorySink } from '../adapters/memory/sink.ts';
import { confirmation, simResponse, startSim } from '../adapters/erp-http/sim/test-kit.ts';
import { tempDir, until } from '../test/helpers.ts';
import { askAgent } from './admin-client.ts';
import { plantsync } from './test-kit.ts';
import { spoolOf } from '../agent/inspect.ts';

async function start(t: import('node:test').TestContext, id: string, sinks: ConfigInput['sinks'] = { erp: { type: 'memory' } }) {
  const dir = tempDir(t);
  const config = { agent: { id, plant: '1000', stateDir: dir }, admin: { port: 0 }, sinks, routes: [{ sink: 'erp', types: '*', onReject: 'park' }] } as ConfigInput;
  const file = join(dir, 'plantsync.json');
  writeFileSync(file, JSON.stringify(config));
  const agent = new Agent({ config, configVersion: 'v1', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(500));
  return { agent, config: agent.config, file };
}

test('an unknown action or field is a 400 that touches nothing; a request without a peer proof is refused; the audit log names the OS user', async (t) => {
  const { agent, config } = await start(t, 'gw-socket');
  const erp = (agent.sinks.get('erp') as MemorySink).receiver;
  const drafts = [confirmation(1, 'Auftrag-Größe'), confirmation(2, 'Заказ-1001')];
  for (const d of drafts) erp.rejectEvent(`1000/press-01/${d.key}`, 'order closed');
  await agent.ingest(drafts);
  await until(() => agent.sinkStatus('erp').deadLetters === 2, 'two dead letters');
  await assert.rejects(askAgent(config, 'POST', '/dlq', { action: 'lsit', filter: {}, reason: 'x' }), (e: Error & { usage?: boolean }) => e.usage === true && /\/action/.test(e.message));
  await assert.rejects(askAgent(config, 'POST', '/dlq', { action: 'drop', filter: { sinkk: 'erp' }, reason: 'x' }), /\/filter\/sinkk: unknown field/);
  await assert.rejects(askAgent(config, 'POST', '/rejected', { action: 'dorp', filter: {}, reason: 'x' }), /\/action/);
  await assert.rejects(askAgent(config, 'POST', '/replay', { sink: 'erp', sincee: 0, reason: 'x' }), /sincee/);
  assert.equal(agent.sinkStatus('erp').deadLetters, 2, 'nothing was touched');
  // Without a peer proof (a raw request on the socket): refused, nothing touched.
  const raw = await new Promise<number>((resolve, reject) => {
    const req = request({ socketPath: adminSocketPath(config.agent.stateDir), path: '/dlq', method: 'POST' }, (res) => (res.resume(), resolve(res.statusCode ?? 0)));
    req.on('error', reject);
    req.end(JSON.stringify({ action: 'drop', filter: {}, reason: 'no proof' }));
  });
  assert.equal(raw, 403);
  // The TCP listener takes no changes at all.
  assert.equal((await fetch(`${agent.adminUrl}/dlq`, { method: 'POST', body: '{}' })).status, 405);
  const r = await askAgent<{ count: number }>(config, 'POST', '/dlq', { action: 'drop', filter: { sink: 'erp' }, reason: 'posted by hand', actor: 'mallory@cli' });
  assert.equal(r?.count, 2);
  const [entry] = spoolOf(agent).admin.auditLog(1);
  assert.equal(entry!.actor, `${userInfo().username} (says mallory@cli)`, 'the kernel-vouched OS user, with what the client claimed');
});

test('two configs on one machine: each CLI call reaches the agent of its own state directory', async (t) => {
  const a = await start(t, 'gw-hall-1');
  const b = await start(t, 'gw-hall-2');
  const sa = JSON.parse((await plantsync('status', '--config', a.file, '--json')).stdout) as { agentId: string };
  const sb = JSON.parse((await plantsync('status', '--config', b.file, '--json')).stdout) as { agentId: string };
  assert.deepEqual([sa.agentId, sb.agentId], ['gw-hall-1', 'gw-hall-2']);
});

test('read-only commands never create a state folder or a spool; a wrong state directory is named', async (t) => {
  const dir = tempDir(t);
  const missing = join(dir, 'no-such-state');
  const file = join(dir, 'plantsync.json');
  writeFileSync(file, JSON.stringify({ agent: { id: 'gw', plant: '1000', stateDir: missing }, sinks: { erp: { type: 'memory' } }, routes: [{ sink: 'erp', types: '*' }] }));
  const status = await plantsync('status', '--config', file);
  assert.equal(status.code, 3);
  assert.match(status.stdout, /no state directory .*no-such-state: is agent\.stateDir in the config right/);
  for (const args of [['dlq', 'list'], ['rejected', 'list'], ['keys', 'list', '--sink', 'erp']]) {
    const r = await plantsync(...args, '--config', file);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, /no state directory/, args.join(' '));
  }
  assert.equal(existsSync(missing), false, 'nothing was created');
});

test('a stuck key can be taken out of the flow: its pending events become dead letters (audited), the other keys flow, and a later drop lets it go on in order', async (t) => {
  const sim = await startSim(t);
  const { agent, config, file } = await start(t, 'gw-keys', { erp: { type: 'erp-http', url: `${sim.url}/batch`, response: simResponse, delivery: { backoff: { baseMs: 20, capMs: 100 } } } } as ConfigInput['sinks']);
  const stuck = confirmation(1, '订单-STUCK');
  sim.failItem(`1000/press-01/${stuck.key}`, 1_000_000); // "locked by another user", for ever
  await agent.ingest([stuck, confirmation(2, '订单-STUCK'), confirmation(3, 'PO-OK')]);
  await until(() => sim.counters.accepted === 1, 'the other key flows');
  const listed = await askAgent<{ keys: { orderingKey: string; retrying?: { attempts: number; lastError: string } }[] }>(config, 'POST', '/keys', { action: 'list', sink: 'erp' });
  const k = listed!.keys.find((x) => x.orderingKey === '订单-STUCK/0010');
  assert.ok(k?.retrying && k.retrying.attempts >= 1, JSON.stringify(listed));
  assert.match(k.retrying.lastError, /temporarily locked/);
  // The key is retried every 20-100 ms: an evict that meets a batch of it in flight is refused with "try again in
  // a moment" (nothing changed), and the operator tries again.
  let r: { count: number } | undefined;
  for (let i = 0; !r; i++) {
    assert.ok(i < 100, 'the evict went through within a second');
    try {
      r = await askAgent<{ count: number }>(config, 'POST', '/keys', { action: 'evict', sink: 'erp', orderingKey: '订单-STUCK/0010', reason: 'order locked in ERP, ticket 4711' });
    } catch (err) {
      if (!/being delivered right now; try again/.test((err as Error).message)) throw err;
      await new Promise((res) => setTimeout(res, 10));
    }
  }
  assert.equal(r?.count, 2);
  const st = agent.sinkStatus('erp');
  assert.deepEqual([st.deadLetters, st.parkedKeys, st.pending + st.held, st.waitingBatches], [2, 1, 0, 0]);
  assert.match(spoolOf(agent).admin.listDead()[0]!.reason, /taken out of the flow by .*: order locked in ERP, ticket 4711/);
  assert.equal(spoolOf(agent).admin.auditLog(1)[0]!.action, 'keys.evict');
  // Later events of the key wait behind its dead letters; dropping the first one lets the next go.
  await agent.ingest([confirmation(4, '订单-STUCK')]);
  await until(() => agent.sinkStatus('erp').held === 1, 'the later event is held behind the parked key');
  assert.match((await plantsync('status', '--config', file)).stdout, /erp +backlog 1 .*\[1 parked key, 1 held behind them\]/, 'status shows parked keys and held events');
  await askAgent(config, 'POST', '/dlq', { action: 'drop', filter: { sink: 'erp', seq: 1 }, reason: 'posted by hand' });
  sim.failItem(`1000/press-01/${stuck.key}`, 0);
  await askAgent(config, 'POST', '/dlq', { action: 'replay', filter: { sink: 'erp' }, reason: 'lock released' });
  await until(() => sim.counters.accepted === 3, () => `the key goes on (accepted ${sim.counters.accepted})`);
  assert.equal(sim.counters.outOfOrder, 0);
});
