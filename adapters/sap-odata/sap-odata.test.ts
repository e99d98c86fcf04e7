// The SAP OData v2 sink against the SAP simulator over real HTTP, inside a whole agent: CSRF (and its expiry),
// $batch changesets that fail alone, SAP's errors classified (a lock retried, a closed order dead-lettered),
// document numbers as receipts, and the unknown-outcome lookup that keeps a lost answer from booking twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spoolOf } from '../../agent/inspect.ts';
import { until } from '../../test/helpers.ts';
import { bookedYields, confirmation, consumption, ORDERS, sapSinkConfig, startSapAgent, startSapSim } from './sim/test-kit.ts';

const receipts = (agent: Parameters<typeof spoolOf>[0]) => spoolOf(agent).db.prepare('SELECT receipt FROM receipts ORDER BY seq').pluck().all() as string[];

test('confirmations and goods issues book one changeset each, SAP document numbers become receipts; an expired CSRF token is fetched again mid-run', async (t) => {
  const sim = await startSapSim(t);
  const agent = await startSapAgent(t, sapSinkConfig(sim));
  const first = ORDERS.flatMap((o) => [confirmation(1, o), consumption(1, o)]);
  await agent.ingest(first);
  await until(() => sim.counters.booked === 6, () => `six booked (have ${sim.counters.booked}; ${agent.sinkStatus('s4').lastError})`);
  sim.expireTokens(); // the session timed out at SAP
  await agent.ingest(ORDERS.map((o) => confirmation(2, o)));
  // Booked at SAP, and settled in the agent (the receipts are stored by the settle).
  await until(() => sim.counters.booked === 9 && agent.sinkStatus('s4').delivered === 9, () => `nine booked and settled (have ${sim.counters.booked}; ${agent.sinkStatus('s4').lastError})`);
  assert.ok(sim.counters.csrfRefused >= 1, 'the expired token was refused once');
  assert.ok(sim.counters.tokensIssued >= 3, 'a token per service, and a fresh one after the expiry');
  assert.equal(agent.sinkStatus('s4').deadLetters, 0);
  const r = receipts(agent);
  assert.equal(r.length, 9);
  assert.ok(r.some((x) => /^\d{7}\/1$/.test(x)), `confirmation receipts are ConfirmationGroup/ConfirmationCount: ${r.join(' ')}`);
  assert.ok(r.some((x) => /^49\d{8}\/2026$/.test(x)), `goods issue receipts are MaterialDocument/Year: ${r.join(' ')}`);
  const doc = sim.booked.find((d) => d.entitySet === 'A_MaterialDocumentHeader')!;
  assert.equal((doc.body.to_MaterialDocumentItem as { GoodsMovementType: string }[])[0]!.GoodsMovementType, '261');
  assert.match(String(doc.body.MaterialDocumentHeaderText), /^PS [\w-]{22}$/, 'our reference, for the unknown-outcome lookup');
  assert.deepEqual(bookedYields(sim).get('Заказ-1001'), [1, 2]);
});

test('a movement booked in error is taken back: a reversal posts the reversal movement type (262 for a goods issue, 102 for a receipt)', async (t) => {
  const sim = await startSapSim(t);
  const agent = await startSapAgent(t, sapSinkConfig(sim));
  const issue = consumption(1, 'Auftrag-4711');
  const back = { ...consumption(2, 'Auftrag-4711'), payload: { ...issue.payload, reversal: true } };
  const receipt = { type: 'goods.receipt' as const, key: 'gr-1', orderingKey: 'Auftrag-4711/receipt', plant: '1000', occurredAt: Date.UTC(2026, 11, 1, 7), source: { adapter: 'test', id: 'pallet-01', address: 'DataReady' }, payload: { material: 'Halter-Ф12', quantity: 40, unit: 'ST', order: 'Auftrag-4711', reversal: true } };
  await agent.ingest([issue, back, receipt]);
  await until(() => sim.counters.booked === 3, () => `three booked (${sim.counters.booked}; ${agent.sinkStatus('s4').lastError})`);
  const types = sim.booked.map((d) => (d.body.to_MaterialDocumentItem as { GoodsMovementType: string }[])[0]!.GoodsMovementType).sort();
  assert.deepEqual(types, ['102', '261', '262']);
});

