// The JetStream source (central relay side): the gateways' canonical events, consumed per partition and committed to
// this agent's spool as they are (identity, plant, times kept), then routed to sinks like any other event. A
// message is acknowledged only after its commit; the last committed stream sequence of each partition is committed
// with the events, and the consumer is created anew from it at every start, so a relay killed at any point neither
// loses nor reorders anything: what it had not committed comes again, in stream order; what it had is skipped.
// One relay at a time consumes a partition (leases.ts); a key's events are all in one partition (subject.ts).
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { reconnectDelay, type Source, type SourceContext, type SourceStatus } from '../../agent/adapter-kit.ts';
import type { JetStreamSourceConfig } from './config.ts';
import { connectNats, pause } from './connection.ts';
import { Leases } from './leases.ts';
import { PartitionWorker } from './partition.ts';

export class JetStreamSource implements Source {
  readonly name: string;
  private readonly cfg: JetStreamSourceConfig;
  private ctx!: SourceContext;
  private nc: NatsConnection | undefined;
  private readonly workers: PartitionWorker[] = [];
  private stopping = false;
  private running: Promise<void> = Promise.resolve();
  // held is not kept here: status() sums what the partitions hold.
  readonly stats: SourceStatus = { connected: false, lastMessageAt: undefined, reconnects: 0, received: 0, rejected: 0 };

  constructor(name: string, cfg: JetStreamSourceConfig) {
    this.name = name;
    this.cfg = cfg;
  }

  status(): SourceStatus {
    return { ...this.stats, held: this.workers.reduce((n, w) => n + w.held, 0) };
  }

  /** Partitions this relay consumes, and what each is doing (for status and tests). */
  partitions(): { partition: number; state: string }[] {
    return this.workers.map((w) => ({ partition: w.partition, state: w.state }));
  }

  async start(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
    // The agent starts (and its other sources and sinks work) while the backbone is unreachable.
    this.running = this.run().catch((err: Error) => {
      if (!this.stopping) ctx.log.error({ err: err.message }, 'JetStream source stopped; restart the agent once the cause is fixed');
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const w of this.workers) w.stop();
    await Promise.all(this.workers.map((w) => w.done));
    await this.running;
    await this.nc?.close().catch(() => {}); // not drain: with the server gone it would wait for it for ever
  }

  private async run(): Promise<void> {
    let said = '';
    const nc = await connectNats(this.cfg, `sources.${this.name}`, `plantsync-relay-${this.ctx.agentId}-${this.name}`, () => this.stopping, (err) => {
      if (err.message !== said) this.ctx.log.warn({ servers: this.cfg.servers, err: err.message }, 'cannot connect to NATS; retrying');
      said = err.message;
    });
    if (!nc) return;
    this.nc = nc;
    this.stats.connected = true;
    this.ctx.log.info({ server: nc.getServer() }, 'connected to NATS');
    void this.watch(nc);
    const js: JetStreamClient = jetstream(nc);
    const jsm: JetStreamManager = await jetstreamManager(nc);
    // A stream not created yet (the central team is still at it), or the server gone for a moment at start: said in
    // status and tried again, never a relay that stays idle until someone restarts it.
    let leases: Leases | undefined;
    for (let attempt = 1; !leases && !this.stopping; attempt++) {
      try {
        await jsm.streams.info(this.cfg.stream).catch((err: Error & { code?: number }) => {
          throw err.code === 10059 ? new Error(`stream '${this.cfg.stream}' does not exist on ${nc.getServer()} (docs/fleet.md)`) : err;
        });
        const l = new Leases(js, jsm, this.cfg.leaseStream, this.cfg.consumerPrefix);
        await l.ensure();
        leases = l;
        this.stats.lastError = undefined;
      } catch (err) {
        if (this.stats.lastError !== (err as Error).message) this.ctx.log.error({ err: (err as Error).message }, 'JetStream source cannot start consuming; trying again');
        this.stats.lastError = (err as Error).message;
        await pause(reconnectDelay(500, 30_000, attempt), () => this.stopping);
      }
    }
    if (!leases) return;
    const take = new Set(this.cfg.take ?? Array.from({ length: this.cfg.partitions }, (_, i) => i));
    const deps = { js, jsm, leases, cfg: this.cfg, ctx: this.ctx, owner: this.ctx.agentId, source: this.name, stats: this.stats };
    for (let p = 0; p < this.cfg.partitions; p++) {
      // A partition this relay held and no longer takes (its config changed) is handed over: drained, then freed.
      const w = new PartitionWorker(p, deps, take.has(p) ? 'take' : 'give-up');
      this.workers.push(w);
      w.start();
    }
    await Promise.all(this.workers.map((w) => w.done));
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.stats.connected = false;
        this.ctx.log.warn({ server: String(s.server ?? '') }, 'disconnected from NATS; reconnecting');
      }
      if (s.type === 'reconnect') {
        this.stats.connected = true;
        this.stats.reconnects++;
        this.ctx.log.info({ server: nc.getServer() }, 'reconnected to NATS');
      }
    }
  }
}
