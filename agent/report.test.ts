// `plantsync report`: a real agent posts to erp-sim (some late, one rejected and replayed by a person, input it could
// not map, then dropped by a person); the report counts them per sink and type with their latency against the
// objective, the people's actions and their reasons, the rejected input and how long it waited; the same figures after a restart, from the running agent and
// from the stopped agent's spool, as a table, JSON and CSV.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent } from './agent.ts';
import type { ConfigInput } from './config.ts';
import type { Report } from './report.ts';
import { confirmation, simResponse, startSim } from '../adapters/erp-http/sim/test-kit.ts';
import { plantsync } from '../cli/test-kit.ts';
import { tempDir, until } from '../test/helpers.ts';

test('the report counts postings per sink and type, their latency against the objective, dead letters, what people did and rejected input; after a restart too', async (t) => {
  const erp = await startSim(t);
  const dir = tempDir(t);
  const cfg: ConfigInput = {
    agent: { id: 'gw-report', plant: '1000', stateDir: dir },
    admin: { enabled: false },
    sinks: { erp: { type: 'erp-http', url: `${erp.url}/batch`, response: simResponse, delivery: { backoff: { baseMs: 20, capMs: 50 } } } },
    routes: [{ sink: 'erp', types: '*', onReject: 'park' }],
    objectives: { latencySeconds: { 'production.confirmation': 30 } },
  };
  const configPath = join(dir, 'plantsync.json');
  writeFileSync(configPath, JSON.stringify(cfg));
  const since = Date.now() - 1000;
  let agent = new Agent({ config: cfg, configVersion: 'v1', log: pino({ level: 'silent' }) });
  t.after(() => agent.stop(1000));
  await agent.start();

  // Eight confirmations made 2 s ago (within 30 s), two made 2 minutes ago (late: the PLC's buffer after a cut).
  const at = (ago: number) => Date.now() - ago;
  const drafts = [
    ...Array.from({ length: 8 }, (_, i) => ({ ...confirmation(i + 1, `Auftrag-${4711 + i}`), occurredAt: at(2_000) })),
    ...[9, 10].map((n) => ({ ...confirmation(n, `Заказ-${n}`), occurredAt: at(120_000) })),
  ];
  erp.reject('1000/press-01/seq-11', 422, 'Fertigungsauftrag 工单-11 ist technisch abgeschlossen');
  await agent.ingest([...drafts, { ...confirmation(11, '工单-11'), occurredAt: at(2_000) }]);
  await agent.ingestMessages([{ source: { adapter: 'mqtt', id: 'press-mqtt' }, address: 'plants/1000/machines/PRESS-01/count', payload: { counter: '18446744073709551615' }, receivedAt: new Date() }]);
  await until(() => erp.counters.accepted === 10 && agent.sinkStatus('erp').deadLetters === 1, () => JSON.stringify(erp.counters));
  erp.accept();
  assert.equal(agent.dlq({ action: 'replay', filter: { sink: 'erp' }, reason: 'Auftrag wieder geöffnet (Ticket 4711)', actor: 'meister' }).count, 1);
  await until(() => erp.counters.accepted === 11, 'the replayed dead letter booked');
  await until(() => agent.sinkStatus('erp').pending + agent.sinkStatus('erp').inFlight === 0, 'settled');
  // The unmappable counter message: looked at and dropped by a person (a test message from commissioning).
  assert.equal((await agent.rejected({ action: 'drop', filter: { source: 'press-mqtt' }, reason: 'Testnachricht der Inbetriebnahme', actor: 'meister' })).count, 1);

  const check = (r: Report, where: string) => {
    assert.equal(r.lines.length, 1, where);
    const l = r.lines[0]!;
    assert.deepEqual([l.sink, l.type, l.delivered, l.deadLetters, l.replayed, l.dropped, l.objectiveSec], ['erp', 'production.confirmation', 11, 1, 1, 0, 30], where);
    assert.ok(l.p50Sec! >= 2 && l.p50Sec! < 10, `${where}: p50 ${l.p50Sec}`);
    assert.ok(l.p95Sec! >= 120 && l.p95Sec! <= l.maxSec!, `${where}: p95 ${l.p95Sec} max ${l.maxSec}`);
    assert.ok(l.maxSec! >= 120 && l.maxSec! < 135, `${where}: max ${l.maxSec}`);
    assert.equal(l.withinObjective, Math.round((9 / 11) * 1000) / 1000, `${where}: 9 of 11 within 30 s`);
    assert.ok(l.resolutionMaxSec !== null && l.resolutionMaxSec < 60, where);
    assert.equal(r.eventsIn, 11, where);
    assert.deepEqual(r.interventions.map((i) => [i.action, i.reason, i.actions, i.events]).sort(), [
      ['dlq.replay', 'Auftrag wieder geöffnet (Ticket 4711)', 1, 1],
      ['rejected.drop', 'Testnachricht der Inbetriebnahme', 1, 1],
    ], where);
    const mqtt = r.rejected.find((s) => s.source === 'press-mqtt')!;
    assert.deepEqual([mqtt.rejected, mqtt.replayed, mqtt.dropped], [1, 0, 1], where);
    assert.ok(mqtt.resolutionMaxSec !== null && mqtt.resolutionMaxSec < 60, where);
    assert.equal(mqtt.reasons.length, 0, `${where}: the dropped record is gone; its count stays in the history`);
  };
  check(agent.report({ since }), 'running');
  await agent.stop(1000);

  agent = new Agent({ config: cfg, configVersion: 'v1', log: pino({ level: 'silent' }) });
  await agent.start();
  check(agent.report({ since }), 'after a restart');
  await agent.stop(1000);

  // Offline, from the spool file: JSON, the table and CSV.
  const json = await plantsync('report', '--config', configPath, '--since', '1h', '--json');
  assert.equal(json.code, 0, json.stderr);
  check(JSON.parse(json.stdout) as Report, 'offline');
  const table = (await plantsync('report', '--config', configPath, '--since', new Date(since).toISOString())).stdout;
  assert.match(table, /^sink +type +postings +p50 +p95 +max +objective +within +dead +replayed +dropped +waited p50 +waited max$/m);
  assert.match(table, /^erp +production\.confirmation +11 .* 30 s +81\.8 % +1 +1 +0 /m);
  assert.match(table, /dlq\.replay +1 actions, +1 events +why: Auftrag wieder geöffnet \(Ticket 4711\)/);
  assert.match(table, /press-mqtt: \d+ messages received, 1 rejected; 0 replayed, 1 dropped \(waited p50 [\d.]+ s, max [\d.]+ s\)/);
  const csv = (await plantsync('report', '--config', configPath, '--since', '1h', '--csv')).stdout.split('\r\n');
  assert.equal(csv[0], 'sink,type,delivered,p50Sec,p95Sec,maxSec,objectiveSec,withinObjective,deadLetters,replayed,dropped,resolutionP50Sec,resolutionMaxSec');
  assert.match(csv[1]!, /^erp,production\.confirmation,11,[\d.]+,[\d.]+,[\d.]+,30,0\.818,1,1,0,[\d.]+,[\d.]+$/);
  const bad = await plantsync('report', '--config', configPath, '--since', '1h', '--until', '2h');
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--since .* must be before --until/);
});