test('a changeset failing in a batch does not stop the others: a closed order is dead-lettered with SAP\'s message, a locked one is retried and then booked', async (t) => {
  const sim = await startSapSim(t);
  sim.closeOrder('订单-2002', 'Auftrag 订单-2002 ist bereits abgeschlossen');
  sim.lockOrder('Заказ-1001', 2); // "currently being processed by user PLANNER01", twice
  const agent = await startSapAgent(t, sapSinkConfig(sim));
  await agent.ingest(ORDERS.map((o) => confirmation(1, o)));
  await until(() => sim.counters.booked === 2 && agent.sinkStatus('s4').deadLetters === 1, () => `two booked, one dead letter (booked ${sim.counters.booked}, ${JSON.stringify(agent.sinkStatus('s4'))})`);
  const [dead] = agent.dlq({ action: 'list', filter: {} }).deadLetters ?? [];
  assert.match(dead!.reason, /HTTP 400 SIMCO\/101: Auftrag 订单-2002 ist bereits abgeschlossen/);
  assert.deepEqual([...bookedYields(sim).keys()].sort(), ['Auftrag-4711', 'Заказ-1001'].sort());
  assert.ok(agent.sinkStatus('s4').retried >= 2, 'the lock was retried');
  // The closed order's later confirmation waits behind its dead letter (parked), never overtakes it.
  await agent.ingest([confirmation(2, '订单-2002')]);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(bookedYields(sim).get('订单-2002'), undefined);
});

test('the answer is lost after SAP booked the batch: before sending again the sink looks the events up, settles them with SAP\'s document numbers, and nothing is booked twice', async (t) => {
  const sim = await startSapSim(t);
  sim.fault({ kind: 'drop-after-commit' });
  const agent = await startSapAgent(t, sapSinkConfig(sim));
  const drafts = ORDERS.flatMap((o) => [confirmation(1, o), consumption(1, o)]);
  await agent.ingest(drafts);
  await until(() => agent.sinkStatus('s4').delivered === drafts.length, () => `all settled (${JSON.stringify(agent.sinkStatus('s4'))})`);
  assert.equal(sim.counters.answersDropped, 1);
  assert.equal(sim.counters.booked, drafts.length, 'each booked once');
  assert.equal(sim.counters.bookedTwice, 0);
  // The lost answer was the confirmations' $batch (the first service); the goods issues were answered. Exactly the
  // three whose outcome was unknown were looked up, and found.
  assert.equal(sim.counters.lookups, ORDERS.length, 'the events of the lost answer were looked up before anything went again');
  assert.equal(receipts(agent).filter(Boolean).length, drafts.length, 'the found documents are the receipts');
});

test('with RequestID on (and the lookup off), a $batch SAP already executed is answered from SAP\'s own de-duplication', async (t) => {
  const sim = await startSapSim(t, { requestIdDedup: true });
  sim.fault({ kind: 'status', status: 503, retryAfterSec: 0 }, { kind: 'drop-after-commit' });
  const agent = await startSapAgent(t, sapSinkConfig(sim, { requestId: true, lookup: false }));
  await agent.ingest(ORDERS.map((o) => confirmation(1, o)));
  await until(() => agent.sinkStatus('s4').delivered === 3, () => `all settled (${JSON.stringify(agent.sinkStatus('s4'))})`);
  assert.equal(sim.counters.booked, 3);
  assert.equal(sim.counters.bookedTwice, 0);
  assert.equal(sim.counters.replayedByRequestId, 1, 'the lost answer came back from SAP\'s record of the RequestID');
  assert.equal(await agent.metrics.value('plantsync_sink_requests_total', { sink: 's4', outcome: 'repeatability_accepted' }), 1);
});
