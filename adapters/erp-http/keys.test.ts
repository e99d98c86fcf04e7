// Business keys in any script reach the ERP exactly (in the body) and safely (in headers), in both request shapes,
// through the agent; a request that cannot be built is that event's dead letter and never moves the breaker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Agent } from '../../agent/agent.ts';
import type { ConfigInput } from '../../agent/config.ts';
import { tempDir, until } from '../../test/helpers.ts';
import { classifyError } from './classify.ts';
import { headerValue, type ErpHttpSink } from './sink.ts';
import { confirmation, simResponse, startSim } from './sim/test-kit.ts';
import { spoolOf } from '../../agent/inspect.ts';

// German, Cyrillic, Chinese order numbers, a '%', and one that tries to inject a header with CR/LF.
const ORDERS = ['Auftrag-Größe-4711', 'Заказ-1001', '订单-2002', 'PO-100%', 'PO-1\r\nX-Evil: 1'];

async function agentWith(t: import('node:test').TestContext, sink: Record<string, unknown>) {
  const config = {
    agent: { id: 'gw', plant: '1000', stateDir: tempDir(t) },
    admin: { port: 0 }, // never the default port in a test
    sinks: { erp: { type: 'erp-http', ...sink, protect: { breakerFailures: 2, breakerOpenMs: 50 }, delivery: { backoff: { baseMs: 10, capMs: 50 } } } },
    routes: [{ sink: 'erp', types: '*', onReject: 'park' }],
  } as ConfigInput;
  const agent = new Agent({ config, configVersion: 't', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(1000));
  return agent;
}

for (const mode of ['batch', 'routes'] as const) {
  test(`${mode} mode: ordering keys in any script are delivered exactly in the body, percent-encoded in headers, and CR/LF injects no header`, async (t) => {
    const sim = await startSim(t);
    const seen = sim.requestHeaders;
    const agent = await agentWith(t, mode === 'batch'
      ? { url: `${sim.url}/batch`, response: simResponse }
      : { url: sim.url, mode: 'routes', routes: { 'production.confirmation': { url: '/confirm', body: { order: '{{payload.order}}', key: '{{idempotencyKey}}' } } } });
    const drafts = ORDERS.flatMap((o, i) => [confirmation(i * 2, o), confirmation(i * 2 + 1, o)]).map((d, i) => ({ ...d, correlationId: `${ORDERS[i >> 1]}/Lauf-${i}` }));
    await agent.ingest(drafts);
    await until(() => sim.counters.accepted === drafts.length, () => `all booked (have ${sim.counters.accepted}; last error ${agent.sinkStatus('erp').lastError})`);
    assert.deepEqual([...new Set(sim.booked.map((b) => b.orderingKey))].sort(), ORDERS.map((o) => `${o}/0010`).sort(), 'keys arrive exactly as they are');
    assert.equal(sim.counters.outOfOrder, 0);
    assert.equal(agent.sinkStatus('erp').deadLetters, 0);
    assert.ok(seen.length > 0 && seen.every((h) => h['x-evil'] === undefined), 'no injected header');
    const okeys = seen.map((h) => String(h['x-plantsync-ordering-key']));
    assert.ok(okeys.every((k) => /^[\x21-\x7e]+$/.test(k)), `headers are printable ASCII: ${okeys.join(' ')}`);
    if (mode === 'routes') {
      // Each event's correlation id (the spool's column, not a search through the body) in its request's header.
      const wanted = drafts.map((d) => headerValue(d.correlationId!)).sort();
      assert.deepEqual(seen.map((h) => String(h['x-correlation-id'])).sort(), wanted);
    }
  });
}

test('header values: printable ASCII as it is; anything else percent-encoded, so an encoded value never equals a literal one', () => {
  assert.equal(headerValue('1000/press-01/seq-42'), '1000/press-01/seq-42');
  assert.equal(headerValue('Заказ-1001/0010'), encodeURIComponent('Заказ-1001/0010'));
  assert.equal(headerValue('PO-100%'), 'PO-100%25');
  assert.equal(headerValue('PO-100%25'), 'PO-100%2525', 'a literal %25 is not mistaken for an encoded %');
  assert.equal(headerValue('a\r\nb'), 'a%0D%0Ab');
});

test('a request that cannot be built for one event (its URL) is that event\'s dead letter; one the sink\'s own headers break is a retry, never dead letters; the breaker stays closed', async (t) => {
  const sinkWide = classifyError(Object.assign(new Error('invalid x-foo header'), { code: 'UND_ERR_INVALID_ARG' }));
  assert.equal(sinkWide.kind === 'retry' && sinkWide.config, true);
  assert.equal(classifyError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).kind, 'retry');
  // A route whose URL template makes an unusable URL for one order: that event is dead-lettered, the rest go.
  const sim = await startSim(t);
  const agent = await agentWith(t, { url: sim.url, mode: 'routes', routes: { 'production.confirmation': { url: 'http://[{{payload.order}}]/confirm', body: { order: '{{payload.order}}' } } } });
  await agent.ingest([confirmation(1, 'A-1'), confirmation(2, 'B-2')]);
  await until(() => agent.sinkStatus('erp').deadLetters === 2, 'both dead-lettered: the URL cannot be built');
  const sink = agent.sinks.get('erp') as ErpHttpSink;
  assert.equal(sink.health().breaker, 'closed');
  assert.match(spoolOf(agent).admin.listDead()[0]!.reason, /template|URL/i);
});

test('a single event the ERP refuses (422) reads as the ERP\'s reason in status, not "partial outcome"', async (t) => {
  const sim = await startSim(t);
  const agent = await agentWith(t, { url: `${sim.url}/batch`, response: simResponse });
  const refused = confirmation(1, 'Auftrag-4711');
  sim.reject(`1000/${refused.source.id}/${refused.key}`, 422, 'Material BRKT-4711 ist gesperrt');
  await agent.ingest([refused]);
  await until(() => agent.sinkStatus('erp').deadLetters === 1, () => `a dead letter (${JSON.stringify(agent.sinkStatus('erp'))})`);
  assert.equal(agent.sinkStatus('erp').lastError, 'HTTP 422: Material BRKT-4711 ist gesperrt (1 rejected of 1)');
});
