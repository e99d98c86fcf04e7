// MQTT over TLS against a private Mosquitto with a TLS listener that requires client certificates (certificates
// made with openssl in the test): the source connects with its certificate, and is refused without one or when
// the broker's certificate is not signed by the CA it trusts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { Agent } from '../../agent/agent.ts';
import type { ConfigInput } from '../../agent/config.ts';
import { makeCertificates } from '../../test/certificates.ts';
import { tempDir, until } from '../../test/helpers.ts';
import { launchMosquitto } from './sim/test-broker.ts';
import { spoolOf } from '../../agent/inspect.ts';

function config(stateDir: string, url: string, tls: Record<string, string>): ConfigInput {
  return {
    agent: { id: 'gw-tls', plant: '1000', stateDir },
    admin: { port: 0 }, // never the default port in a test
    sources: { hall: { type: 'mqtt', url, clean: true, reconnectMinMs: 100, reconnectMaxMs: 200, tls, subscriptions: [{ topic: 'tls-test/+', qos: 1 }] } },
    sinks: { erp: { type: 'memory' } },
    routes: [{ sink: 'erp', types: '*' }],
    mappings: [{ name: 'm', topic: 'tls-test/{machine}', emit: [{ type: 'machine.downtime', key: '{{payload.seq}}', orderingKey: '{{topic.machine}}', payload: { machine: '{{topic.machine}}', state: 'started', start: '2026-11-27T08:00:00Z', reasonCode: 'TEST' } }] }],
  } as ConfigInput;
}

test('over TLS with a client certificate the source connects and takes messages in; without one, or with a CA that did not sign the broker, it is refused', async (t) => {
  const dir = tempDir(t);
  const certs = makeCertificates(dir);
  const other = join(dir, 'other');
  mkdirSync(other);
  const stranger = makeCertificates(other, 'some other CA');
  const broker = await launchMosquitto(dir, { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey, requireCertificate: true });
  if (!broker) return t.skip('mosquitto is not installed');
  t.after(() => broker.stop());

  const start = async (name: string, tls: Record<string, string>) => {
    const agent = new Agent({ config: config(tempDir(t), broker.tlsUrl!, tls), configVersion: name, log: pino({ level: 'silent' }) });
    await agent.start();
    t.after(() => agent.stop(500));
    return agent;
  };
  const good = await start('good', { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey });
  const noCert = await start('no-cert', { ca: certs.ca });
  const wrongCa = await start('wrong-ca', { ca: stranger.ca, cert: certs.clientCert, key: certs.clientKey });
  await until(() => good.sources.get('hall')!.status().connected, 'connected over TLS with a client certificate');
  await new Promise((r) => setTimeout(r, 300)); // subscribed

  const pub = await connectAsync(broker.url);
  t.after(() => pub.endAsync());
  await pub.publishAsync('tls-test/PRESS-01', JSON.stringify({ seq: 1 }), { qos: 1 });
  const spooled = () => good.sinkStatus('erp').pending + good.sinkStatus('erp').delivered;
  await until(() => spooled() === 1, () => `the message became an event (rejected: ${JSON.stringify(spoolOf(good).admin.listRejected().map((r) => r.reason))})`);

  await new Promise((r) => setTimeout(r, 800)); // several reconnect attempts
  assert.equal(noCert.sources.get('hall')!.status().connected, false, 'refused without a client certificate');
  assert.ok(noCert.sources.get('hall')!.status().reconnects >= 1);
  assert.equal(wrongCa.sources.get('hall')!.status().connected, false, 'a broker certificate from another CA is not trusted');
});
