import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildEvent, eventTypes, validateEvent, type EventDraft } from './events.ts';

const draft: EventDraft = {
  type: 'production.confirmation',
  key: 'seq-0000000042',
  orderingKey: '1000451/0010',
  plant: '1000',
  occurredAt: '2026-11-27T06:14:03.250Z',
  source: { adapter: 'mqtt', id: 'press-01', address: 'plants/1000/lines/L1/events/count' },
  payload: { order: '1000451', operation: '0010', workCenter: 'PRESS-01', yield: 4, scrap: 0, unit: 'PC', final: false },
};

test('the event id and idempotency key are deterministic from the source identity', () => {
  const a = buildEvent(draft, 'v1', new Date('2026-11-27T06:14:04Z'));
  const b = buildEvent(draft, 'v2', new Date('2026-11-27T07:00:00Z'));
  assert.ok(a.ok && b.ok);
  assert.equal(a.event.id, b.event.id, 'a redelivery hours later has the same id');
  assert.equal(a.event.idempotencyKey, '1000/press-01/seq-0000000042');
  const other = buildEvent({ ...draft, plant: '2000' }, 'v1');
  assert.ok(other.ok);
  assert.notEqual(other.event.id, a.event.id, 'another plant never collides');
});

test('priority defaults from the type, and the mapping version is stamped', () => {
  const t = buildEvent({ ...draft, type: 'telemetry', payload: { tag: 'x', value: 1 } }, 'cfg-7');
  assert.ok(t.ok);
  assert.equal(t.event.priority, 'telemetry');
  assert.equal(t.event.mappingVersion, 'cfg-7');
});

test('an invalid draft comes back as a reason naming the path, never as an exception', () => {
  const cases: [Partial<EventDraft>, RegExp][] = [
    [{ payload: { ...draft.payload, yield: -1 } }, /^\/payload\/yield: /],
    [{ payload: { ...draft.payload, order: undefined } }, /^\/payload/],
    [{ occurredAt: 'yesterday' }, /^occurredAt: not a valid time/],
    [{ orderingKey: '' }, /^\/orderingKey: /],
    [{ type: 'invoice' as never }, /^\/type: /],
  ];
  for (const [over, reason] of cases) {
    const r = buildEvent({ ...draft, ...over } as EventDraft, 'v1');
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, reason);
  }
});

test('every example in docs/events.md is valid, and every type has one', () => {
  const md = readFileSync(join(import.meta.dirname, '../docs/events.md'), 'utf8');
  const blocks = [...md.matchAll(/```json (\S+)\n([\s\S]*?)```/g)].map((m) => ({ name: m[1]!, json: JSON.parse(m[2]!) }));
  const envelope = blocks.find((b) => b.name === 'envelope')!.json;
  assert.equal(validateEvent(envelope), undefined);
  for (const type of eventTypes) {
    const block = blocks.find((b) => b.name === type);
    assert.ok(block, `docs/events.md has an example for ${type}`);
    const event = { ...envelope, type, priority: type === 'telemetry' ? 'telemetry' : 'business', payload: block.json };
    assert.equal(validateEvent(event), undefined, `${type} example`);
  }
});
