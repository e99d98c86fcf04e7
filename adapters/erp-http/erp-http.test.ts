// The ERP HTTP sink against the reference receiver over real sockets: every classification path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchOf, confirmation, never, openSink, startSim } from './sim/test-kit.ts';

test('a batch goes out as one request under its idempotency key and comes back with a document number per event', async (t) => {
  const sim = await startSim(t);
  const sink = await openSink(t, { url: `${sim.url}/batch` });
  const b = batchOf([confirmation(1), confirmation(2), confirmation(3)]);
  const out = await sink.deliver(b, never);
  assert.equal(out.kind, 'delivered');
  assert.equal(sim.counters.requests, 1);
  assert.equal(sim.counters.accepted, 3);
  const receipts = out.kind === 'delivered' ? out.receipts! : [];
  assert.deepEqual(receipts, sim.booked.map((x) => x.documentNumber));
  assert.deepEqual(sim.booked.map((x) => x.idempotencyKey), b.events.map((e) => e.idempotencyKey));
  // The same batch again (a retry after a lost answer): the ERP recognises it; same documents, nothing booked twice.
  const again = await sink.deliver(b, never);
  assert.deepEqual(again, { kind: 'delivered', receipts });
  assert.equal(sim.counters.accepted, 3);
  assert.equal(sim.counters.duplicates, 3);
});

test('retryable statuses retry, Retry-After is passed on uncapped, other 4xx reject with status and excerpt', async (t) => {
  const sim = await startSim(t);
  const sink = await openSink(t, { url: `${sim.url}/batch`, protect: { breakerFailures: 1000 } });
  for (const status of [408, 425, 429, 500, 502, 503, 504]) {
    sim.setFault({ mode: 'status', status });
    const out = await sink.deliver(batchOf([confirmation(1)]), never);
    assert.equal(out.kind, 'retry', `HTTP ${status}`);
  }
  sim.setFault({ mode: 'status', status: 503, retryAfter: '7200' });
  assert.deepEqual(await sink.deliver(batchOf([confirmation(1)]), never), { kind: 'retry', error: 'HTTP 503: {"error":"erp-sim fault 503"}', retryAfterMs: 7_200_000 });
  sim.setFault({ mode: 'status', status: 429, retryAfter: new Date(Date.now() + 90_000).toUTCString() });
  const dated = await sink.deliver(batchOf([confirmation(1)]), never);
  assert.ok(dated.kind === 'retry' && dated.retryAfterMs! > 85_000 && dated.retryAfterMs! <= 90_000);
  for (const status of [400, 404, 422]) {
    sim.setFault({ mode: 'status', status, body: `{"error":"order closed ${'x'.repeat(2000)}"}` });
    const out = await sink.deliver(batchOf([confirmation(1)]), never);
    assert.equal(out.kind, 'rejected');
    assert.ok(out.kind === 'rejected' && out.status === status && out.reason.startsWith(`HTTP ${status}: {"error":"order closed`) && out.reason.length < 600);
  }
  assert.equal(sim.counters.accepted, 0);
});

test('connection resets, timeouts and unreadable answers retry', async (t) => {
  const sim = await startSim(t);
  const sink = await openSink(t, { url: `${sim.url}/batch`, timeoutMs: 300, protect: { breakerFailures: 1000 } });
  sim.setFault({ mode: 'down' });
  const reset = await sink.deliver(batchOf([confirmation(1)]), never);
  assert.equal(reset.kind, 'retry');
  sim.setFault({ mode: 'slow', latencyMs: 2000 });
  const slow = await sink.deliver(batchOf([confirmation(1)]), never);
  assert.ok(slow.kind === 'retry' && /timeout|aborted/i.test(slow.error), slow.kind === 'retry' ? slow.error : '');
  sim.setFault({ mode: 'garbage' });
  const garbage = await sink.deliver(batchOf([confirmation(1)]), never);
  assert.ok(garbage.kind === 'retry' && /no per-event results/.test(garbage.error));
});

test('per-event results: a rejected or temporarily failing item settles alone', async (t) => {
  const sim = await startSim(t);
  const sink = await openSink(t, { url: `${sim.url}/batch` });
  const b = batchOf([confirmation(1, 'A'), confirmation(2, 'B'), confirmation(3, 'C')]);
  sim.reject(b.events[1]!.idempotencyKey, 422, 'material BRKT-4711 blocked');
  sim.failItem(b.events[2]!.idempotencyKey, 1);
  const out = await sink.deliver(b, never);
  assert.equal(out.kind, 'partial');
  const r = out.kind === 'partial' ? out.results : [];
  assert.equal(r[0]!.kind, 'delivered');
  assert.ok(r[1]!.kind === 'rejected' && r[1]!.status === 422 && /blocked/.test(r[1]!.reason));
  assert.equal(r[2]!.kind, 'retry');
});

