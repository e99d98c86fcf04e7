import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Agent } from './agent.ts';
import { agentStatus } from './admin-http.ts';
import type { ConfigInput } from './config.ts';
import type { EventDraft } from './events.ts';
import { confirmation, simResponse, startSim } from '../adapters/erp-http/sim/test-kit.ts';
import { sleep, tempDir, until } from '../test/helpers.ts';

function hold(n: number, occurredAt = Date.now()): EventDraft {
  return {
    type: 'quality.hold',
    key: `hold-${n}`,
    orderingKey: `LOT-${n}`,
    plant: '1000',
    occurredAt,
    source: { adapter: 'test', id: 'qms-station', address: 'test' },
    payload: { lot: `LOT-${n}`, characteristic: 'bore diameter', decision: 'hold' },
  };
}

test('a type waiting longer than its objective makes the agent not ready; late acknowledgements are counted; growing dead letters too', async (t) => {
  const erp = await startSim(t);
  const cfg: ConfigInput = {
    agent: { id: 'gw-slo', plant: '1000', stateDir: tempDir(t) },
    admin: { enabled: false },
    sinks: { erp: { type: 'erp-http', url: `${erp.url}/batch`, response: simResponse, delivery: { backoff: { baseMs: 20, capMs: 50 } } } },
    routes: [{ sink: 'erp', types: '*', onReject: 'skip' }],
    objectives: { latencySeconds: { 'quality.hold': 0.3, '*': 60 } },
  };
  const agent = new Agent({ config: cfg, configVersion: 'v1', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(1000));
  const later = (ms: number) => Date.now() + ms; // past the view's 5 s cache

  // The ERP is down: the hold waits past its 0.3 s objective; the confirmation is well within its 60 s.
  erp.setFault({ mode: 'status', status: 503 });
  await agent.ingest([hold(1), confirmation(1)]);
  await sleep(400);
  const st = agentStatus(agent);
  assert.equal(st.ready, false);
  assert.equal(st.notReady.length, 1, st.notReady.join('; '));
  assert.match(st.notReady[0]!, /^sink 'erp': the oldest waiting quality\.hold is [\d.]+ s old \(objective 0\.3 s\)$/);

  // Status shows the sink's circuit breaker, opened by the failing requests.
  await until(() => agentStatus(agent).sinks.erp!.breaker === 'open', 'breaker open in status');

  // The ERP is back: both post; the hold was late, and that is counted, not a breach any more.
  erp.setFault(undefined);
  await until(() => erp.counters.accepted === 2, 'both posted');
  // Booked at the ERP is not yet settled in the agent: wait until the sink owes nothing, in flight included.
  await until(() => {
    const st = agent.sinkStatus('erp');
    return st.pending + st.held + st.waitingBatches + st.inFlightBatches === 0;
  }, () => JSON.stringify(agent.sinkStatus('erp')));
  const v = agent.objectives.view(later(6000));
  assert.deepEqual(v.breached, []);
  assert.deepEqual(v.recentMisses.map((m) => [m.sink, m.type, m.count, m.objectiveSec]), [['erp', 'quality.hold', 1, 0.3]]);
  assert.equal(await agent.metrics.value('plantsync_objective_missed_total', { sink: 'erp', type: 'quality.hold' }), 1);
  const metrics = await agent.metrics.registry.metrics();
  assert.match(metrics, /^plantsync_objective_latency_seconds\{type="quality\.hold"\} 0\.3$/m);
  assert.match(metrics, /^plantsync_sink_backlog_events\{sink="erp"\} 0$/m);

  // The ERP rejects a confirmation: a dead letter appears, and while they grow the agent is not ready.
  erp.reject('1000/qms-station/seq-2', 422, 'order closed');
  await agent.ingest([{ ...confirmation(2), source: { adapter: 'test', id: 'qms-station', address: 'test' } }]);
  await until(() => agent.sinkStatus('erp').deadLetters === 1, 'dead letter');
  assert.deepEqual(agent.objectives.view(later(12_000)).breached, ["sink 'erp': dead letters growing (+1 in the last 15 min; 1 waiting)"]);
  assert.match(metrics, /plantsync_sink_dead_letters\{sink="erp"\} 0/);
  assert.match(await agent.metrics.registry.metrics(), /^plantsync_sink_dead_letters\{sink="erp"\} 1$/m);
});

test('without objectives nothing is judged: a long wait is only a backlog', async (t) => {
  const erp = await startSim(t);
  const agent = new Agent({
    config: { agent: { id: 'gw-slo2', plant: '1000', stateDir: tempDir(t) }, admin: { enabled: false }, sinks: { erp: { type: 'erp-http', url: `${erp.url}/batch`, response: simResponse } }, routes: [{ sink: 'erp', types: '*' }] },
    configVersion: 'v1',
    log: pino({ level: 'silent' }),
  });
  await agent.start();
  t.after(() => agent.stop(1000));
  erp.setFault({ mode: 'status', status: 503 });
  await agent.ingest([hold(1, Date.now() - 3600_000)]);
  assert.equal(agentStatus(agent).ready, true);
  assert.deepEqual(agent.objectives.view().recentMisses, []);
});
