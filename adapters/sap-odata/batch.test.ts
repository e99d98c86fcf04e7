// The $batch codec and SAP's error classification, and the sample configs of the README and docs/sap.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../agent/config.ts';
import { buildBatch, parseBatchAnswer, BatchAnswerError } from './batch.ts';
import { classifyAnswer, classifyRequest, sapError } from './classify.ts';
import { SapODataSinkConfig } from './config.ts';
import { withSchemaDefaults } from '../../agent/schema-defaults.ts';

const table = withSchemaDefaults(SapODataSinkConfig, { type: 'sap-odata', url: 'https://s4' }).errors;

test('a $batch holds one changeset per posting and a plain part per read, in order', () => {
  const { body, contentType } = buildBatch(
    [
      { method: 'POST', path: 'ProdnOrdConf2', body: '{"OrderID":"Заказ-1001","ConfirmationText":"PS abc"}' },
      { method: 'GET', path: "ProdnOrdConf2?$filter=ConfirmationText%20eq%20'PS%20abc'" },
    ],
    'x1',
  );
  assert.equal(contentType, 'multipart/mixed; boundary=batch_x1');
  assert.match(body, /^--batch_x1\r\nContent-Type: multipart\/mixed; boundary=changeset_x1_0\r\n\r\n--changeset_x1_0\r\nContent-Type: application\/http\r\n/);
  assert.match(body, /POST ProdnOrdConf2 HTTP\/1\.1\r\n[^]*Content-Length: \d+\r\n\r\n\{"OrderID":"Заказ-1001"/);
  assert.match(body, /--batch_x1\r\nContent-Type: application\/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 2\r\n\r\nGET ProdnOrdConf2\?\$filter=/);
  assert.ok(body.endsWith('--batch_x1--\r\n'));
  const len = Number(/Content-Length: (\d+)/.exec(body)![1]);
  assert.equal(len, Buffer.byteLength('{"OrderID":"Заказ-1001","ConfirmationText":"PS abc"}'), 'bytes, not characters');
});

test('an answer is read part by part: a changeset\'s response, a failed changeset\'s single error, a read; anything else is an unknown outcome', () => {
  const answer = [
    '--b', 'Content-Type: multipart/mixed; boundary=cs', '', '--cs', 'Content-Type: application/http', '', 'HTTP/1.1 201 Created', 'Content-Type: application/json', '', '{"d":{"ConfirmationGroup":"1000001"}}', '--cs--',
    '--b', 'Content-Type: application/http', '', 'HTTP/1.1 400 Bad Request', 'Content-Type: application/json', '', '{"error":{"code":"RU/123","message":{"lang":"de","value":"Auftrag 订单-2002 ist abgeschlossen"}}}',
    '--b', 'Content-Type: application/http', '', 'HTTP/1.1 200 OK', '', '{"d":{"results":[]}}',
    '--b--', '',
  ].join('\r\n');
  const parts = parseBatchAnswer('multipart/mixed; boundary=b', Buffer.from(answer), 1 << 20);
  assert.deepEqual(parts.map((p) => p.status), [201, 400, 200]);
  assert.equal(JSON.parse(parts[0]!.body).d.ConfirmationGroup, '1000001');
  assert.equal(sapError(parts[1]!.body).code, 'RU/123');
  assert.throws(() => parseBatchAnswer('text/html', Buffer.from('<html>login</html>'), 1 << 20), BatchAnswerError);
  assert.throws(() => parseBatchAnswer('multipart/mixed; boundary=b', Buffer.from('--b\r\nContent-Type: application/http\r\n\r\n<html>\r\n--b--\r\n'), 1 << 20), /not an HTTP response/);
});

test('SAP errors: configured locks and posting periods are retried, business errors rejected with SAP\'s code and text, the request refused as a whole is never a dead letter', () => {
  const body = (code: string, text: string) => JSON.stringify({ error: { code, message: { lang: 'de', value: text } } });
  assert.equal(classifyAnswer(201, '', undefined, table).kind, 'delivered');
  assert.equal(classifyAnswer(400, body('M3/897', 'Werksdaten des Materials sind gesperrt'), undefined, table).kind, 'retry');
  assert.equal(classifyAnswer(400, body('ZPP/001', 'Order 4711 is currently being processed by user PLANNER01'), undefined, table).kind, 'retry', 'by its text');
  const closed = classifyAnswer(400, body('RU/123', 'Auftrag 4711 ist bereits abgeschlossen'), undefined, table);
  assert.deepEqual(closed, { kind: 'rejected', status: 400, reason: 'HTTP 400 RU/123: Auftrag 4711 ist bereits abgeschlossen' });
  const busy = classifyAnswer(503, '', '7', table, 0);
  assert.ok(busy.kind === 'retry' && busy.retryAfterMs === 7000 && busy.overload);
  assert.equal(classifyAnswer(400, '<?xml version="1.0"?><error><code>SY/530</code><message xml:lang="en">No authorisation</message></error>', undefined, table).kind, 'rejected');
  const denied = classifyRequest(403, body('/IWFND/CM_CSRF/000', 'CSRF token validation failed'), undefined, table);
  assert.ok(denied.kind === 'retry' && denied.config, 'credentials and CSRF are the configuration');
  assert.equal(classifyRequest(400, body('/IWBEP/CM_MGW_RT/022', 'Malformed batch'), undefined, table).kind, 'retry');
});

test('every sample config in the README and docs/sap.md is a valid sap-odata sink', () => {
  for (const file of [join(import.meta.dirname, 'README.md'), join(import.meta.dirname, '../../docs/sap.md')]) {
    const samples = [...readFileSync(file, 'utf8').matchAll(/```json\n([^]*?)```/g)].map((m) => JSON.parse(m[1]!) as Record<string, unknown>);
    assert.ok(samples.length > 0, file);
    for (const s of samples) {
      const cfg = s.agent ? s : { agent: { id: 'gw', plant: '1000', stateDir: '/tmp/x' }, ...s, routes: [{ sink: 's4', types: '*' }] };
      const { config } = parseConfig(JSON.stringify(cfg), file);
      assert.equal(config.sinks.s4!.type, 'sap-odata');
    }
  }
});