test('erp-sim reject rules are set and cleared over its control API: a rejected event books once the rule is gone (the dead-letter runbook)', async (t) => {
  const sim = await startSim(t);
  const sink = await openSink(t, { url: `${sim.url}/batch` });
  const b = batchOf([confirmation(1, 'Auftrag-4711'), confirmation(2, 'Заказ-1001')]);
  const control = async (path: string, body: object) => (await fetch(`${sim.url}/_sim/${path}`, { method: 'POST', body: JSON.stringify(body) })).json() as Promise<Record<string, unknown>>;
  await control('reject', { idempotencyKey: b.events[0]!.idempotencyKey, status: 422, reason: 'Material gesperrt' });
  await control('reject', { idempotencyKey: b.events[1]!.idempotencyKey });
  const first = await sink.deliver(b, never);
  assert.ok(first.kind === 'rejected' || (first.kind === 'partial' && first.results.every((r) => r.kind === 'rejected')), JSON.stringify(first));
  assert.deepEqual(await control('accept', { idempotencyKey: b.events[0]!.idempotencyKey }), { cleared: 1 });
  const second = await sink.deliver(batchOf([confirmation(1, 'Auftrag-4711')]), never);
  assert.equal(second.kind, 'delivered', 'the first event books once its rule is cleared');
  assert.deepEqual(await control('accept', {}), { cleared: 1 }, 'every remaining rule');
  assert.equal((await sink.deliver(batchOf([confirmation(2, 'Заказ-1001')]), never)).kind, 'delivered');
});

test('routes: one templated request per event, in order, with its own idempotency key; duplicates count as delivered', async (t) => {
  const sim = await startSim(t);
  const sink = await openSink(t, {
    url: sim.url,
    mode: 'routes',
    routes: {
      'production.confirmation': {
        url: '/sap/opu/odata/sap/API_PROD_ORDER_CONFIRMATION_2_SRV/ProdnOrdConf2',
        body: { OrderID: '{{payload.order}}', OrderOperation: '{{payload.operation}}', ConfirmationYieldQuantity: '{{payload.yield | string}}', FinalConfirmationType: '{{payload.final | flag}}' },
      },
    },
    response: { receiptPath: 'documentNumber' },
  });
  const b = batchOf([confirmation(1, 'A'), confirmation(2, 'A'), confirmation(3, 'B')]);
  const out = await sink.deliver(b, never);
  assert.equal(out.kind, 'delivered');
  assert.equal(sim.counters.requests, 3);
  assert.deepEqual(sim.booked.map((x) => x.idempotencyKey), b.events.map((e) => e.idempotencyKey));
  assert.deepEqual(out.kind === 'delivered' && out.receipts, sim.booked.map((x) => x.documentNumber));
  const again = await sink.deliver(b, never);
  assert.equal(again.kind, 'delivered', 'HTTP 409 duplicate means already posted');
  assert.equal(sim.counters.accepted, 3);
  const scrap = batchOf([{ ...confirmation(9), type: 'scrap', payload: { quantity: 1, unit: 'PC', reasonCode: 'X' } }]);
  const none = await sink.deliver(scrap, never);
  const r0 = none.kind === 'partial' ? none.results[0] : undefined;
  assert.ok(r0?.kind === 'rejected' && /no route for event type 'scrap'/.test(r0.reason));
});

test('routes: a key stops at its first failure so it stays in order, other keys go on', async (t) => {
  const sim = await startSim(t);
  const sink = await openSink(t, { url: sim.url, mode: 'routes', routes: { 'production.confirmation': { url: '/confirm', body: { order: '{{payload.order}}' } } } });
  const b = batchOf([confirmation(1, 'A'), confirmation(2, 'A'), confirmation(3, 'B')]);
  sim.reject(b.events[0]!.idempotencyKey, 422, 'closed');
  const out = await sink.deliver(b, never);
  assert.deepEqual(out.kind === 'partial' && out.results.map((r) => r.kind), ['rejected', 'retry', 'delivered']);
  assert.deepEqual(sim.booked.map((x) => x.orderingKey), ['PO3/0010'.replace('PO3', 'B')]);
});

test('every sample config in the README is a valid erp-http sink', async () => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { parseConfig } = await import('../../agent/config.ts');
  const md = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
  const samples = [...md.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!));
  assert.equal(samples.length, 3);
  for (const [i, erp] of samples.entries()) {
    const cfg = { agent: { id: 'gw', plant: '1000', stateDir: '/tmp/x' }, sinks: { erp }, routes: [{ sink: 'erp', types: '*' }] };
    assert.doesNotThrow(() => parseConfig(JSON.stringify(cfg), `README example ${i + 1}`));
  }
});
