// The JetStream adapters' config: the README's samples are valid configs, and mistakes are named where they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../agent/config.ts';
import { partitionOf, subjectTemplate, token } from './subject.ts';

const agent = { id: 'gw', plant: '1000', stateDir: '/tmp/plantsync-x' };

test('every sample config in the README is valid (a gateway and a relay)', () => {
  const md = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
  const samples = [...md.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as object);
  assert.equal(samples.length, 2);
  for (const [i, s] of samples.entries()) assert.doesNotThrow(() => parseConfig(JSON.stringify({ agent, ...s }), `README example ${i + 1}`));
});

test('a relay taking a partition that does not exist, or a stream name with a dot, is refused with the place', () => {
  const relay = (source: object) => JSON.stringify({ agent, sources: { backbone: { type: 'jetstream', servers: ['nats://hub:4222'], stream: 'PLANTSYNC', ...source } }, sinks: { erp: { type: 'memory' } }, routes: [{ sink: 'erp', types: '*' }] });
  assert.throws(() => parseConfig(relay({ partitions: 8, take: [7, 8] }), 'relay.json'), /relay\.json: \/sources\/backbone\/take: partition 8 does not exist \(partitions: 8\)/);
  assert.throws(() => parseConfig(relay({ stream: 'PLANT.SYNC' }), 'relay.json'), /relay\.json: \/sources\/backbone\/stream/);
});

test('subjects: one token per value (dots, spaces and wildcards replaced), unknown placeholders named; partitions stable', () => {
  const subject = subjectTemplate('plantsync.{{plant}}.{{line}}.{{type}}.{{partition}}', 'sinks.backbone.subject');
  assert.equal(subject({ plant: '1000', line: 'Linie 1.A', type: 'production.confirmation', partition: 3, source: 'x' }), 'plantsync.1000.Linie_1_A.production_confirmation.3');
  assert.equal(token(undefined), '-');
  assert.equal(token('a*b>c'), 'a_b_c');
  assert.throws(() => subjectTemplate('plantsync.{{werk}}', 'sinks.backbone.subject'), /sinks\.backbone\.subject: unknown placeholder \{\{werk\}\}/);
  // The hash is part of the fleet's contract: gateways and relays of different versions must agree on it.
  assert.deepEqual(['Auftrag-4711/0010', 'Заказ-1001/0010', '订单-2002/0010'].map((k) => partitionOf(k, 16)), [2, 12, 13]);
  const spread = new Set(Array.from({ length: 200 }, (_, i) => partitionOf(`PO${i}/0010`, 16)));
  assert.equal(spread.size, 16, 'keys spread over every partition');
});
