// Runtime: the running parts. Sources feed intake; per sink, a dispatcher claims ordered batches from the spool,
// the sink delivers them, and the dispatcher settles the outcome back (agent/dispatcher.ts holds that hand-off).
// A reload starts, stops and restarts parts here; the spool itself is never touched by a reload.
import type { Spool } from '../spool/spool.ts';
import type { SinkStats } from '../spool/types.ts';
import type { AgentConfig, SinkConfig, SourceConfig } from './config.ts';
import { Dispatcher, type DispatcherStats } from './dispatcher.ts';
import type { Intake } from './intake.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import { sinkAdapters, sourceAdapters } from './registry.ts';
import type { Sink, SinkHealth } from './sink.ts';
import type { Source } from './source.ts';

export interface SinkStatus extends SinkStats, DispatcherStats {
  /** The sink's circuit breaker ('closed' for sinks without one). */
  breaker: SinkHealth['breaker'];
}

export interface RuntimeDeps {
  spool: Spool;
  intake: Intake;
  log: Logger;
  metrics: Metrics;
  config: () => AgentConfig;
  /** Overrides sink construction (tests hand in sinks they hold). */
  createSink?: ((name: string) => Sink | undefined) | undefined;
  /** A sink acknowledged an event, or rejected it into the dead letters (latency objectives, history). */
  onSettled: (sink: string, result: 'delivered' | 'dead', type: string, occurredAt: number, now: number) => void;
}

export class Runtime {
  private readonly sinkMap = new Map<string, Sink>();
  private readonly dispatcherMap = new Map<string, Dispatcher>();
  private readonly sourceMap = new Map<string, Source>();
  private readonly d: RuntimeDeps;

  constructor(deps: RuntimeDeps) {
    this.d = deps;
  }

  get sinks(): ReadonlyMap<string, Sink> {
    return this.sinkMap;
  }

  get dispatchers(): ReadonlyMap<string, Dispatcher> {
    return this.dispatcherMap;
  }

  get sources(): ReadonlyMap<string, Source> {
    return this.sourceMap;
  }

  async startSink(name: string, sc: SinkConfig): Promise<void> {
    const { agent } = this.d.config();
    const log = this.d.log.child({ component: 'sink', sink: name });
    const sink = this.d.createSink?.(name) ?? (await sinkAdapters.get(sc.type)!.create(name, sc, { log, stateDir: agent.stateDir, metrics: this.d.metrics }));
    await sink.open();
    this.sinkMap.set(name, sink);
    const dispatcher = new Dispatcher(this.d.spool, sink, { ...sc.delivery, metrics: this.d.metrics, onSettled: (result, type, occurredAt, now) => this.d.onSettled(name, result, type, occurredAt, now) }, log);
    this.dispatcherMap.set(name, dispatcher);
    dispatcher.start();
  }

  /** Stops a sink's deliveries (in-flight ones get the deadline) and closes it; what it owes stays in the spool. */
  async stopSink(name: string, deadlineMs: number): Promise<void> {
    await this.dispatcherMap.get(name)?.stop(deadlineMs);
    this.dispatcherMap.delete(name);
    await this.sinkMap.get(name)?.close().catch((err: unknown) => this.d.log.warn({ err, sink: name }, 'sink close failed'));
    this.sinkMap.delete(name);
  }

  async startSource(name: string, sc: SourceConfig): Promise<void> {
    const { agent } = this.d.config();
    const source = await sourceAdapters.get(sc.type)!.create(name, sc, undefined);
    this.sourceMap.set(name, source);
    const intake = this.d.intake;
    await source.start({
      log: this.d.log.child({ component: 'source', source: name }),
      metrics: this.d.metrics,
      agentId: agent.id,
      stateDir: agent.stateDir,
      ingest: (msgs, opts) => intake.ingestMessages(msgs, { onCommitted: opts?.onCommitted, events: opts?.events, state: Object.entries(opts?.state ?? {}).map(([key, value]) => ({ source: name, key, value })) }),
      ingestCanonical: (items, opts) => intake.ingestCanonical(name, items, { state: Object.entries(opts?.state ?? {}).map(([key, value]) => ({ source: name, key, value })) }),
      oldestOwed: () => this.d.spool.oldestOwed(Object.keys(this.d.config().sinks)),
      loadState: () => Object.fromEntries(this.d.spool.sourceState(name)),
      reject: (items) => intake.reject(items),
    });
  }

  /** Stops a source: it finishes committing (and acknowledging) what it took in; the rest stays upstream. */
  async stopSource(name: string): Promise<void> {
    await this.sourceMap.get(name)?.stop().catch((err: unknown) => this.d.log.warn({ err, source: name }, 'source stop failed'));
    this.sourceMap.delete(name);
  }

  /** Intake first (sources commit and acknowledge what they took in), then deliveries get `deadlineMs`, then sinks close. */
  async stopAll(deadlineMs: number, afterSources: () => void): Promise<void> {
    for (const name of [...this.sourceMap.keys()]) await this.stopSource(name);
    afterSources();
    await Promise.all([...this.dispatcherMap.values()].map((d) => d.stop(deadlineMs)));
    for (const s of this.sinkMap.values()) await s.close().catch((err: unknown) => this.d.log.warn({ err }, 'sink close failed'));
  }

  sinkStatus(name: string): SinkStatus {
    const d = this.dispatcherMap.get(name);
    if (!d) throw new Error(`unknown sink '${name}'`);
    return { ...this.d.spool.stats(name), ...d.stats, breaker: this.sinkMap.get(name)?.health?.().breaker ?? 'closed' };
  }
}
