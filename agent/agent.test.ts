import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Agent } from './agent.ts';
import type { ConfigInput } from './config.ts';
import { PressLine } from './demo/press-line.ts';
import type { MemorySink } from '../adapters/memory/sink.ts';
import { tempDir, until } from '../test/helpers.ts';
import { spoolOf } from './inspect.ts';

function config(stateDir: string): ConfigInput {
  return {
    agent: { id: 'gw-test', plant: '1000', stateDir },
    admin: { port: 0 }, // never the default port in a test
    sinks: { erp: { type: 'memory', delivery: { concurrency: 2, maxEvents: 50, backoff: { baseMs: 5, capMs: 20 } } } },
    routes: [{ sink: 'erp', types: '*', onReject: 'park' }],
  };
}

test('ingest commits valid events, records invalid ones as rejected, and the ERP gets each event once', async (t) => {
  const dir = tempDir(t);
  const agent = new Agent({ config: config(dir), configVersion: 'test-1', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(1000));
  const erp = (agent.sinks.get('erp') as MemorySink).receiver;
  const line = new PressLine('1000', 'L1', () => 0.5);
  const drafts = Array.from({ length: 20 }, () => line.cycle()).flat();
  const bad = { ...drafts[0]!, key: 'seq-bad', payload: { order: '1' } };
  const r1 = await agent.ingest([...drafts, bad]);
  assert.deepEqual(r1, { accepted: drafts.length, duplicates: 0, rejected: 1 });
  const r2 = await agent.ingest(drafts.slice(0, 5)); // the machine resends
  assert.deepEqual(r2, { accepted: 0, duplicates: 5, rejected: 0 });
  await until(() => erp.counters.accepted === drafts.length, 'all delivered');
  assert.equal(erp.counters.outOfOrder, 0);
  const [rej] = spoolOf(agent).admin.listRejected();
  assert.match(rej!.reason, /^\/payload/);
  assert.equal(rej!.source, 'press-line-sim');
  const status = agent.sinkStatus('erp');
  assert.equal(status.delivered, drafts.length);
  assert.equal(status.pending, 0);
});

test('the agent restarts on its spool and delivers what the last run left', async (t) => {
  const dir = tempDir(t);
  const log = pino({ level: 'silent' });
  const first = new Agent({ config: config(dir), configVersion: 'v1', log });
  await first.start();
  const erp1 = (first.sinks.get('erp') as MemorySink).receiver;
  erp1.downFor(60_000);
  const line = new PressLine('1000', 'L1', () => 0.5);
  const drafts = Array.from({ length: 10 }, () => line.cycle()).flat();
  await first.ingest(drafts);
  await first.stop(100);
  const second = new Agent({ config: config(dir), configVersion: 'v1', log });
  await second.start();
  t.after(() => second.stop(1000));
  const erp2 = (second.sinks.get('erp') as MemorySink).receiver;
  await until(() => erp2.counters.accepted === drafts.length, 'backlog delivered after restart');
});

test('source messages are mapped by the config rules; unmappable ones become rejected records with a payload copy', async (t) => {
  const dir = tempDir(t);
  const cfg = config(dir);
  cfg.mappings = [
    {
      name: 'count',
      topic: 'plants/{plant}/machines/{machine}/count',
      emit: [
        {
          type: 'production.confirmation',
          key: '{{topic.machine}}/{{payload.seq}}',
          orderingKey: '{{payload.order}}/{{payload.op}}',
          occurredAt: 'payload.ts',
          payload: { order: '{{payload.order}}', operation: '{{payload.op}}', workCenter: '{{topic.machine}}', yield: '{{payload.good}}', scrap: 0, unit: 'PC', final: false },
        },
      ],
    },
  ];
  const agent = new Agent({ config: cfg, configVersion: 'v1', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(1000));
  const erp = (agent.sinks.get('erp') as MemorySink).receiver;
  const msg = (seq: number, good: unknown, address = 'plants/1000/machines/PRESS-01/count') => ({
    source: { adapter: 'mqtt', id: 'broker-1' },
    address,
    payload: { seq, ts: '2026-11-27T06:00:00Z', order: '1000451', op: '0010', good },
    receivedAt: new Date(),
  });
  const r = await agent.ingestMessages([msg(1, 4), msg(2, -3), msg(3, 4, 'plants/1000/machines/PRESS-01/alarm'), msg(1, 4)]);
  assert.deepEqual(r, { accepted: 1, duplicates: 1, rejected: 2 });
  await until(() => erp.counters.accepted === 1, 'delivered');
  const rejected = spoolOf(agent).admin.listRejected();
  assert.deepEqual(rejected.map((x) => x.reason), ["no mapping rule matches source 'broker-1' address 'plants/1000/machines/PRESS-01/alarm'", '/payload/yield: must be >= 0']);
  assert.equal(JSON.parse(rejected[1]!.payload.toString()).good, -3);
});

test('a flood of bad input is stored and counted in full, but logged once per source per 10 s', async (t) => {
  const lines: { msg: string; source?: string; alsoRejectedSinceLastLine?: number }[] = [];
  const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(JSON.parse(l) as (typeof lines)[number]) });
  const cfg = { ...config(tempDir(t)), mappings: [] } as ConfigInput;
  const agent = new Agent({ config: cfg, configVersion: 'v1', log });
  await agent.start();
  t.after(() => agent.stop(1000));
  const msgs = Array.from({ length: 500 }, (_, i) => ({ source: { adapter: 'mqtt', id: 'broker-1' }, address: `x/${i}`, payload: { i }, receivedAt: new Date() }));
  await agent.ingestMessages(msgs.slice(0, 250));
  await agent.ingestMessages(msgs.slice(250));
  assert.equal(spoolOf(agent).admin.listRejected({ limit: 1000 }).length, 500, 'every one stored');
  assert.equal(await agent.metrics.value('plantsync_rejected_inputs_total', { source: 'broker-1' }), 500, 'every one counted');
  assert.equal(lines.filter((l) => l.msg === 'input rejected').length, 1, 'one log line');
});

