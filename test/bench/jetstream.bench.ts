// The fleet path through a private nats-server (its own process, file storage): a bare JetStream publisher beside the
// gateway's JetStream sink draining a spool backlog (durable, acked: each event counts once its PubAck is in), in one
// run; then gateway -> JetStream -> relay (`plantsync run`, its own process) -> erp-sim (its own process), as a
// drain rate and as latency at a paced 1,000 events/s (source time -> ERP booking).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Agent } from '../../agent/agent.ts';
import { Dispatcher } from '../../agent/dispatcher.ts';
import { buildEvent, type EventDraft } from '../../agent/events.ts';
import { withSchemaDefaults } from '../../agent/schema-defaults.ts';
import { JetStreamSinkConfig } from '../../adapters/jetstream/config.ts';
import { JetStreamSink } from '../../adapters/jetstream/sink.ts';
import { createFleetStream, launchNats } from '../../adapters/jetstream/sim/nats-server.ts';
import { Spool } from '../../spool/spool.ts';
import type { SpoolRecord } from '../../spool/types.ts';
import type { Figure } from './report.ts';
import { startSimProcess } from './sim-process.ts';
import { agentFlags, usage } from './proc.ts';

const KEYS = 500;

function draft(i: number, run: string): EventDraft {
  return {
    type: 'production.confirmation',
    key: `${run}-seq-${String(i).padStart(10, '0')}`,
    orderingKey: `PO-${run}${100000 + (i % KEYS)}/0010`,
    plant: '1000',
    line: 'Linie 1',
    occurredAt: Date.now(),
    source: { adapter: 'bench', id: 'press-01', address: 'bench' },
    payload: { order: `PO${100000 + (i % KEYS)}`, operation: '0010', workCenter: 'PRESS-01', yield: 4, scrap: 0, unit: 'PC', final: false },
  };
}

function records(n: number, run: string): SpoolRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const r = buildEvent(draft(i, run), 'bench');
    if (!r.ok) throw new Error(r.reason);
    return { idempotencyKey: r.event.idempotencyKey, orderingKey: r.event.orderingKey, type: r.event.type, priority: 'business', occurredAt: Date.now(), body: JSON.stringify(r.event) };
  });
}

