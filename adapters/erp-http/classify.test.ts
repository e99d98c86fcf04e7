import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyError, classifyStatus, excerpt } from './classify.ts';
import { parseRetryAfter } from '../../agent/http.ts';

const o = { duplicateStatus: [409] };

test('every status class maps to its outcome', () => {
  for (const s of [200, 201, 202, 204]) assert.deepEqual(classifyStatus(s, '', undefined, o), { kind: 'delivered', duplicate: false });
  assert.deepEqual(classifyStatus(409, 'exists', undefined, o), { kind: 'delivered', duplicate: true });
  for (const s of [408, 425, 429, 500, 502, 503, 504]) assert.equal(classifyStatus(s, '', undefined, o).kind, 'retry', String(s));
  for (const s of [400, 401, 403, 404, 405, 413, 422, 501]) assert.equal(classifyStatus(s, '', undefined, o).kind, 'rejected', String(s));
  const tooMany = classifyStatus(429, '', undefined, o);
  assert.equal(tooMany.kind === 'retry' && tooMany.overload, true);
});

test('a configured body text turns a 4xx into a duplicate delivery', () => {
  const v = classifyStatus(400, '{"error":{"message":"Confirmation already posted"}}', undefined, { duplicateStatus: [409], duplicateBodyMatch: 'already posted' });
  assert.deepEqual(v, { kind: 'delivered', duplicate: true });
});

test('Retry-After is read as seconds or as an HTTP date, with no cap', () => {
  const now = Date.parse('2026-11-27T06:00:00Z');
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter('86400', now), 86_400_000);
  assert.equal(parseRetryAfter('Fri, 27 Nov 2026 06:10:00 GMT', now), 600_000);
  assert.equal(parseRetryAfter('soon', now), undefined);
  const v = classifyStatus(503, '', '3600', o, now);
  assert.equal(v.kind === 'retry' && v.retryAfterMs, 3_600_000);
});

test('rejections carry the status and a bounded excerpt of the body', () => {
  const v = classifyStatus(422, 'x'.repeat(10_000), undefined, o);
  assert.equal(v.kind, 'rejected');
  assert.ok(v.kind === 'rejected' && v.reason.length < 600 && v.reason.startsWith('HTTP 422: xxx') && v.reason.endsWith('(10000 chars)'));
  assert.equal(excerpt('a\n  b'), 'a b');
});

test('connection errors and timeouts retry; timeouts count as overload', () => {
  assert.equal(classifyError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).kind, 'retry');
  const t = classifyError(Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }));
  assert.ok(t.kind === 'retry' && t.overload);
});