test('one message never blocks intake: values without original bytes (OPC UA) that are too deep, cyclic or hold a BigInt where a number is due are rejected alone', async (t) => {
  const dir = tempDir(t);
  const cfg: ConfigInput = {
    ...config(dir),
    mappings: [{ name: 'press', source: 'press', emit: [{ type: 'production.confirmation', key: '{{payload.key}}', orderingKey: '{{payload.order}}/0010',
      payload: { order: '{{payload.order}}', operation: '0010', workCenter: 'PRESS-01', yield: '{{payload.good}}', scrap: 0, unit: 'PC', final: false } }] }],
  } as ConfigInput;
  const agent = new Agent({ config: cfg, configVersion: 'v1', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(1000));
  let deep: unknown = 1;
  for (let i = 0; i < 10_000; i++) deep = { v: deep };
  const cyclic: Record<string, unknown> = { key: 'k-cyclic', order: 'Auftrag-Größe', good: 1 };
  cyclic.self = cyclic;
  const msg = (payload: unknown) => ({ source: { adapter: 'opcua', id: 'press' }, address: 'ns=2;s=Press.Count', payload, receivedAt: new Date() });
  const r = await agent.ingestMessages([
    msg({ key: 'k-deep', order: 'PO-1', good: 1, read: deep }),
    msg(cyclic),
    msg({ key: 'k-big', order: 'PO-1', good: 2n ** 64n }),
    msg({ key: 'k-ok', order: '订单-1001', good: 3 }),
  ]);
  assert.deepEqual(r, { accepted: 1, duplicates: 0, rejected: 3 });
  const reasons = spoolOf(agent).admin.listRejected().map((x) => x.reason);
  // A cycle is as deep as it gets: it meets the same limit instead of overflowing the stack.
  assert.deepEqual(reasons.slice(0, 2).map((x) => /nested deeper than 64 levels/.test(x)), [true, true]);
  assert.match(reasons[2]!, /\/payload\/yield/);
});
