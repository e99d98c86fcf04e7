// One partition of a relay's JetStream source. Taking it: win its lease (waiting while another relay holds or drains
// it), create its durable consumer anew from the last committed stream sequence, then commit what arrives in stream
// order, in groups, and acknowledge each group after its commit. Giving it up (the relay's config no longer takes
// it): mark the lease draining, wait until this agent's sinks owe nothing appended before that, then free it with
// the last committed sequence, where the next owner starts.
import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { commitRetryPause, parseJsonExact, reconnectDelay, type SourceContext, type SourceStatus } from '../../agent/adapter-kit.ts';
import { pause } from './connection.ts';
import type { JetStreamSourceConfig } from './config.ts';
import type { Leases } from './leases.ts';

export interface PartitionDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  leases: Leases;
  cfg: JetStreamSourceConfig;
  ctx: SourceContext;
  owner: string;
  /** The source's name in the config (the metrics' source label). */
  source: string;
  stats: SourceStatus;
}

const POLL_MS = 1000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class PartitionWorker {
  state = 'starting';
  done: Promise<void> = Promise.resolve();
  private stopping = false;
  private buffer: JsMsg[] = [];
  private arrived: () => void = () => {};
  private messages: ConsumerMessages | undefined;
  private committed = 0;

  readonly partition: number;
  private readonly d: PartitionDeps;
  private readonly mode: 'take' | 'give-up';

  constructor(partition: number, d: PartitionDeps, mode: 'take' | 'give-up') {
    this.partition = partition;
    this.d = d;
    this.mode = mode;
  }

  /** Messages taken in and not yet committed (bounded: the consumer's max_ack_pending is 4 groups). */
  get held(): number {
    return this.buffer.length;
  }

  /** Runs until stopped; a failure (the server gone mid-setup, a lease write refused) is said and tried again. */
  start(): void {
    this.done = (async () => {
      for (let attempt = 1; !this.stopping; attempt++) {
        try {
          await (this.mode === 'take' ? this.take() : this.giveUp());
          return;
        } catch (err) {
          void this.messages?.close();
          this.buffer = [];
          this.state = `failed, trying again: ${(err as Error).message}`;
          if (!this.stopping) this.d.ctx.log.error({ partition: this.partition, err: (err as Error).message }, 'partition failed; trying again');
          await pause(reconnectDelay(500, 30_000, attempt), () => this.stopping);
        }
      }
    })();
  }

  stop(): void {
    this.stopping = true;
    this.arrived();
    void this.messages?.close();
  }

  private get stateKey(): string {
    return `p${this.partition}`;
  }

  private async take(): Promise<void> {
    const upTo = await this.acquire();
    if (upTo === undefined) return;
    this.committed = Math.max(Number(this.d.ctx.loadState()[this.stateKey] ?? 0), upTo);
    const { cfg, jsm, js } = this.d;
    const durable = `${cfg.consumerPrefix}-p${this.partition}`;
    // Created anew from what this agent committed: what came after, in stream order, also after a crash.
    await jsm.consumers.delete(cfg.stream, durable).catch(() => {});
    await jsm.consumers.add(cfg.stream, {
      durable_name: durable,
      filter_subject: cfg.filter.replace('{{partition}}', String(this.partition)),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: this.committed + 1,
      ack_wait: cfg.ackWaitSec * 1e9,
      max_ack_pending: cfg.maxBatch * 4,
    });
    const consumer = await js.consumers.get(cfg.stream, durable);
    this.state = 'consuming';
    this.d.ctx.log.info({ partition: this.partition, from: this.committed + 1 }, 'consuming partition');
    this.messages = await consumer.consume({
      max_messages: cfg.maxBatch,
      callback: (m) => {
        this.buffer.push(m);
        this.arrived();
      },
    });
    while (!this.stopping) {
      if (this.buffer.length === 0) {
        await new Promise<void>((r) => {
          this.arrived = r;
          setTimeout(r, POLL_MS);
        });
        continue;
      }
      await this.commit(this.buffer.splice(0, cfg.maxBatch));
    }
  }

  /** Commits a group in stream order (skipping what was committed before), then acknowledges it. */
  private async commit(group: JsMsg[]): Promise<void> {
    group.sort((a, b) => a.seq - b.seq);
    const fresh = group.filter((m, i) => m.seq > this.committed && (i === 0 || m.seq !== group[i - 1]!.seq));
    const items = fresh.map((m) => {
      const text = new TextDecoder().decode(m.data);
      try {
        return { event: parseJsonExact(text), address: m.subject, payload: text }; // 64-bit counters stay exact
      } catch (err) {
        return { error: `not JSON: ${(err as Error).message}`, address: m.subject, payload: Buffer.from(m.data) };
      }
    });
    const last = fresh.at(-1)?.seq ?? this.committed;
    for (let attempt = 1; fresh.length > 0; attempt++) {
      try {
        const r = await this.d.ctx.ingestCanonical(items, { state: { [this.stateKey]: String(last) } });
        this.d.stats.rejected += r.rejected;
        break;
      } catch (err) {
        if (this.stopping) return; // not acknowledged: the next start creates the consumer from what was committed
        if (attempt === 1) this.d.ctx.log.warn({ partition: this.partition, err: (err as Error).message }, 'commit refused; retrying (messages kept: their ack wait is extended)');
        for (const m of group) m.working();
        await commitRetryPause(attempt);
      }
    }
    this.committed = last;
    for (const m of group) m.ack();
    this.d.stats.received += group.length;
    this.d.stats.lastMessageAt = Date.now();
    this.observe(items, fresh.at(-1));
  }

  /** Per plant: events relayed, and how far behind the stream the relay is (the last message's stream time). */
  private observe(items: { event?: unknown }[], last: JsMsg | undefined): void {
    const m = this.d.ctx.metrics;
    const perPlant = new Map<string, number>();
    for (const it of items) {
      const plant = String((it.event as { plant?: unknown } | undefined)?.plant ?? 'unknown');
      perPlant.set(plant, (perPlant.get(plant) ?? 0) + 1);
    }
    const counter = m.counter('plantsync_relay_events_total', 'Events a relay committed from the backbone, per plant', ['source', 'plant']);
    const lag = m.gauge('plantsync_relay_lag_seconds', 'Age of the last message a relay committed, per plant (its time in the stream to now)', ['source', 'plant']);
    const source = this.d.source;
    const age = last ? Math.max(0, (Date.now() - Number(last.info.timestampNanos / 1e6)) / 1000) : 0;
    for (const [plant, n] of perPlant) {
      counter.inc({ source, plant }, n);
      lag.set({ source, plant }, age);
    }
    if (last) m.gauge('plantsync_relay_partition_pending', 'Messages of a partition still waiting in the stream', ['source', 'partition']).set({ source, partition: String(this.partition) }, last.info.pending);
  }

  /** Wins the lease (free, never taken, or already this relay's); undefined when stopped while waiting. */
  private async acquire(): Promise<number | undefined> {
    let said = '';
    while (!this.stopping) {
      const { lease, seq } = await this.d.leases.read(this.partition);
      if (!lease || lease.state === 'free' || lease.owner === this.d.owner) {
        if (await this.d.leases.write(this.partition, { owner: this.d.owner, state: 'active', upTo: lease?.upTo ?? 0 }, seq)) return lease?.upTo ?? 0;
        continue; // another relay wrote meanwhile: read again
      }
      this.state = `waiting for ${lease.owner} (${lease.state})`;
      if (said !== this.state) this.d.ctx.log.info({ partition: this.partition, owner: lease.owner, leaseState: lease.state }, 'partition held by another relay; waiting until it is handed over');
      said = this.state;
      await sleep(POLL_MS);
    }
    return undefined;
  }

  /** Hands a partition this relay held over: draining until its sinks owe nothing from before, then free. */
  private async giveUp(): Promise<void> {
    for (;;) {
      const { lease, seq } = await this.d.leases.read(this.partition);
      if (!lease || lease.owner !== this.d.owner || lease.state === 'free') return; // not ours: nothing to hand over
      const upTo = Math.max(lease.upTo, Number(this.d.ctx.loadState()[this.stateKey] ?? 0));
      if (lease.state === 'active') {
        if (!(await this.d.leases.write(this.partition, { owner: this.d.owner, state: 'draining', upTo }, seq))) continue;
        this.d.ctx.log.info({ partition: this.partition }, 'partition given up: delivering what was taken from it before handing it over');
        continue;
      }
      this.state = 'draining';
      const since = Date.parse(lease.at);
      const owed = this.d.ctx.oldestOwed();
      if (owed === undefined || owed > since) {
        if (await this.d.leases.write(this.partition, { owner: this.d.owner, state: 'free', upTo }, seq)) {
          this.state = 'handed over';
          this.d.ctx.log.info({ partition: this.partition, upTo }, 'partition handed over: everything taken from it is delivered');
          return;
        }
        continue;
      }
      if (this.stopping) return; // still draining; the next start goes on with it
      await sleep(POLL_MS);
    }
  }
}
