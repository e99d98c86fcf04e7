// The sink inside the agent, against the reference receiver: ordering under retries, the breaker, adaptive
// concurrency and rate cap, and an outage compressed in time followed by a paced drain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Agent } from '../../agent/agent.ts';
import type { ConfigInput } from '../../agent/config.ts';
import { sleep, tempDir, until } from '../../test/helpers.ts';
import type { ErpHttpSink } from './sink.ts';
import type { ErpSim } from './sim/erp-sim.ts';
import { batchOf, confirmation, never, openSink, simResponse, startSim } from './sim/test-kit.ts';

async function agentFor(t: import('node:test').TestContext, sim: ErpSim, protect: Record<string, unknown> = {}) {
  const config: ConfigInput = {
    agent: { id: 'gw', plant: '1000', stateDir: tempDir(t) },
    admin: { port: 0 }, // never the default port in a test
    sinks: {
      erp: {
        type: 'erp-http',
        url: `${sim.url}/batch`,
        response: simResponse,
        connections: 4,
        protect: { breakerFailures: 3, breakerOpenMs: 100, breakerMaxOpenMs: 400, ...protect },
        delivery: { concurrency: 4, maxEvents: 100, backoff: { baseMs: 20, capMs: 200 } },
      },
    },
    routes: [{ sink: 'erp', types: '*', onReject: 'park' }],
  };
  const agent = new Agent({ config, configVersion: 't', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(1000));
  return { agent, sink: agent.sinks.get('erp') as ErpHttpSink };
}

test('a retrying event holds back only its own key; every key arrives in order', async (t) => {
  const sim = await startSim(t);
  const { agent } = await agentFor(t, sim);
  const first = confirmation(0, 'A');
  const b = batchOf([first]);
  sim.failItem(b.events[0]!.idempotencyKey, 3); // "order A locked by another user" three times
  await agent.ingest([first]);
  await agent.ingest(Array.from({ length: 60 }, (_, i) => confirmation(i + 1, ['A', 'B', 'C'][i % 3])));
  await until(() => sim.counters.accepted === 61, 'all booked');
  assert.equal(sim.counters.outOfOrder, 0);
  const keys = sim.booked.map((x) => x.orderingKey);
  assert.equal(keys.indexOf('A/0010') > keys.indexOf('B/0010'), true, 'B went ahead while A waited');
  assert.equal(sim.booked.find((x) => x.orderingKey === 'A/0010')!.idempotencyKey, b.events[0]!.idempotencyKey, 'A still starts with its first event');
});

test('the breaker opens after consecutive failures, sends nothing while open, probes, and closes on success', async (t) => {
  const sim = await startSim(t);
  const sink = await openSink(t, { url: `${sim.url}/batch`, protect: { breakerFailures: 3, breakerOpenMs: 300, breakerMaxOpenMs: 1000 } });
  sim.setFault({ mode: 'status', status: 503 });
  for (let i = 0; i < 3; i++) await sink.deliver(batchOf([confirmation(i)]), never);
  assert.equal(sink.pacing.state, 'open');
  assert.equal(sink.pacing.limit, 1, 'drain will start at one request');
  const sent = sim.counters.requests;
  const waiting = sink.deliver(batchOf([confirmation(9)]), never);
  await sleep(150);
  assert.equal(sim.counters.requests, sent, 'nothing sent while open');
  sim.setFault(undefined);
  assert.equal((await waiting).kind, 'delivered', 'the half-open probe went through');
  assert.equal(sink.pacing.state, 'closed');
  for (let i = 0; i < 6; i++) await sink.deliver(batchOf([confirmation(20 + i)]), never);
  assert.ok(sink.pacing.limit > 2, `concurrency grows back additively (${sink.pacing.limit})`);
});

test('a request-rate cap spaces requests out', async (t) => {
  const sim = await startSim(t);
  const sink = await openSink(t, { url: `${sim.url}/batch`, protect: { maxRequestsPerSecond: 20 } });
  await Promise.all(Array.from({ length: 8 }, (_, i) => sink.deliver(batchOf([confirmation(i)]), never)));
  // The rate over the burst, seen at the receiver: single gaps jitter with scheduling on a busy machine (one
  // arrived 25 ms after another whose neighbours came 68 ms apart), the span of 8 requests does not.
  const times = sim.requestTimes;
  const span = times.at(-1)! - times[0]!;
  assert.ok(span >= 7 * 50 * 0.9, `at most 20 requests/s: 8 requests over ${span} ms`);
});

test('an outage compressed in time: events keep spooling, the breaker protects the ERP, the drain is paced, nothing is lost or doubled', async (t) => {
  const sim = await startSim(t, { schedule: [{ atMs: 300, forMs: 1500, fault: { mode: 'down' } }] });
  const { agent, sink } = await agentFor(t, sim);
  const states: string[] = [];
  const report = sink.pacing.onStateChange;
  sink.pacing.onStateChange = (s) => (states.push(s), report(s));
  let n = 0;
  const started = Date.now();
  while (Date.now() - started < 2500) {
    await agent.ingest(Array.from({ length: 20 }, () => confirmation(n++, `PO${n % 25}`)));
    await sleep(10);
  }
  await until(() => sim.counters.accepted === n, `all ${n} events booked`, 30_000);
  assert.equal(new Set(sim.booked.map((b) => b.idempotencyKey)).size, n, 'none booked twice');
  assert.equal(sim.counters.outOfOrder, 0);
  assert.ok(states.includes('open'), 'the breaker opened during the outage');
  assert.equal(states.at(-1), 'closed');
  const outageRequests = sim.requestTimes.filter((at) => at - sim.requestTimes[0]! > 400 && at - sim.requestTimes[0]! < 1700).length;
  assert.ok(outageRequests < 40, `few requests hit the ERP while it was down (${outageRequests})`);
  assert.equal(agent.sinkStatus('erp').pending, 0);
});

test('a Retry-After from the ERP is waited out in full before the batch goes again', async (t) => {
  const sim = await startSim(t);
  const { agent } = await agentFor(t, sim, { breakerFailures: 100 });
  sim.setFault({ mode: 'status', status: 503, retryAfter: '1' }, 200);
  await agent.ingest([confirmation(1)]);
  await until(() => sim.counters.accepted === 1, 'booked after the wait', 10_000);
  const [firstTry, secondTry] = sim.requestTimes;
  assert.ok(secondTry! - firstTry! >= 990, `waited ${secondTry! - firstTry!} ms of the 1000 asked`);
});

test('per-sink metrics: requests by outcome, events by result, latency from source time, breaker state', async (t) => {
  const sim = await startSim(t);
  const { agent } = await agentFor(t, sim, { breakerFailures: 1, breakerOpenMs: 50 });
  const drafts = Array.from({ length: 10 }, (_, i) => confirmation(i));
  sim.reject(batchOf([drafts[9]!]).events[0]!.idempotencyKey, 422, 'bad');
  sim.setFault({ mode: 'status', status: 503 }, 100);
  await agent.ingest(drafts);
  await until(() => sim.counters.accepted === 9, 'nine booked', 10_000);
  await sleep(50);
  const m = agent.metrics;
  assert.equal(await m.value('plantsync_sink_events_total', { sink: 'erp', result: 'delivered' }), 9);
  assert.equal(await m.value('plantsync_sink_events_total', { sink: 'erp', result: 'rejected' }), 1);
  assert.ok((await m.value('plantsync_sink_requests_total', { sink: 'erp', outcome: 'retry' })) >= 1);
  assert.equal(await m.value('plantsync_sink_breaker_state', { sink: 'erp' }), 0);
  const text = await m.registry.metrics();
  assert.match(text, /plantsync_event_latency_seconds_count\{sink="erp",type="production.confirmation"\} 9/);
  assert.match(text, /plantsync_sink_in_flight_batches\{sink="erp"\} 0/);
});
