import { test } from 'node:test';
import assert from 'node:assert/strict';
import sparkplug from 'sparkplug-payload';
import { SparkplugDecoder } from './sparkplug.ts';

const codec = sparkplug.get('spBv1.0')!;
const encode = (p: Parameters<typeof codec.encodePayload>[0]) => Buffer.from(codec.encodePayload(p));

test('Sparkplug B: BIRTH aliases name the metrics of later DATA messages; seq and timestamps become numbers', () => {
  const d = new SparkplugDecoder();
  const birth = d.decode('spBv1.0/Plant1000/DBIRTH/edge-1/PRESS-01', encode({ timestamp: 1795760043250, seq: 0, metrics: [{ name: 'Counter/Good', alias: 7, type: 'UInt32', value: 42 }, { name: 'Order', alias: 8, type: 'String', value: 'PO1' }] }));
  assert.ok(birth.ok);
  const data = d.decode('spBv1.0/Plant1000/DDATA/edge-1/PRESS-01', encode({ timestamp: 1795760044250, seq: 1, metrics: [{ alias: 7, type: 'UInt32', value: 43, timestamp: 1795760044000 }] }));
  assert.ok(data.ok);
  assert.deepEqual(data.value, {
    group: 'Plant1000', messageType: 'DDATA', edgeNode: 'edge-1', device: 'PRESS-01', timestamp: 1795760044250, seq: 1,
    metrics: { 'Counter/Good': 43 }, metricTimestamps: { 'Counter/Good': 1795760044000 }, unknownAliases: [],
  });
  const other = d.decode('spBv1.0/Plant1000/DDATA/edge-1/PRESS-02', encode({ seq: 2, metrics: [{ alias: 7, type: 'UInt32', value: 1 }] }));
  assert.ok(other.ok && (other.value as { unknownAliases: number[] }).unknownAliases[0] === 7, 'aliases are per device');
});

test('Sparkplug B: garbage payloads and foreign topics are rejected with a reason', () => {
  const d = new SparkplugDecoder();
  const bad = d.decode('spBv1.0/G/NDATA/edge', Buffer.from([0xff, 0xff, 0xff, 0x01, 0x02]));
  assert.ok(!bad.ok && /malformed Sparkplug B payload/.test(bad.reason));
  const foreign = d.decode('plants/1/x', encode({ seq: 1, metrics: [] }));
  assert.ok(!foreign.ok && /not a Sparkplug B topic/.test(foreign.reason));
});

test('Sparkplug B: a 64-bit metric beyond 2^53 keeps its exact digits (a BigInt), a small one stays a number', () => {
  const d = new SparkplugDecoder();
  const birth = d.decode('spBv1.0/Plant1000/DBIRTH/edge-1/PRESS-01', encode({ seq: 0, metrics: [
    { name: 'Counter/Total', alias: 1, type: 'UInt64', value: '18446744073709551615' as unknown as number },
    { name: 'Counter/Small', alias: 2, type: 'UInt64', value: 42 },
  ] }));
  assert.ok(birth.ok);
  const m = (birth.value as { metrics: Record<string, unknown> }).metrics;
  assert.equal(m['Counter/Total'], 18446744073709551615n);
  assert.equal(m['Counter/Small'], 42);
});
