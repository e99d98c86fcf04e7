import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyForRejected, depthOf, eventJson, parseJsonExact } from './payload.ts';

test('depth is measured without recursion and stops past the limit', () => {
  assert.equal(depthOf(42, 64), 0);
  assert.equal(depthOf({ a: [1, { b: 2 }] }, 64), 3);
  const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)) as unknown;
  assert.equal(depthOf(deep, 64), 65);
});

test('integers beyond 2^53 parse exactly as BigInt and serialize back as the same JSON number; safe ones stay numbers', () => {
  const v = parseJsonExact('{"seq":9007199254740993,"small":12,"f":1.5,"big":1e300,"s":"12345678901234567890"}') as Record<string, unknown>;
  assert.equal(v.seq, 9007199254740993n);
  assert.equal(v.small, 12);
  assert.equal(v.f, 1.5);
  assert.equal(v.big, 1e300, 'an exponent literal stays a number');
  assert.equal(v.s, '12345678901234567890');
  assert.equal(eventJson({ counter: v.seq, n: 1 }), '{"counter":9007199254740993,"n":1}');
});

test('a rejected copy of a value never throws: cyclic, BigInt, deep', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.match(copyForRejected(cyclic, 100), /not copyable/);
  assert.equal(copyForRejected({ n: 2n ** 64n }, 100), '{"n":18446744073709551616}');
  const deep = JSON.parse('['.repeat(20_000) + ']'.repeat(20_000)) as unknown;
  assert.equal(typeof copyForRejected(deep, 100), 'string');
});
