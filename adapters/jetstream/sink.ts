// The JetStream sink (gateway side): each event is published to its subject with Nats-Msg-Id = its idempotency key,
// and counts as delivered only when the stream's PubAck arrives (a PubAck marked duplicate too: the stream had it).
// A batch carries at most one event per ordering key (the dispatcher's default), so a key never has two events in
// flight, while many keys are: every event of a batch is published at once and the batch waits for all PubAcks.
// A resent batch older than half the duplicate window is looked up in the stream first (resend-check.ts).
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { outcomeOf, type Batch, type ClaimedEvent, type ItemResult, type Logger, type Outcome, type Sink, type SinkContext, type SinkHealth } from '../../agent/adapter-kit.ts';
import { classifyAck, classifyError } from './classify.ts';
import type { JetStreamSinkConfig } from './config.ts';
import { checkStream, connectNats } from './connection.ts';
import { ResendCheck } from './resend-check.ts';
import { partitionOf, subjectTemplate } from './subject.ts';

/** How often a stream found wrong at connect is checked again (a central team fixing it is seen without a restart). */
const RECHECK_MS = 5_000;

export class JetStreamSink implements Sink {
  readonly name: string;
  private readonly cfg: JetStreamSinkConfig;
  private readonly log: Logger;
  private readonly subjectOf: ReturnType<typeof subjectTemplate>;
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private resends: ResendCheck | undefined;
  private duplicateWindowMs = 0;
  /** Why nothing can be published now (not connected, the stream is wrong); undefined when publishing works. */
  private problem: string | undefined = 'not connected yet';
  private problemSince = Date.now();
  private lastCheck = 0;
  private closed = false;

  constructor(name: string, cfg: JetStreamSinkConfig, ctx: Pick<SinkContext, 'log'>) {
    this.name = name;
    this.cfg = cfg;
    this.log = ctx.log;
    this.subjectOf = subjectTemplate(cfg.subject, `sinks.${name}.subject`);
  }

  /** Never waits for the server: a gateway starts, and spools, while the backbone is unreachable. */
  async open(): Promise<void> {
    void connectNats(this.cfg, `sinks.${this.name}`, `plantsync-sink-${this.name}`, () => this.closed, (err) => this.setProblem(`connecting to ${this.cfg.servers.join(', ')}: ${err.message}`)).then((nc) => nc && this.connected(nc));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.nc?.close().catch(() => {}); // not drain: with the server gone it would wait for it for ever
  }

  health(): SinkHealth {
    return this.problem === undefined ? { breaker: 'closed' } : { breaker: 'open', breakerOpenSince: this.problemSince };
  }

  async deliver(batch: Batch, _signal: AbortSignal): Promise<Outcome> {
    if (this.problem !== undefined) await this.recheck();
    const js = this.js;
    if (this.problem !== undefined || !js) return { kind: 'retry', error: this.problem ?? 'not connected' };
    const items = batch.events.map((e) => ({ e, subject: this.subject(e) }));
    let known = new Set<string>();
    const now = Date.now();
    const old = batch.resend ? items.filter((i) => ResendCheck.needed(i.e, this.duplicateWindowMs, now)) : [];
    if (old.length) {
      try {
        known = await this.resends!.stored(old);
      } catch (err) {
        return { kind: 'retry', error: `looking up re-sent events in stream '${this.cfg.stream}' before sending them again: ${(err as Error).message}` };
      }
      if (known.size) this.log.info({ batch: batch.id, alreadyStored: known.size }, 're-sent batch: events the stream already holds are not published again');
    }
    const results = await Promise.all(
      items.map(({ e, subject }): Promise<ItemResult> | ItemResult =>
        known.has(e.idempotencyKey)
          ? { kind: 'delivered', receipt: undefined }
          : js.publish(subject, e.body, { msgID: e.idempotencyKey, timeout: this.cfg.publishTimeoutMs }).then(classifyAck, (err: unknown) => classifyError(err, subject)),
      ),
    );
    return outcomeOf(results);
  }

  private subject(e: ClaimedEvent): string {
    const body = JSON.parse(e.body) as { plant?: string; line?: string; source?: { id?: string } };
    return this.subjectOf({ plant: body.plant, line: body.line, type: e.type, partition: partitionOf(e.orderingKey, this.cfg.partitions), source: body.source?.id });
  }

  private connected(nc: NatsConnection): void {
    this.nc = nc;
    this.js = jetstream(nc, { timeout: this.cfg.publishTimeoutMs });
    this.resends = new ResendCheck(this.js, this.cfg.stream);
    this.log.info({ server: nc.getServer() }, 'connected to NATS');
    void this.check();
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') this.setProblem(`disconnected from NATS ${String(s.server ?? '')}; reconnecting`);
        if (s.type === 'reconnect') {
          this.log.info({ server: nc.getServer() }, 'reconnected to NATS');
          void this.check();
        }
      }
    })();
  }

  /** Checks the stream; clears the problem only when it is right. */
  private async check(): Promise<void> {
    this.lastCheck = Date.now();
    const sample = this.subjectOf({ plant: 'plant', line: 'line', type: 'production.confirmation', partition: 0, source: 'source' });
    try {
      const { duplicateWindowMs } = await checkStream(this.nc!, this.cfg.stream, sample);
      this.duplicateWindowMs = duplicateWindowMs;
      if (this.problem !== undefined) this.log.info({ stream: this.cfg.stream, duplicateWindowMs }, 'stream checked: publishing');
      this.problem = undefined;
    } catch (err) {
      this.setProblem((err as Error).message, true);
    }
  }

  private async recheck(): Promise<void> {
    if (this.nc && !this.nc.isClosed() && Date.now() - this.lastCheck > RECHECK_MS) await this.check();
  }

  private setProblem(problem: string, loud = false): void {
    if (this.problem === undefined) this.problemSince = Date.now();
    if (problem !== this.problem) this.log[loud ? 'error' : 'warn']({ stream: this.cfg.stream }, problem);
    this.problem = problem;
  }
}
