// Shared pieces of the erp-http tests: a sink against a started erp-sim, batches of real canonical events, and
// certificates made with openssl for TLS tests.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { buildEvent, type EventDraft } from '../../agent/events.ts';
import { Metrics } from '../../agent/metrics.ts';
import type { Batch } from '../../agent/sink.ts';
import type { ErpHttpSinkConfig } from './config.ts';
import { ErpSim, type ErpSimOptions } from './erp-sim.ts';
import { ErpHttpSink } from './sink.ts';

/** Per-item result paths of erp-sim's batch answer. */
export const simResponse = { itemsPath: 'results', itemStatusPath: 'status', itemErrorPath: 'error', receiptPath: 'documentNumber' };

export async function startSim(t: TestContext, opts: ErpSimOptions = {}): Promise<ErpSim> {
  const sim = new ErpSim(opts);
  await sim.start();
  t.after(() => sim.close());
  return sim;
}

export async function openSink(t: TestContext, cfg: Partial<ErpHttpSinkConfig> & { url: string }, metrics = new Metrics()): Promise<ErpHttpSink> {
  const sink = new ErpHttpSink('erp', { type: 'erp-http', response: simResponse, ...cfg }, { log: pino({ level: 'silent' }), metrics });
  await sink.open();
  t.after(() => sink.close());
  return sink;
}

let seq = 0;

export function confirmation(n: number, order = `PO${n % 3}`): EventDraft {
  return {
    type: 'production.confirmation',
    key: `seq-${n}`,
    orderingKey: `${order}/0010`,
    plant: '1000',
    occurredAt: Date.now(),
    source: { adapter: 'test', id: 'press-01', address: 'test' },
    payload: { order, operation: '0010', workCenter: 'PRESS-01', yield: 4, scrap: 0, unit: 'PC', final: false },
  };
}

export function batchOf(drafts: EventDraft[], key = `batch-${++seq}`): Batch {
  return {
    id: seq,
    key,
    attempt: 0,
    events: drafts.map((d) => {
      const r = buildEvent(d, 'test');
      if (!r.ok) throw new Error(r.reason);
      return { seq: ++seq, idempotencyKey: r.event.idempotencyKey, orderingKey: r.event.orderingKey, type: r.event.type, occurredAt: Date.parse(r.event.occurredAt), body: JSON.stringify(r.event) };
    }),
  };
}

export const never = new AbortController().signal;

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl into `dir`. */
export function makeCertificates(dir: string): Record<'ca' | 'serverKey' | 'serverCert' | 'clientKey' | 'clientCert', string> {
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=plantsync test CA');
  for (const [name, cn, ext] of [['server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1'], ['client', 'gw-01', 'extendedKeyUsage=clientAuth']] as const) {
    writeFileSync(f(`${name}.ext`), `${ext}\n`);
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '2', '-extfile', f(`${name}.ext`));
  }
  return { ca: f('ca.pem'), serverKey: f('server.key'), serverCert: f('server.pem'), clientKey: f('client.key'), clientCert: f('client.pem') };
}