async function until(fn: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`jetstream bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function jetstreamBenchmarks(n = 100_000): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'plantsync-jetstream-bench-'));
  const nats = await launchNats(dir);
  const sim = await startSimProcess();
  let relay: ChildProcess | undefined;
  try {
    await createFleetStream(nats.url);
    // Bare: the same event bodies, Nats-Msg-Id set, 500 publishes awaiting their PubAcks at a time; once with
    // nats.js's defaults, once with noAsyncTraces as the sink connects (connection.ts). The ratio is taken to the
    // faster of the two: the sink must keep up with the best a plain publisher does, not with a handicapped one.
    const bare = async (tag: string, noAsyncTraces: boolean) => {
      const bodies = records(n, tag);
      const nc = await connect({ servers: nats.url, noAsyncTraces });
      const js = jetstream(nc);
      const t0 = performance.now();
      for (let i = 0; i < n; i += 500) {
        await Promise.all(bodies.slice(i, i + 500).map((r) => js.publish(`plantsync.1000.Linie_1.production_confirmation.${i % 16}`, r.body, { msgID: r.idempotencyKey })));
      }
      const rate = n / ((performance.now() - t0) / 1000);
      await nc.close();
      return rate;
    };
    const bareDefault = await bare('bare', false);
    const bareNoTraces = await bare('bare-nt', true);
    const bareRate = Math.max(bareDefault, bareNoTraces);

    // The gateway's sink draining a spool backlog: per-key order, one event per key per batch, 8 batches out.
    const spool = Spool.open({ path: join(dir, 'gw-spool.db'), routes: [{ sink: 'backbone', types: '*', onReject: 'park' }] });
    const backlog = records(n, 'gw');
    for (let i = 0; i < n; i += 10_000) await spool.append(backlog.slice(i, i + 10_000));
    const log = pino({ level: 'silent' });
    const sink = new JetStreamSink('backbone', withSchemaDefaults(JetStreamSinkConfig, { type: 'jetstream', servers: [nats.url], stream: 'PLANTSYNC' }), { log });
    await sink.open();
    await until(() => sink.health().breaker === 'closed', 10_000, 'the sink to connect');
    // BENCH_JETSTREAM_DELIVERY: JSON merged into the gateway dispatcher's settings (concurrency, maxEvents), to compare.
    const delivery = { concurrency: 8, maxEvents: 500, ...(JSON.parse(process.env.BENCH_JETSTREAM_DELIVERY ?? '{}') as object) };
    const d = new Dispatcher(spool, sink, { ...delivery, maxBytes: 4_194_304, backoff: { baseMs: 100, capMs: 1000, maxRetryAfterMs: Infinity } }, log);
    const t1 = performance.now();
    d.start();
    await until(() => d.stats.delivered >= n, 300_000, 'the gateway drain');
    const gwRate = n / ((performance.now() - t1) / 1000);
    await d.stop(1000);
    await sink.close();
    spool.close();

    // End to end: the relay (its own process) consumes what the gateway published and posts it to erp-sim.
    const relayConfig = join(dir, 'relay.json');
    writeFileSync(relayConfig, JSON.stringify({
      agent: { id: 'bench-relay', plant: 'central', stateDir: join(dir, 'relay') },
      admin: { port: 0 },
      sources: { backbone: { type: 'jetstream', servers: [nats.url], stream: 'PLANTSYNC' } },
      sinks: { erp: { type: 'erp-http', url: `${sim.url}/batch`, response: { itemsPath: 'results', itemStatusPath: 'status', itemErrorPath: 'error', receiptPath: 'documentNumber' }, delivery: { concurrency: 8, maxEvents: 500 } } },
      routes: [{ sink: 'erp', types: '*' }],
      mappings: [],
    }));
    const t2 = performance.now();
    relay = spawn(process.execPath, [...agentFlags, join(import.meta.dirname, '../../cli/main.ts'), 'run', '--config', relayConfig], { stdio: 'ignore' });
    // The stream holds the bare runs' events too: 3n in all.
    await until(async () => (await sim.counters()).accepted >= 3 * n, 600_000, 'the relay drain');
    const relaySeconds = (performance.now() - t2) / 1000;
    const relayRate = (3 * n) / relaySeconds;
    const relayUsage = usage(relay.pid!);

    // Paced: a gateway agent takes 1,000 events/s for 10 s; latency from source time to the ERP booking.
    const gateway = new Agent({ config: { agent: { id: 'bench-gw', plant: '1000', stateDir: join(dir, 'gw') }, admin: { enabled: false }, sinks: { backbone: { type: 'jetstream', servers: [nats.url], stream: 'PLANTSYNC' } }, routes: [{ sink: 'backbone', types: '*' }], mappings: [] } as never, configVersion: 'bench', log });
    await gateway.start();
    const before = (await sim.latencies()).length;
    const start = Date.now();
    for (let s = 0; s < 100; s++) {
      await gateway.ingest(Array.from({ length: 10 }, (_, k) => draft(s * 10 + k, 'paced')));
      await new Promise((r) => setTimeout(r, Math.max(0, start + (s + 1) * 10 - Date.now())));
    }
    await until(async () => (await sim.latencies()).length - before >= 1000, 60_000, 'the paced events');
    await gateway.stop(1000);
    const lat = (await sim.latencies()).slice(before).sort((a, b) => a - b);
    const pct = (q: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * q))] ?? NaN;
    return [
      { name: 'jetstream: bare publisher, PubAck awaited, 500 in flight (nats.js defaults)', value: bareDefault, unit: 'events/s' },
      { name: 'jetstream: bare publisher, the same with noAsyncTraces (as the sink connects)', value: bareNoTraces, unit: 'events/s' },
      { name: 'jetstream: gateway sink draining its spool (durable, acked, per-key order)', value: gwRate, unit: 'events/s' },
      { name: 'jetstream: gateway / the faster bare publisher', value: gwRate / bareRate, unit: 'x', target: '>= 0.8' },
      { name: 'jetstream: relay -> erp-sim end to end, whole stream', value: relayRate, unit: 'events/s' },
      { name: 'jetstream: relay CPU during that drain (one core = 100%, start included)', value: (100 * relayUsage.cpuS) / relaySeconds, unit: '%' },
      { name: 'jetstream: relay resident memory after that drain', value: relayUsage.rssMiB, unit: 'MiB' },
      { name: 'jetstream: p50 source time -> ERP booking via the backbone at 1,000 events/s', value: pct(0.5), unit: 'ms' },
      { name: 'jetstream: p99 source time -> ERP booking via the backbone at 1,000 events/s', value: pct(0.99), unit: 'ms' },
    ];
  } finally {
    relay?.kill('SIGKILL');
    sim.stop();
    nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
