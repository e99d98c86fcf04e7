// Two gateways and one relay through this machine's nats-server (NATS_URL, default nats://127.0.0.1:4222, with
// JetStream): plants 1000 and 2000 each take confirmations for their orders, publish them to a demo stream, and the
// relay posts them to an ERP receiver (erp-sim, in this process). Prints what each plant sent and what the ERP
// booked, per plant, every second, then checks: every event booked once, in per-key order. The embedded demo
// (`npm start`) needs no NATS; this one shows the fleet path. Run from the repository root:
//   node docs/examples/fleet/demo.ts [seconds]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Agent } from '../../../agent/agent.ts';
import type { ConfigInput } from '../../../agent/config.ts';
import { ErpSim } from '../../../adapters/erp-http/sim/erp-sim.ts';
import { createFleetStream } from '../../../adapters/jetstream/sim/nats-server.ts';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const seconds = Number(process.argv[2] ?? 10);
const run = `demo${Date.now().toString(36)}`;
const stream = `PLANTSYNC_${run.toUpperCase()}`;
const dir = mkdtempSync(join(tmpdir(), 'plantsync-fleet-demo-'));
const log = pino({ level: 'warn' });
const orders: Record<string, string[]> = { '1000': ['Auftrag-4711', 'Auftrag-4712'], '2000': ['Заказ-1001', '订单-2002'] };

const nc = await connect({ servers: url, timeout: 2000 }).catch((err: Error) => {
  console.error(`no nats-server with JetStream at ${url} (${err.message}); start one: nats-server -js`);
  process.exit(2);
});
const jsm = await jetstreamManager(nc);
await createFleetStream(url, stream, { subjects: [`${run}.>`] });
const erp = new ErpSim();
await erp.start();

const gateway = (plant: string) =>
  new Agent({
    config: {
      agent: { id: `gw-${plant}`, plant, stateDir: join(dir, `gw-${plant}`) },
      admin: { enabled: false },
      sinks: { backbone: { type: 'jetstream', servers: [url], stream, subject: `${run}.{{plant}}.{{line}}.{{type}}.{{partition}}` } },
      routes: [{ sink: 'backbone', types: '*' }],
      mappings: [],
    } as ConfigInput,
    configVersion: 'fleet-demo',
    log,
  });
const relay = new Agent({
  config: {
    agent: { id: 'relay-central', plant: 'central', stateDir: join(dir, 'relay') },
    admin: { enabled: false },
    sources: { backbone: { type: 'jetstream', servers: [url], stream, filter: `${run}.*.*.*.{{partition}}`, consumerPrefix: run, leaseStream: `LEASES_${run.toUpperCase()}` } },
    sinks: { erp: { type: 'erp-http', url: `${erp.url}/batch`, response: { itemsPath: 'results', itemStatusPath: 'status', itemErrorPath: 'error', receiptPath: 'documentNumber' } } },
    routes: [{ sink: 'erp', types: '*' }],
    mappings: [],
  } as ConfigInput,
  configVersion: 'fleet-demo',
  log,
});
const gateways = { '1000': gateway('1000'), '2000': gateway('2000') };
for (const a of [...Object.values(gateways), relay]) await a.start();

const sent: Record<string, number> = { '1000': 0, '2000': 0 };
const booked = (plant: string) => erp.booked.filter((b) => b.idempotencyKey.startsWith(`${plant}/`)).length;
console.log(`two gateways -> ${url} stream ${stream} -> relay -> erp-sim ${erp.url}, ${seconds} s`);
for (let s = 1; s <= seconds; s++) {
  for (const [plant, agent] of Object.entries(gateways)) {
    await agent.ingest(orders[plant]!.flatMap((order) => Array.from({ length: 5 }, () => {
      const n = ++sent[plant]!;
      return { type: 'production.confirmation' as const, key: `${order}/${n}`, orderingKey: `${order}/0010`, plant, line: 'Linie 1', occurredAt: Date.now(), source: { adapter: 'demo', id: 'press', address: 'press' }, payload: { order, operation: '0010', workCenter: 'PRESS-01', yield: n, scrap: 0, unit: 'PC', final: false } };
    })));
  }
  await new Promise((r) => setTimeout(r, 1000));
  console.log(`${s}s  plant 1000: sent ${sent['1000']}, booked ${booked('1000')}   plant 2000: sent ${sent['2000']}, booked ${booked('2000')}`);
}
const total = sent['1000']! + sent['2000']!;
const end = Date.now() + 15_000;
while (erp.booked.length < total && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
const keys = new Set(erp.booked.map((b) => b.idempotencyKey));
const inOrder = [...new Set(erp.booked.map((b) => b.orderingKey))].every((k) => {
  const ns = erp.booked.filter((b) => b.orderingKey === k).map((b) => Number(b.idempotencyKey.split('/').pop()));
  return ns.every((n, i) => i === 0 || n > ns[i - 1]!);
});
console.log(`booked ${erp.booked.length} of ${total}, ${keys.size === erp.booked.length ? 'none twice' : 'SOME TWICE'}, ${inOrder ? 'in per-key order' : 'OUT OF ORDER'}`);
for (const a of [...Object.values(gateways), relay]) await a.stop(1000);
await erp.close();
await jsm.streams.delete(stream).catch(() => {});
await jsm.streams.delete(`LEASES_${run.toUpperCase()}`).catch(() => {});
await nc.close();
rmSync(dir, { recursive: true, force: true });
process.exit(erp.booked.length === total && keys.size === total && inOrder ? 0 : 1);
