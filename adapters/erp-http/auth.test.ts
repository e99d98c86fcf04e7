// Auth and TLS against the reference receiver: static credentials, OAuth2 client credentials with caching and
// refresh, secrets from the environment and files, mutual TLS with certificates made for the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { tempDir, sleep } from '../../test/helpers.ts';
import { ErpHttpSink } from './sink.ts';
import { makeCertificates } from '../../test/certificates.ts';
import { batchOf, confirmation, erpHttpConfig, never, openSink, simResponse, startSim } from './sim/test-kit.ts';

test('bearer, basic and API-key credentials are sent; wrong ones are rejected as 401', async (t) => {
  const sim = await startSim(t, { bearer: 'tok-1', basic: { user: 'plantsync', password: 'pw-1' }, apiKey: { header: 'x-api-key', value: 'key-1' } });
  for (const auth of [{ type: 'bearer', token: 'tok-1' }, { type: 'basic', user: 'plantsync', password: 'pw-1' }, { type: 'apiKey', header: 'X-API-Key', value: 'key-1' }] as const) {
    const sink = await openSink(t, { url: `${sim.url}/batch`, auth });
    assert.equal((await sink.deliver(batchOf([confirmation(1)]), never)).kind, 'delivered', auth.type);
  }
  const wrong = await openSink(t, { url: `${sim.url}/batch`, auth: { type: 'bearer', token: 'nope' } });
  const out = await wrong.deliver(batchOf([confirmation(1)]), never);
  assert.ok(out.kind === 'rejected' && out.status === 401);
});

test('OAuth2 client credentials: one token for many requests, refreshed before expiry and once after a 401', async (t) => {
  const sim = await startSim(t, { oauth: { clientId: 'gw-01', clientSecret: 's3cret', ttlSec: 2 } });
  const sink = await openSink(t, { url: `${sim.url}/batch`, auth: { type: 'oauth2', tokenUrl: '/oauth/token', clientId: 'gw-01', clientSecret: 's3cret', refreshBeforeSec: 1 } });
  await Promise.all(Array.from({ length: 5 }, (_, i) => sink.deliver(batchOf([confirmation(i)]), never)));
  assert.equal(sim.counters.accepted, 5);
  assert.equal(sim.counters.tokensIssued, 1, 'concurrent requests share one token fetch');
  await sleep(1100); // within refreshBeforeSec of expiry: refreshed before use
  await sink.deliver(batchOf([confirmation(10)]), never);
  assert.equal(sim.counters.tokensIssued, 2);
  assert.equal(sim.counters.unauthorized, 0, 'no request went out with an expired token');
  sim.revokeTokens(); // e.g. the identity provider restarted
  assert.equal((await sink.deliver(batchOf([confirmation(11)]), never)).kind, 'delivered');
  assert.equal(sim.counters.unauthorized, 1);
  assert.equal(sim.counters.tokensIssued, 3, 'one refresh-and-retry after the 401');
});

test('secrets come from the environment and files, and never reach the logs', async (t) => {
  const dir = tempDir(t);
  const sim = await startSim(t, { oauth: { clientId: 'gw-01', clientSecret: 'file-secret-42', ttlSec: 60 }, apiKey: { header: 'x-api-key', value: 'env-key-42' } });
  writeFileSync(join(dir, 'secret'), 'file-secret-42\n');
  process.env.PLANTSYNC_TEST_KEY = 'env-key-42';
  t.after(() => delete process.env.PLANTSYNC_TEST_KEY);
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
  const oauth = new ErpHttpSink('erp', erpHttpConfig({ url: `${sim.url}/batch`, response: simResponse, auth: { type: 'oauth2', tokenUrl: '/oauth/token', clientId: 'gw-01', clientSecret: `\${file:${join(dir, 'secret')}}` } }), { log });
  const key = new ErpHttpSink('erp', erpHttpConfig({ url: `${sim.url}/batch`, response: simResponse, auth: { type: 'apiKey', header: 'x-api-key', value: '${env:PLANTSYNC_TEST_KEY}' } }), { log });
  for (const s of [oauth, key]) {
    await s.open();
    t.after(() => s.close());
    assert.equal((await s.deliver(batchOf([confirmation(Math.random())]), never)).kind, 'delivered');
  }
  const missing = new ErpHttpSink('erp', erpHttpConfig({ url: sim.url, auth: { type: 'bearer', token: '${env:PLANTSYNC_NOT_SET}' } }), { log });
  await assert.rejects(missing.open(), /sinks\.erp\.auth\.token: environment variable PLANTSYNC_NOT_SET is not set/);
  assert.ok(!lines.join('').includes('42'), 'no secret in the logs');
});

test('mutual TLS: the client certificate is presented and the server is checked against the configured CA', async (t) => {
  const dir = tempDir(t);
  const c = makeCertificates(dir);
  const sim = await startSim(t, { tls: { key: readFileSync(c.serverKey), cert: readFileSync(c.serverCert), ca: readFileSync(c.ca), requestCert: true } });
  const ok = await openSink(t, { url: `${sim.url}/batch`, tls: { ca: c.ca, cert: c.clientCert, key: c.clientKey } });
  assert.equal((await ok.deliver(batchOf([confirmation(1)]), never)).kind, 'delivered');
  const noClientCert = await openSink(t, { url: `${sim.url}/batch`, tls: { ca: c.ca }, protect: { breakerFailures: 100 } });
  assert.equal((await noClientCert.deliver(batchOf([confirmation(2)]), never)).kind, 'retry');
  const untrusted = await openSink(t, { url: `${sim.url}/batch`, tls: { cert: c.clientCert, key: c.clientKey }, protect: { breakerFailures: 100 } });
  const out = await untrusted.deliver(batchOf([confirmation(3)]), never);
  assert.ok(out.kind === 'retry' && /certificate/i.test(out.error), out.kind === 'retry' ? out.error : out.kind);
  assert.equal(sim.counters.accepted, 1);
});

test('SAP Gateway CSRF: a token and session cookie are fetched once, reused, and fetched again when refused', async (t) => {
  const sim = await startSim(t, { csrf: true, basic: { user: 'PLANTSYNC', password: 'pw' } });
  const sink = await openSink(t, {
    url: sim.url,
    mode: 'routes',
    auth: { type: 'basic', user: 'PLANTSYNC', password: 'pw' },
    csrf: { fetchUrl: '/sap/opu/odata/sap/API_PROD_ORDER_CONFIRMATION_2_SRV/' },
    routes: { 'production.confirmation': { url: '/sap/opu/odata/sap/API_PROD_ORDER_CONFIRMATION_2_SRV/ProdnOrdConf2', body: { OrderID: '{{payload.order}}' } } },
    response: { receiptPath: 'documentNumber' },
  });
  assert.equal((await sink.deliver(batchOf([confirmation(1), confirmation(2)]), never)).kind, 'delivered');
  assert.equal(sim.counters.csrfRefused, 0);
  sim.revokeTokens(); // the Gateway session ended
  assert.equal((await sink.deliver(batchOf([confirmation(3)]), never)).kind, 'delivered');
  assert.equal(sim.counters.csrfRefused, 1, 'refused once, then fetched a new token');
  assert.equal(sim.counters.accepted, 3);
});
