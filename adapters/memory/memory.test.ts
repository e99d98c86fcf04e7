import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemorySink } from './sink.ts';
import { parseConfig } from '../../agent/config.ts';
import type { Batch } from '../../agent/adapter-kit.ts';

function batch(events: [seq: number, key: string, okey: string][]): Batch {
  return {
    id: 1,
    key: 'b',
    attempt: 0,
    resend: false,
    events: events.map(([seq, idempotencyKey, orderingKey]) => ({ seq, idempotencyKey, orderingKey, correlationId: idempotencyKey, type: 'scrap', occurredAt: 0, appendedAt: 0, body: '{}' })),
  };
}

test('the receiver books each idempotency key once and answers a repeat with the same document number', async () => {
  const sink = new MemorySink('erp', { type: 'memory' });
  const signal = new AbortController().signal;
  const first = await sink.deliver(batch([[1, 'k1', 'A'], [2, 'k2', 'A']]), signal);
  const again = await sink.deliver(batch([[1, 'k1', 'A']]), signal);
  assert.equal(first.kind, 'delivered');
  assert.equal(again.kind, 'delivered');
  assert.equal(again.kind === 'delivered' && again.receipts?.[0], first.kind === 'delivered' && first.receipts?.[0]);
  assert.deepEqual({ ...sink.receiver.counters }, { batches: 2, received: 3, accepted: 2, duplicates: 1, outOfOrder: 0, rejected: 0, faults: 0 });
});

test('the receiver counts events that arrive out of order for their key', async () => {
  const sink = new MemorySink('erp', { type: 'memory' });
  await sink.deliver(batch([[5, 'k5', 'A'], [3, 'k3', 'A'], [4, 'k4', 'B']]), new AbortController().signal);
  assert.equal(sink.receiver.counters.outOfOrder, 1);
});

test('a rejected item refuses the later items of its key in the batch, and faults come as retry or reject', async () => {
  const sink = new MemorySink('erp', { type: 'memory' });
  const signal = new AbortController().signal;
  sink.receiver.rejectEvent('k1', 'order closed');
  const r = await sink.deliver(batch([[1, 'k1', 'A'], [2, 'k2', 'A'], [3, 'k3', 'B']]), signal);
  assert.equal(r.kind, 'partial');
  assert.deepEqual(r.kind === 'partial' && r.results.map((x) => x.kind), ['rejected', 'rejected', 'delivered']);
  sink.receiver.inject({ kind: 'unavailable', retryAfterMs: 1500 });
  sink.receiver.inject({ kind: 'reject', status: 400, reason: 'bad batch' });
  assert.deepEqual(await sink.deliver(batch([[9, 'k9', 'C']]), signal), { kind: 'retry', error: 'injected 503', retryAfterMs: 1500 });
  assert.deepEqual(await sink.deliver(batch([[9, 'k9', 'C']]), signal), { kind: 'rejected', status: 400, reason: 'bad batch' });
});

test('the sample config in the README is valid', () => {
  const md = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
  const sample = JSON.parse(/```json\n([\s\S]*?)```/.exec(md)![1]!);
  const cfg = { agent: { id: 'gw', plant: '1000', stateDir: '/tmp/x' }, ...sample, routes: [{ sink: 'erp', types: '*' }] };
  assert.doesNotThrow(() => parseConfig(JSON.stringify(cfg), 'adapters/memory/README.md'));
});
