// Admin requests against a running agent's listener: every request is checked against its schema before anything
// runs. A typo in the action once dropped every dead letter of every sink.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Agent } from './agent.ts';
import type { AgentConfig } from './config.ts';
import type { MemorySink } from '../adapters/memory/sink.ts';
import { confirmation } from '../adapters/erp-http/test-kit.ts';
import { tempDir, until } from '../test/helpers.ts';

test('an unknown admin action or field is a 400 that touches nothing; a valid request still works', async (t) => {
  const config: AgentConfig = {
    agent: { id: 'gw-admin', plant: '1000', stateDir: tempDir(t) },
    admin: { port: 0 },
    sinks: { erp: { type: 'memory' } },
    routes: [{ sink: 'erp', types: '*', onReject: 'skip' }],
  } as AgentConfig;
  const agent = new Agent({ config, configVersion: 'v1', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(1000));
  const erp = (agent.sinks.get('erp') as MemorySink).receiver;
  const drafts = [confirmation(1, 'Auftrag-Größe'), confirmation(2, 'Заказ-1001')];
  for (const d of drafts) erp.rejectEvent(`1000/press-01/${d.key}`, 'order closed');
  await agent.ingest(drafts);
  await until(() => agent.sinkStatus('erp').deadLetters === 2, 'two dead letters');
  const post = (path: string, body: unknown) =>
    fetch(`${agent.adminUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${agent.adminToken}` }, body: JSON.stringify(body) });
  const typo = await post('/dlq', { action: 'lsit', filter: {}, reason: 'x' });
  assert.equal(typo.status, 400);
  assert.match(((await typo.json()) as { error: string }).error, /\/action/);
  const unknownField = await post('/dlq', { action: 'drop', filter: { sinkk: 'erp' }, reason: 'x' });
  assert.equal(unknownField.status, 400);
  assert.match(((await unknownField.json()) as { error: string }).error, /filter\/sinkk: unknown field/);
  const rejectedTypo = await post('/rejected', { action: 'dorp', filter: {}, reason: 'x' });
  assert.equal(rejectedTypo.status, 400);
  const replayTypo = await post('/replay', { sink: 'erp', sincee: 0, reason: 'x' });
  assert.equal(replayTypo.status, 400);
  assert.equal(agent.sinkStatus('erp').deadLetters, 2, 'nothing was touched');
  const list = await post('/dlq', { action: 'list', filter: { sink: 'erp' } });
  assert.equal(list.status, 200);
  assert.equal(((await list.json()) as { deadLetters: unknown[] }).deadLetters.length, 2);
});
