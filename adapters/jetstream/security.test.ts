// Secured backbones: TLS with the plant's own CA, a user and password from a secret, an NKey seed from a file. The
// wrong password is a clear error in the sink's status while the events wait; nothing is published without auth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import type { ConfigInput } from '../../agent/config.ts';
import { makeCertificates } from '../../test/certificates.ts';
import { tempDir, until } from '../../test/helpers.ts';
import { createFleetStream, startNats } from './sim/nats-server.ts';
import { confirmation, gatewayConfig, ORDERS, readStream, startAgent } from './sim/test-kit.ts';

const drained = (s: { pending: number; held: number; inFlightBatches: number; waitingBatches: number }) => s.pending + s.held + s.inFlightBatches + s.waitingBatches === 0;

test('TLS with the plant CA, user and password from a secret, a relay with an NKey seed file; a wrong password is named', async (t) => {
  const dir = tempDir(t);
  const certs = makeCertificates(dir, 'plantsync NATS test CA');
  const relayKey = nkeys.createUser();
  const seedFile = join(dir, 'relay.nk');
  writeFileSync(seedFile, new TextDecoder().decode(relayKey.getSeed()));
  const password = 'Geheim-Пароль-密码';
  const nats = await startNats(t, dir, `
tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}" }
authorization { users = [ { user: "gw-1000", password: "${password}" }, { nkey: "${relayKey.getPublicKey()}" } ] }
`);
  await createFleetStream(nats.url, 'PLANTSYNC', {}, { user: 'gw-1000', pass: password, tls: { caFile: certs.ca } });
  process.env.PLANTSYNC_TEST_NATS_PASSWORD = password;
  t.after(() => delete process.env.PLANTSYNC_TEST_NATS_PASSWORD);

  const wrong = await startAgent(t, gatewayConfig(join(dir, 'gw-wrong'), nats.url, { tls: { ca: certs.ca }, auth: { type: 'user', user: 'gw-1000', password: 'falsch' } }));
  await wrong.ingest([confirmation(1, ORDERS[0]!)]);
  await until(() => /authorization/i.test(wrong.sinkStatus('backbone').lastError ?? ''), () => `the wrong password is named (${wrong.sinkStatus('backbone').lastError})`);
  assert.equal(wrong.sinkStatus('backbone').delivered, 0);

  const gateway = await startAgent(t, gatewayConfig(join(dir, 'gw'), nats.url, { tls: { ca: certs.ca }, auth: { type: 'user', user: 'gw-1000', password: '${env:PLANTSYNC_TEST_NATS_PASSWORD}' } }));
  await gateway.ingest(ORDERS.map((o) => confirmation(1, o)));
  await until(() => drained(gateway.sinkStatus('backbone')) && gateway.sinkStatus('backbone').delivered === ORDERS.length, () => `published over TLS (${JSON.stringify(gateway.sinkStatus('backbone'))})`);

  const relay = await startAgent(t, {
    agent: { id: 'relay-a', plant: 'central', stateDir: join(dir, 'relay') },
    admin: { enabled: false },
    sources: { backbone: { type: 'jetstream', servers: [nats.url], stream: 'PLANTSYNC', tls: { ca: certs.ca }, auth: { type: 'nkey', seed: `\${file:${seedFile}}` } } },
    sinks: { erp: { type: 'memory' } },
    routes: [{ sink: 'erp', types: '*' }],
    mappings: [],
  } as ConfigInput);
  await until(() => relay.sinkStatus('erp').delivered === ORDERS.length, () => `relayed with the NKey (${JSON.stringify(relay.sinkStatus('erp'))})`);
  assert.equal((await readStream(nats.url, 'PLANTSYNC', { user: 'gw-1000', pass: password, tls: { caFile: certs.ca } })).length, ORDERS.length);
});

test('TLS to a backbone given by its IP address: a certificate made for that address is accepted, one for another address refused with the reason', async (t) => {
  // nats.js upgrades an IP connection without a server name and Node then checks "localhost" (connection.ts): these
  // certificates name only an IP address, as a plant's PKI makes them for a backbone without DNS.
  const dir = tempDir(t);
  for (const d of ['good', 'other', 'nats-good', 'nats-other']) mkdirSync(join(dir, d));
  const good = makeCertificates(join(dir, 'good'), 'plantsync NATS IP CA', 'IP:127.0.0.1');
  const other = makeCertificates(join(dir, 'other'), 'plantsync NATS other CA', 'IP:10.20.0.5');
  for (const [name, certs, ok] of [['good', good, true], ['other', other, false]] as const) {
    const nats = await startNats(t, join(dir, `nats-${name}`), `tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}" }`);
    // Setting the stream up is the test's own business: its connection skips the name check.
    await createFleetStream(nats.url, 'PLANTSYNC', {}, { tls: { caFile: certs.ca, checkServerIdentity: () => undefined } as never });
    const gateway = await startAgent(t, gatewayConfig(join(dir, `gw-${name}`), nats.url, { tls: { ca: certs.ca } }));
    await gateway.ingest([confirmation(1, ORDERS[0]!)]);
    if (ok) await until(() => gateway.sinkStatus('backbone').delivered === 1, () => `published over TLS to 127.0.0.1 (${gateway.sinkStatus('backbone').lastError})`);
    else {
      await until(() => /names none of 127\.0\.0\.1/.test(gateway.sinkStatus('backbone').lastError ?? ''), () => `refused, and why (${gateway.sinkStatus('backbone').lastError})`);
      assert.equal(gateway.sinkStatus('backbone').delivered, 0);
    }
  }
});
