// `plantsync rejected` and `plantsync replay` on a real agent process, a real MQTT broker and erp-sim: a message no
// rule maps is rejected; after a mapping fix rolled out as a conf.d fragment, `rejected replay` turns it into an
// event (on the spool file while the agent is stopped); `replay` re-sends delivered events after an "ERP restore".
import { test } from 'node:test';
import { shortened } from './rejected.ts';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { startBroker, uniquePrefix } from '../adapters/mqtt/sim/test-broker.ts';
import { simResponse, startSim } from '../adapters/erp-http/sim/test-kit.ts';
import type { RejectedView } from '../agent/rejected-ops.ts';
import { Spool } from '../spool/spool.ts';
import { tempDir, until } from '../test/helpers.ts';
import { freePort, plantsync, runAgent } from './test-kit.ts';

test('rejected list/replay/drop and replay of delivered events, offline and through the running agent, audited', async (t) => {
  const dir = tempDir(t);
  const broker = await startBroker(t);
  const erp = await startSim(t);
  const prefix = uniquePrefix();
  const config = join(dir, 'plantsync.json');
  mkdirSync(join(dir, 'conf.d'));
  writeFileSync(
    config,
    JSON.stringify({
      agent: { id: 'gw-rejected', plant: '1000', stateDir: dir },
      admin: { port: await freePort() },
      sources: { hall: { type: 'mqtt', url: broker.url, protocolVersion: broker.protocolVersion, clientId: `rej-${process.pid}`, subscriptions: [{ topic: `${prefix}/#`, qos: 1 }] } },
      sinks: { erp: { type: 'erp-http', url: `${erp.url}/batch`, response: simResponse } },
      routes: [{ sink: 'erp', types: '*' }],
      mappings: [],
    }),
  );
  const machine = await connectAsync(broker.url, { clientId: `rej-machine-${process.pid}` });
  t.after(() => machine.endAsync());

  // No rule yet: the scrap message becomes a rejected record.
  let agent = runAgent(t, config);
  await until(() => agent.log().includes('"msg":"subscribed"'), 'subscribed', 20_000);
  await machine.publishAsync(`${prefix}/lines/L1/scrap`, JSON.stringify({ id: 'sc-7', qty: 3, reason: 'SC-BURR' }), { qos: 1 });
  await until(() => agent.log().includes('"msg":"input rejected"'), 'rejected', 10_000);
  const stopped = new Promise((r) => agent.proc.once('exit', r));
  agent.proc.kill('SIGTERM');
  await stopped;

  const list = JSON.parse((await plantsync('rejected', 'list', '--config', config, '--json')).stdout) as RejectedView[];
  assert.equal(list.length, 1);
  assert.equal(list[0]!.address, `${prefix}/lines/L1/scrap`);
  assert.match(list[0]!.reason, /no mapping rule/i);
  const table = (await plantsync('rejected', 'list', '--config', config)).stdout;
  assert.ok(table.includes(shortened(`${prefix}/lines/L1/scrap`, 60)) && table.includes('/lines/L1/scrap'), `the table shows the topic's end: ${table}`);
  const show = JSON.parse((await plantsync('rejected', 'show', String(list[0]!.id), '--config', config)).stdout) as RejectedView;
  assert.deepEqual(JSON.parse(show.payload), { id: 'sc-7', qty: 3, reason: 'SC-BURR' });
  const noFix = await plantsync('rejected', 'replay', '--config', config, '--reason', 'try', '--dry-run');
  assert.match(noFix.stdout, /dry run: 0 rejected records would become events with the current mapping; 1 would stay rejected\n {2}#\d+: .*no mapping rule/i);

  // The fix arrives as a fragment; replayed on the spool file (the agent is stopped).
  const rule = { name: 'scrap', topic: `${prefix}/lines/{line}/scrap`, emit: [{ type: 'scrap', key: '{{payload.id}}', orderingKey: '{{topic.line}}/scrap', payload: { quantity: '{{payload.qty}}', unit: 'PC', reasonCode: '{{payload.reason}}' } }] };
  writeFileSync(join(dir, 'conf.d', '10-scrap.json'), JSON.stringify({ mappings: [rule] }));
  assert.match((await plantsync('rejected', 'replay', '--config', config, '--reason', 'try', '--dry-run')).stdout, /dry run: 1 rejected records would become events/);
  assert.equal((await plantsync('rejected', 'replay', '--config', config, '--yes')).code, 2, 'no reason');
  const replayed = await plantsync('rejected', 'replay', '--config', config, '--reason', 'scrap rule added', '--yes');
  assert.equal(replayed.code, 0, replayed.stderr);
  assert.match(replayed.stdout, /^1 rejected records replayed into events; 0 still rejected; audit: "scrap rule added"/);

  // The agent starts and posts it.
  agent = runAgent(t, config);
  await until(() => erp.counters.accepted === 1, 'the replayed scrap is posted', 20_000);
  assert.equal(erp.booked[0]!.idempotencyKey, '1000/hall/sc-7');
  await until(() => agent.log().includes('"msg":"subscribed"'), 'subscribed', 20_000);

  // Through the running agent: a rejected record dropped, delivered events re-sent after an "ERP restore".
  await machine.publishAsync(`${prefix}/lines/L1/unknown`, 'not json', { qos: 1 });
  await until(() => agent.log().includes('"msg":"input rejected"'), 'rejected again', 10_000);
  // The source's line and the summary count the same records (those in the spool), after a restart and a replay too.
  const status = (await plantsync('status', '--config', config)).stdout;
  const onLine = /^ {2}hall .* rejected records (\d+)$/m.exec(status)?.[1];
  const total = /^rejected records (\d+)$/m.exec(status)?.[1];
  assert.ok(onLine !== undefined && onLine === total && Number(total) >= 1, status);
  const dropped = await plantsync('rejected', 'drop', '--config', config, '--source', 'hall', '--error', 'malformed JSON', '--reason', 'test noise', '--yes');
  assert.match(dropped.stdout, /^1 rejected records dropped; audit: "test noise"/);
  const since = new Date(Date.now() - 3600_000).toISOString();
  const dry = await plantsync('replay', '--config', config, '--sink', 'erp', '--since', since, '--dry-run');
  assert.match(dry.stdout + dry.stderr, /dry run: 1 delivered events of sink 'erp' that occurred since .* would be sent again/);
  assert.equal((await plantsync('replay', '--config', config, '--sink', 'nope', '--since', since, '--reason', 'x', '--yes')).code, 2);
  const again = await plantsync('replay', '--config', config, '--sink', 'erp', '--since', since, '--type', 'scrap', '--reason', 'ERP restored from last night', '--yes');
  assert.match(again.stdout, /^1 delivered events back in line for sink 'erp'/);
  await until(() => erp.counters.duplicates === 1, 'the ERP recognises the re-sent scrap by its key', 10_000);
  assert.equal(erp.counters.accepted, 1, 'posted once in effect');

  const exited = new Promise((r) => agent.proc.once('exit', r));
  agent.proc.kill('SIGTERM');
  await exited;
  const spool = Spool.open({ path: join(dir, 'spool.db'), routes: [] });
  t.after(() => spool.close());
  assert.deepEqual(
    spool.admin.auditLog().map((a) => [a.action, a.count, a.reason]),
    [['replay', 1, 'ERP restored from last night'], ['rejected.drop', 1, 'test noise'], ['rejected.replay', 1, 'scrap rule added']],
  );
});

test('a large rejected replay runs in pages with progress, past the records that still fail', async (t) => {
  const dir = tempDir(t);
  const config = join(dir, 'plantsync.json');
  const rule = { name: 'scrap', topic: 'lines/{line}/scrap', emit: [{ type: 'scrap', key: '{{payload.id}}', orderingKey: '{{topic.line}}/scrap', payload: { quantity: '{{payload.qty}}', unit: 'PC', reasonCode: 'SC' } }] };
  writeFileSync(
    config,
    JSON.stringify({
      agent: { id: 'gw-pages', plant: '1000', stateDir: dir },
      admin: { enabled: false },
      sources: { hall: { type: 'mqtt', url: 'mqtt://127.0.0.1:9', subscriptions: [{ topic: 'lines/#', qos: 1 }] } },
      sinks: { erp: { type: 'memory' } },
      routes: [{ sink: 'erp', types: '*' }],
      mappings: [rule],
    }),
  );
  const spool = Spool.open({ path: join(dir, 'spool.db'), routes: [] });
  // 2,500 that the rule maps, and after every 1,000 of them one it cannot map.
  spool.admin.addRejected(
    Array.from({ length: 2502 }, (_, i) =>
      i % 1001 === 1000 ? { source: 'hall', address: 'lines/L1/unknown', reason: 'no rule', payload: '{}' } : { source: 'hall', address: 'lines/L1/scrap', reason: 'no rule', payload: JSON.stringify({ id: `sc-${i}`, qty: 1 }) },
    ),
  );
  spool.close();
  const r = await plantsync('rejected', 'replay', '--config', config, '--reason', 'scrap rule', '--yes');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^2500 rejected records replayed into events; 2 still rejected/);
  assert.match(r.stderr, /^ {2}1000 of 2502\n {2}2000 of 2502\n {2}2502 of 2502\n$/);
  const after = Spool.open({ path: join(dir, 'spool.db'), routes: [] });
  t.after(() => after.close());
  assert.equal(after.admin.countRejected(), 2);
  after.sinkNames();
  assert.equal(after.stats('erp').pending, 2500);
});

test('a long topic in the rejected table keeps its start and its end (the machine), joined by …', () => {
  const topic = 'plantsync/werk-2/halle-3/linie-4/станок-пресс-07/订单/scrap';
  assert.equal(shortened(topic, 100), topic);
  const s = shortened(`${topic}/${'x'.repeat(40)}/PRESSE-07`, 60);
  assert.equal(s.length, 60);
  assert.ok(s.startsWith('plantsync/werk-2/halle-') && s.endsWith('/PRESSE-07') && s.includes('…'), s);
});
