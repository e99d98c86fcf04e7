import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpr, unitFactor } from './expr.ts';
import { compileTopic } from './topic.ts';
import { Mapper } from './mapper.ts';

const scope = { payload: { a: 6, b: '2', items: [{ qty: 3 }], s: 'x' }, topic: { line: 'L1' } };

test('expressions: paths, numbers, strings, precedence, parentheses, unary minus', () => {
  assert.equal(compileExpr('payload.a + payload.b * 2', 'x')(scope), 10);
  assert.equal(compileExpr('(payload.a + payload.b) / 4', 'x')(scope), 2);
  assert.equal(compileExpr('-payload.a + 1', 'x')(scope), -5);
  assert.equal(compileExpr('payload.items[0].qty', 'x')(scope), 3);
  assert.equal(compileExpr("payload.metrics['Counter/Good'] + 1", 'x')({ payload: { metrics: { 'Counter/Good': 41 } } }), 42);
  assert.equal(compileExpr("'text'", 'x')(scope), 'text');
  assert.equal(compileExpr('payload.missing', 'x')(scope), undefined);
  assert.throws(() => compileExpr('payload.s * 2', 'x')(scope), /payload\.s is not a number \("x"\)/);
  assert.throws(() => compileExpr('payload.nope + 1', 'x')(scope), /payload\.nope is missing/);
});

test('bad expressions fail when the config loads, naming where', () => {
  assert.throws(() => compileExpr('payload.a +', '/mappings/0/emit/0/payload/yield'), /\/mappings\/0\/emit\/0\/payload\/yield: expression 'payload.a \+' ends too early/);
  assert.throws(() => compileExpr('payload.a ; drop', 'here'), /here: cannot read expression/);
  assert.throws(() => compileExpr('(payload.a', 'here'), /missing '\)'/);
  assert.throws(() => unitFactor('kg', 'm', 'here'), /cannot convert mass \(kg\) to length \(m\)/);
  assert.throws(() => unitFactor('furlong', 'm', 'here'), /unknown unit 'furlong'/);
  assert.throws(() => compileTopic('a/#/b', 'here'), /'#' must be the last level/);
  assert.throws(() => new Mapper([{ name: 'r', emit: [{ type: 'scrap', key: '{{payload.id', orderingKey: 'k', payload: { quantity: { expr: '1 +' } } }] }] as never, { plant: 'P' }), /\/mappings\/0\/emit\/0\/payload\/quantity/);
});

test('topic patterns: named segments, + and #', () => {
  const m = compileTopic('plants/{plant}/lines/{line}/events/{kind}', 'x');
  assert.deepEqual(m('plants/1000/lines/L1/events/count'), { plant: '1000', line: 'L1', kind: 'count' });
  assert.equal(m('plants/1000/lines/L1/events/count/extra'), undefined);
  assert.deepEqual(compileTopic('plants/+/lines/{line}/#', 'x')('plants/1/lines/L2/a/b/c'), { line: 'L2' });
  assert.equal(compileTopic('a.b/{x}', 'x')('aXb/1'), undefined, 'dots are literal');
});
