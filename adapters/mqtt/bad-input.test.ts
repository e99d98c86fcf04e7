// Rogue input on a real broker: whatever one message is, it becomes that message's rejected record, and the
// messages after it are committed and acknowledged. Identities beyond 2^53 stay exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { Agent } from '../../agent/agent.ts';
import type { ConfigInput } from '../../agent/config.ts';
import { tempDir, until } from '../../test/helpers.ts';
import { startBroker, uniquePrefix } from './sim/test-broker.ts';
import { config } from './sim/test-kit.ts';
import { spoolOf } from '../../agent/inspect.ts';

async function start(t: import('node:test').TestContext) {
  const broker = await startBroker(t);
  const prefix = uniquePrefix();
  const agent = new Agent({ config: config(tempDir(t), broker, prefix, [`${prefix}/#`]), configVersion: 'bad-input', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(1000));
  await until(() => agent.sources.get('hall2')!.status().connected, 'source connected');
  await new Promise((r) => setTimeout(r, 200)); // subscription in place
  const p = await connectAsync(broker.url, { protocolVersion: broker.protocolVersion });
  t.after(() => p.endAsync());
  return { agent, prefix, p };
}

const keys = (agent: Agent) => spoolOf(agent).db.prepare('SELECT idem FROM events ORDER BY seq').pluck().all() as string[];

test('a payload nested 10,000 levels is that message\'s rejected record with its original bytes; later messages are committed and acknowledged', async (t) => {
  const { agent, prefix, p } = await start(t);
  const deepObject = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
  const deepArray = '['.repeat(10_000) + ']'.repeat(10_000);
  const justDeep = `{"seq":7,"order":"Auftrag-Größe","good":1,"x":${'['.repeat(65)}${']'.repeat(65)}}`;
  await p.publishAsync(`${prefix}/unmapped/junk`, deepObject, { qos: 1 });
  await p.publishAsync(`${prefix}/machines/PRESS-01/count`, deepArray, { qos: 1 });
  await p.publishAsync(`${prefix}/machines/PRESS-01/count`, justDeep, { qos: 1 });
  for (let i = 1; i <= 3; i++) await p.publishAsync(`${prefix}/machines/PRESS-01/count`, JSON.stringify({ seq: i, order: 'Заказ-4711', good: 2 }), { qos: 1 });
  await until(() => keys(agent).length === 3, () => `the three good messages committed (have ${keys(agent).length})`);
  const rejected = spoolOf(agent).admin.listRejected({});
  assert.equal(rejected.length, 3);
  const byAddress = (suffix: string) => rejected.filter((r) => r.address.endsWith(suffix));
  const [junk] = byAddress('/unmapped/junk');
  assert.equal(junk!.payload.toString(), deepObject, 'the original bytes, not a re-serialized value');
  assert.match(junk!.reason, /nested deeper than 64 levels/);
  const deep = byAddress('/count');
  assert.equal(deep.length, 2);
  assert.ok(deep.every((r) => /nested deeper than 64 levels/.test(r.reason)), 'deeper than the limit, mapped topic or not');
  assert.deepEqual(deep.map((r) => r.payload.toString()).sort(), [deepArray, justDeep].sort());
  // The source keeps flowing: one more message after the junk is committed too.
  await p.publishAsync(`${prefix}/machines/PRESS-01/count`, JSON.stringify({ seq: 4, order: '订单-1001', good: 1 }), { qos: 1 });
  await until(() => keys(agent).length === 4, 'a later message committed');
});

test('sequence numbers beyond 2^53 keep their exact digits: 2^53+1 and 2^53+2 are two events, never one duplicate', async (t) => {
  const { agent, prefix, p } = await start(t);
  // Written as raw JSON text: these numbers have no exact double, and JSON.parse alone rounds both to 2^53.
  for (const seq of ['9007199254740993', '9007199254740994', '18446744073709551615']) {
    await p.publishAsync(`${prefix}/machines/PRESS-01/count`, `{"seq":${seq},"order":"PO-4711","good":1}`, { qos: 1 });
  }
  await until(() => keys(agent).length === 3, () => `three events (have ${keys(agent).join(', ')})`);
  assert.deepEqual(keys(agent), ['1000/hall2/PRESS-01/9007199254740993', '1000/hall2/PRESS-01/9007199254740994', '1000/hall2/PRESS-01/18446744073709551615']);
  assert.equal(spoolOf(agent).counter('duplicates'), 0);
});

test('a flood of 400 junk messages of 200 KB on an unmapped topic stays within the rejected records\' budget; a real confirmation after it is committed and acknowledged', async (t) => {
  const broker = await startBroker(t);
  const prefix = uniquePrefix();
  const cfg = config(tempDir(t), broker, prefix, [`${prefix}/#`]);
  cfg.spool = { capBytes: 16 * 1024 * 1024, rejected: { maxBytes: 4 * 1024 * 1024, maxRecords: 10_000 } };
  const agent = new Agent({ config: cfg, configVersion: 'flood', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(1000));
  await until(() => agent.sources.get('hall2')!.status().connected, 'source connected');
  await new Promise((r) => setTimeout(r, 200));
  const p = await connectAsync(broker.url, { protocolVersion: broker.protocolVersion });
  t.after(() => p.endAsync());
  const junk = Buffer.alloc(200 * 1024, 'Ж');
  for (let i = 0; i < 400; i += 50) await Promise.all(Array.from({ length: 50 }, () => p.publishAsync(`${prefix}/unmapped/junk`, junk, { qos: 1 })));
  await until(() => agent.sources.get('hall2')!.status().received >= 400, 'the flood arrived');
  await p.publishAsync(`${prefix}/machines/PRESS-01/count`, JSON.stringify({ seq: 1, order: 'Auftrag-Größe', good: 5 }), { qos: 1 });
  await until(() => keys(agent).length === 1, 'the production confirmation is committed');
  const budget = spoolOf(agent).admin.rejectedBudget;
  assert.ok(budget.bytes <= 4 * 1024 * 1024, `rejected records within their budget (${budget.bytes} bytes)`);
  assert.ok(spoolOf(agent).counter('rejected_evicted') > 0, 'the oldest were evicted, and counted');
  assert.equal(budget.records, spoolOf(agent).admin.countRejected());
  assert.equal(spoolOf(agent).maintenance.fullness().full, false, 'business events were never refused');
  const metrics = await agent.metrics.registry.metrics();
  assert.match(metrics, /plantsync_rejected_evicted [1-9]/);
});

test('MQTT 5: the source tells the broker its maximum packet size, so a message far over maxPayloadBytes is never sent to it', async (t) => {
  const broker = await startBroker(t);
  if (broker.protocolVersion !== 5) return t.skip('needs an MQTT 5 broker (the Mosquitto pass of .ci/run)');
  const prefix = uniquePrefix();
  const cfg = config(tempDir(t), broker, prefix, [`${prefix}/#`]);
  (cfg.sources!.hall2 as { maxPayloadBytes?: number }).maxPayloadBytes = 1000;
  const agent = new Agent({ config: cfg, configVersion: 'max-packet', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(1000));
  await until(() => agent.sources.get('hall2')!.status().connected, 'source connected');
  await new Promise((r) => setTimeout(r, 200));
  const p = await connectAsync(broker.url, { protocolVersion: 5 });
  t.after(() => p.endAsync());
  await p.publishAsync(`${prefix}/machines/PRESS-01/count`, Buffer.alloc(200_000, 'x'), { qos: 1 });
  await p.publishAsync(`${prefix}/machines/PRESS-01/count`, JSON.stringify({ seq: 1, order: '订单-1', good: 1 }), { qos: 1 });
  await until(() => keys(agent).length === 1, 'the next message is committed');
  assert.equal(agent.sources.get('hall2')!.status().received, 1, 'the oversized message never reached the agent');
  assert.equal(agent.sources.get('hall2')!.status().connected, true);
});
