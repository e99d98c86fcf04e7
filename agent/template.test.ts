// The one template engine, as mapping rules and sinks use it (moved here from the mapping's and the ERP sink's own
// tests; the ERP sink's missing-value message is now the mapping's, with 'event' for 'message').
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileJsonTemplate, compileTemplate } from './template.ts';

const scope = { payload: { a: 6, b: '2', items: [{ qty: 3 }], s: 'x' }, topic: { line: 'L1' } };

test('templates keep the type of a lone placeholder and interpolate otherwise', () => {
  assert.equal(compileTemplate('{{payload.a}}', 'x')(scope), 6);
  assert.equal(compileTemplate('{{topic.line}}/{{payload.a}}', 'x')(scope), 'L1/6');
  assert.equal(compileTemplate('constant', 'x')(scope), 'constant');
  assert.throws(() => compileTemplate('{{topic.line}}/{{payload.none}}', 'k')(scope), /k: .* needs a value/);
});

test('templates keep JSON types for whole placeholders, interpolate inside strings, and apply filters', () => {
  const event = { payload: { order: '1000451', operation: '0010', yield: 4, final: true }, occurredAt: '2026-11-27T06:14:03.250Z' };
  const body = compileJsonTemplate({ OrderID: '{{payload.order}}', Qty: '{{payload.yield | string}}', Final: '{{ payload.final | flag }}', Text: 'op {{payload.operation}}', Date: '{{occurredAt | sapDate}}', Fixed: 7 }, 'x');
  assert.deepEqual(body(event), { OrderID: '1000451', Qty: '4', Final: 'X', Text: 'op 0010', Date: '/Date(1795760043250)/', Fixed: 7 });
  const url = compileTemplate('/orders/{{payload.order}}/ops/{{payload.operation}}?n={{payload.order}}', 'x', { encode: encodeURIComponent, asText: true });
  assert.equal(url(event), '/orders/1000451/ops/0010?n=1000451');
  assert.throws(() => compileTemplate('/{{payload.missing}}', 'routes.scrap.url', { subject: 'event', asText: true })(event), /routes\.scrap\.url: '.*' needs a value that the event does not have/);
  assert.throws(() => compileJsonTemplate('{{x | bogus}}', 'routes.scrap.body'), /unknown filter 'bogus'/);
});

test('one language for both: sinks get the mapping\'s arithmetic, mappings get the filters; a URL is always text', () => {
  const event = { payload: { order: 'Заказ 1001', yield: 4, scrap: 1, material: 'Stahlblech-Größe-2' } };
  assert.deepEqual(compileJsonTemplate({ Total: '{{payload.yield + payload.scrap}}', Mat: '{{payload.material | upper}}', None: '{{payload.none}}' }, 'x')(event), { Total: 5, Mat: 'STAHLBLECH-GRÖSSE-2', None: null });
  assert.equal(compileTemplate('{{payload.order | lower}}', 'x')(event), 'заказ 1001');
  assert.equal(compileTemplate('{{payload.order}}', 'x', { encode: encodeURIComponent, asText: true })(event), encodeURIComponent('Заказ 1001'));
  assert.throws(() => compileTemplate('{{payload.none}}', 'routes.scrap.url', { asText: true, subject: 'event' })(event), /routes\.scrap\.url: '.*' needs a value that the event does not have/);
});
