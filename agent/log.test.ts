import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from './log.ts';

test('logs are JSON lines with the component, and secrets are redacted wherever they sit', () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const log = createLogger({ format: 'json', destination }).child({ component: 'sink', sink: 'erp' });
  log.info({ auth: { type: 'oauth2', clientSecret: 's3cr3t', token: 'eyJhbGci' }, headers: { authorization: 'Bearer eyJ' }, password: 'pw' }, 'connected');
  const entry = JSON.parse(lines.join(''));
  assert.equal(entry.component, 'sink');
  assert.equal(entry.msg, 'connected');
  assert.equal(entry.auth.type, 'oauth2');
  assert.equal(entry.auth.clientSecret, '[redacted]');
  assert.equal(entry.auth.token, '[redacted]');
  assert.equal(entry.headers.authorization, '[redacted]');
  assert.equal(entry.password, '[redacted]');
  assert.ok(!lines.join('').includes('s3cr3t'));
});
