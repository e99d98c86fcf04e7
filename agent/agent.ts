// The agent wires config, spool, sinks and dispatchers together, and is the one door for ingest: drafts become
// canonical events, invalid ones become rejected records, and the promise resolves only after the spool commit,
// so a source acknowledges upstream only what is durable.
import { join } from 'node:path';
import { Spool, SpoolFullError } from '../spool/spool.ts';
import { REJECTED_PAYLOAD_LIMIT, type RejectedInput } from '../spool/admin.ts';
import type { AppendOptions, SpoolNotice, SinkStats, SpoolRecord } from '../spool/types.ts';
import { ConfigError, spoolRoutes, withDefaults, type AgentConfig, type ConfigInput, type SinkConfig, type SourceConfig } from './config.ts';
import { planReload, type ReloadReport } from './reload-plan.ts';
import type { Server } from 'node:http';
import { adminUrl, startAdminHttp } from './admin-http.ts';
import { startAdminSocket } from './admin-socket.ts';
import { adminSocketPath } from './peer-proof.ts';
import { runKeys, type KeysRequest, type KeysResult } from './keys-ops.ts';
import { runDlq, type DlqRequest, type DlqResult } from './dlq-ops.ts';
import { runRejected, runReplay, type RejectedRequest, type RejectedResult, type RemapContext, type ReplayRequest } from './rejected-ops.ts';
import { Dispatcher, type DispatcherStats } from './dispatcher.ts';
import { buildEvent, toRecord, type EventDraft } from './events.ts';
import type { Logger } from './log.ts';
import { Metrics } from './metrics.ts';
import { checkSecrets } from './secrets.ts';
import { configWarnings } from './config-warnings.ts';
import { ObjectiveWatch } from './objectives.ts';
import { readinessProblems } from './readiness.ts';
import { registerAgentMetrics } from './agent-metrics.ts';
import { Mapper, type MapResult, type SourceMessage } from './mapping/mapper.ts';
import { copyForRejected, depthOf } from './payload.ts';
import { sinkAdapters, sourceAdapters } from './registry.ts';
import type { Sink, SinkHealth } from './sink.ts';
import type { IngestResult, Source } from './source.ts';

export type { IngestResult } from './source.ts';

export interface AgentOptions {
  /** Defaults are applied here (withDefaults): a config from loadConfig already has them, one built in code may not. */
  config: ConfigInput;
  configVersion: string;
  log: Logger;
  /** Overrides sink construction (tests hand in sinks they hold). */
  createSink?: (name: string) => Sink | undefined;
  /**
   * The agent cannot go on (its spool file is damaged): the runner stops it and exits non-zero, and the next start
   * moves the file aside. Without it the agent only logs and reports not ready.
   */
  onFatal?: (err: Error) => void;
}

export interface SinkStatus extends SinkStats, DispatcherStats {
  /** The sink's circuit breaker ('closed' for sinks without one). */
  breaker: SinkHealth['breaker'];
}

export class Agent {
  readonly startedAt = Date.now();
  spool!: Spool;
  readonly sinks = new Map<string, Sink>();
  readonly dispatchers = new Map<string, Dispatcher>();
  readonly sources = new Map<string, Source>();
  private readonly opts: AgentOptions & { config: AgentConfig };
  private readonly log: Logger;
  private pruneTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private intakeClosed = false;
  private starting: Promise<void> | undefined;
  readonly ingestStats = { accepted: 0, duplicates: 0, rejected: 0 };
  readonly metrics = new Metrics();
  readonly objectives = new ObjectiveWatch(() => this.opts.config, () => this.spool, () => [...this.dispatchers.keys()], this.metrics);
  private mapper: Mapper;
  private readonly rejectLog = new Map<string, { at: number; suppressed: number }>();

  constructor(opts: AgentOptions) {
    this.opts = { ...opts, config: withDefaults(opts.config) }; // config and version change on reload
    this.log = opts.log.child({ component: 'agent' });
    this.mapper = new Mapper(this.opts.config.mappings ?? [], { plant: this.opts.config.agent.plant });
  }

  get config(): AgentConfig {
    return this.opts.config;
  }

  get configVersion(): string {
    return this.opts.configVersion;
  }

  /** The config's files, the last reload and a config that was refused (the agent runs on the last good one). */
  readonly configState: { files: string[]; lastReloadAt: number | undefined; error: { at: number; message: string } | undefined } = { files: [], lastReloadAt: undefined, error: undefined };

  /** Called by whoever loads config files: a refused config is shown in status and metrics until a good one. */
  configRefused(message: string): void {
    this.configState.error = { at: Date.now(), message };
    this.metrics.counter('plantsync_config_reloads_total', 'Config reloads by result', ['result']).inc({ result: 'refused' });
    this.log.error({ error: message, configVersion: this.opts.configVersion }, 'config refused; running on the last good config');
  }

  rejectedRecords(): number {
    return this.spool.admin.countRejected();
  }

  dlq(r: DlqRequest): DlqResult {
    return runDlq(this.spool.admin, r);
  }

  /** Stuck keys: list those that do not flow, take one out of the flow on purpose (agent/keys-ops.ts). */
  keys(r: KeysRequest): KeysResult {
    return runKeys(this.spool, r);
  }

  /** The admin HTTP listener's base URL, once started (undefined when disabled). */
  adminUrl: string | undefined;
  private admin: Server | undefined;
  private adminSocket: Server | undefined;

  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const cfg = this.opts.config;
    checkSecrets(cfg); // a missing secret stops the start here, named by its JSON path, before anything opens
    const spoolLog = this.opts.log.child({ component: 'spool' });
    this.spool = Spool.open({
      path: join(cfg.agent.stateDir, 'spool.db'),
      routes: spoolRoutes(cfg),
      capBytes: cfg.spool.capBytes,
      warnRatio: cfg.spool.warnRatio,
      retentionMs: cfg.spool.retentionHours * 3600_000,
      rejectedRetentionMs: (cfg.spool.rejected.retentionHours ?? cfg.spool.retentionHours) * 3600_000,
      rejected: { maxBytes: cfg.spool.rejected.maxBytes, maxRecords: cfg.spool.rejected.maxRecords },
      commitWindowMs: cfg.spool.commitWindowMs,
      onNotice: (n) => {
        logNotice(spoolLog, n);
        if (n.kind === 'corrupt') {
          spoolLog.fatal({ reason: n.reason }, 'spool file is damaged: the agent stops; the next start checks it and moves it aside (kept for forensics)');
          this.opts.onFatal?.(new Error(`spool file is damaged: ${n.reason}`));
        }
      },
    });
    for (const [name, sc] of Object.entries(cfg.sinks)) await this.startSink(name, sc);
    for (const [name, sc] of Object.entries(cfg.sources ?? {})) await this.startSource(name, sc);
    registerAgentMetrics(this);
    this.objectives.start();
    await this.startAdmin();
    this.pruneTimer = setInterval(() => this.prune(), 10 * 60_000).unref();
    for (const w of configWarnings(cfg)) this.log.warn({ warning: w }, `config weakens security: ${w}`);
    this.log.info({ configVersion: this.opts.configVersion, sinks: [...this.sinks.keys()] }, 'agent started');
  }

  private async startSink(name: string, sc: SinkConfig): Promise<void> {
    const stateDir = this.opts.config.agent.stateDir;
    const log = this.opts.log.child({ component: 'sink', sink: name });
    const sink = this.opts.createSink?.(name) ?? sinkAdapters.get(sc.type)!.create(name, sc, { log, stateDir, metrics: this.metrics });
    await sink.open();
    this.sinks.set(name, sink);
    const d = sc.delivery;
    const dispatcher = new Dispatcher(
      this.spool,
      sink,
      {
        concurrency: d.concurrency,
        maxEvents: d.maxEvents,
        maxBytes: d.maxBytes,
        lingerMs: d.lingerMs,
        backoff: d.backoff,
        metrics: this.metrics,
        onDelivered: (type, occurredAt, now) => this.objectives.delivered(name, type, occurredAt, now),
      },
      log,
    );
    this.dispatchers.set(name, dispatcher);
    dispatcher.start();
  }

  /** Stops a sink's deliveries (in-flight ones get the deadline) and closes it; what it owes stays in the spool. */
  private async stopSink(name: string, deadlineMs: number): Promise<void> {
    await this.dispatchers.get(name)?.stop(deadlineMs);
    this.dispatchers.delete(name);
    await this.sinks.get(name)?.close().catch((err: unknown) => this.log.warn({ err, sink: name }, 'sink close failed'));
    this.sinks.delete(name);
  }

  private async startSource(name: string, sc: SourceConfig): Promise<void> {
    const cfg = this.opts.config;
    const log = this.opts.log.child({ component: 'source', source: name });
    const source = sourceAdapters.get(sc.type)!.create(name, sc, undefined);
    this.sources.set(name, source);
    await source.start({
      log,
      metrics: this.metrics,
      agentId: cfg.agent.id,
      stateDir: cfg.agent.stateDir,
      ingest: (msgs, opts) => this.ingestMessages(msgs, { onCommitted: opts?.onCommitted, events: opts?.events, state: Object.entries(opts?.state ?? {}).map(([key, value]) => ({ source: name, key, value })) }),
      loadState: () => Object.fromEntries(this.spool.sourceState(name)),
      reject: (items) => this.reject(items),
    });
  }

  /** Stops a source: it finishes committing (and acknowledging) what it took in; the rest stays upstream. */
  private async stopSource(name: string): Promise<void> {
    await this.sources.get(name)?.stop().catch((err: unknown) => this.log.warn({ err, source: name }, 'source stop failed'));
    this.sources.delete(name);
  }

  private async startAdmin(): Promise<void> {
    if (!this.adminSocket) {
      try {
        this.adminSocket = await startAdminSocket(this);
        this.log.info({ socket: adminSocketPath(this.opts.config.agent.stateDir) }, 'admin socket listening (plantsync status, dlq, rejected, replay, keys)');
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'admin socket could not start; running without it (the CLI cannot reach this agent)');
      }
    }
    const a = this.opts.config.admin;
    if (!a.enabled) return;
    try {
      this.admin = await startAdminHttp(this, a.host, a.port);
      this.adminUrl = adminUrl(this.admin);
      this.log.info({ url: this.adminUrl }, 'admin HTTP listening (/metrics, /healthz, /readyz, /status)');
    } catch (err) {
      // A taken port must not stop the agent from moving postings: it runs on, without the listener.
      this.log.error({ err: (err as Error).message, host: a.host, port: a.port }, 'admin HTTP listener could not start; running without it');
    }
  }

  private async stopAdmin(socketToo = false): Promise<void> {
    await new Promise((r) => (this.admin ? this.admin.close(r) : r(undefined)));
    this.admin = undefined;
    this.adminUrl = undefined;
    if (socketToo) {
      await new Promise((r) => (this.adminSocket ? this.adminSocket.close(r) : r(undefined)));
      this.adminSocket = undefined;
    }
  }

  /**
   * Applies a new config (already validated) without a restart. The spool is never touched: routes apply to events
   * appended from now on. Sources and sinks whose settings did not change keep their connections; changed ones are
   * stopped and started again (in-flight batches get `deadlineMs`, then go out again from the spool), removed ones
   * stopped, new ones started. Settings that name the spool or the keys (agent id, plant, state directory, spool)
   * need a restart: such a config is refused and the agent keeps the one it runs.
   */
  reload(next: { config: ConfigInput; version: string }, deadlineMs = 10_000): Promise<ReloadReport> {
    const run = this.reloading.then(() => this.applyReload({ config: withDefaults(next.config), version: next.version }, deadlineMs));
    this.reloading = run.catch(() => {});
    return run;
  }
  private reloading: Promise<unknown> = Promise.resolve();

  private async applyReload(next: { config: AgentConfig; version: string }, deadlineMs: number): Promise<ReloadReport> {
    if (this.stopping) throw new Error('agent is stopping');
    await this.start();
    const old = this.opts.config;
    checkSecrets(next.config); // before anything is stopped: a missing secret refuses the config as a whole
    const plan = planReload(old, next.config);
    if (plan.restartNeeded.length) throw new ConfigError(`needs a restart to change ${plan.restartNeeded.join(', ')}; still running config ${this.opts.configVersion}`);
    this.opts.config = next.config;
    this.opts.configVersion = next.version;
    this.mapper = new Mapper(next.config.mappings ?? [], { plant: next.config.agent.plant });
    this.spool.setRoutes(spoolRoutes(next.config));
    for (const name of [...plan.sources.changed, ...plan.sources.removed]) await this.stopSource(name);
    for (const name of [...plan.sinks.changed, ...plan.sinks.removed]) {
      await this.stopSink(name, deadlineMs);
      this.spool.releaseHandedOut(name);
    }
    for (const name of plan.sinks.removed) {
      // What it still owes stays in the spool (retention never deletes it): a sink added back later delivers it.
      const st = this.spool.stats(name);
      const owed = st.pending + st.held + st.deadLetters;
      if (owed) this.log.warn({ sink: name, pending: st.pending + st.held, deadLetters: st.deadLetters }, 'sink removed from the config while it still owes events; they stay in the spool');
    }
    for (const name of [...plan.sinks.changed, ...plan.sinks.added]) await this.startSink(name, next.config.sinks[name]!);
    for (const name of [...plan.sources.changed, ...plan.sources.added]) await this.startSource(name, next.config.sources![name]!);
    if (plan.adminChanged) {
      await this.stopAdmin();
      await this.startAdmin();
    }
    this.configState.lastReloadAt = Date.now();
    this.configState.error = undefined;
    this.metrics.counter('plantsync_config_reloads_total', 'Config reloads by result', ['result']).inc({ result: 'applied' });
    this.log.info({ configVersion: next.version, ...plan.summary }, 'config reloaded');
    return plan.summary;
  }

  /**
   * Maps drafts to canonical events and commits them durably. Invalid drafts become rejected records (committed
   * too). Resolves after the commit: only then may the source acknowledge. Rejects on back-pressure (SpoolFullError).
   */
  async ingest(drafts: EventDraft[], opts: { rawOf?: (i: number) => RejectedInput } & AppendOptions = {}): Promise<IngestResult> {
    if (this.intakeClosed) throw new Error('agent is stopping: not taking events');
    const receivedAt = new Date().toISOString(); // once per group, not per event
    const records: SpoolRecord[] = [];
    const rejected: RejectedInput[] = [];
    for (const [i, d] of drafts.entries()) {
      // Whatever one draft does (an invalid field, a body that cannot be serialized) is that draft's rejected
      // record: never an exception that would make the source retry the whole group forever.
      let reason: string;
      try {
        const r = buildEvent(d, this.opts.configVersion, receivedAt);
        if (r.ok) {
          records.push(toRecord(r.event));
          continue;
        }
        reason = r.reason;
      } catch (err) {
        reason = `event could not be built: ${(err as Error).message}`;
      }
      const raw = opts.rawOf?.(i) ?? { source: d.source?.id ?? 'unknown', address: d.source?.address ?? '', reason: '', payload: copyForRejected(d, REJECTED_PAYLOAD_LIMIT) };
      rejected.push({ ...raw, reason });
    }
    // State without events still goes through append, so it is committed in order with everything else.
    const results = await this.committing(async () => {
      if (rejected.length) this.reject(rejected);
      return records.length || opts.state?.length ? await this.spool.append(records, opts) : (opts.onCommitted?.(), []);
    });
    const duplicates = results.filter((r) => r.duplicate).length;
    const out = { accepted: results.length - duplicates, duplicates, rejected: rejected.length };
    this.ingestStats.accepted += out.accepted;
    this.ingestStats.duplicates += out.duplicates;
    this.ingestStats.rejected += out.rejected;
    return out;
  }

  /**
   * Maps source messages with the config's mapping rules and commits the events. A message no rule can map (or
   * whose events fail their schema) becomes a rejected record with source, address, reason and a bounded copy of
   * the payload. Resolves after the commit: then the source may acknowledge every message it passed in.
   */
  async ingestMessages(msgs: SourceMessage[], opts: AppendOptions & { events?: EventDraft[] } = {}): Promise<IngestResult> {
    const drafts: EventDraft[] = [];
    const origin: SourceMessage[] = [];
    const rejected: RejectedInput[] = [];
    const maxDepth = this.opts.config.limits.maxPayloadDepth;
    for (const m of msgs) {
      const r = this.mapOne(m, maxDepth);
      if (!r.ok) rejected.push(rejectedOf(m, r.reason));
      else for (const d of r.drafts) (drafts.push(d), origin.push(m));
    }
    if (rejected.length) this.reject(rejected);
    const own = (opts.events ?? []).map((d) => (d.plant ? d : { ...d, plant: this.opts.config.agent.plant }));
    const rawOf = (i: number): RejectedInput => {
      if (i < drafts.length) return rejectedOf(origin[i]!, 'invalid event');
      const d = own[i - drafts.length]!; // a source's own draft (source.gap) that failed its schema
      return { source: d.source.id, address: d.source.address, reason: '', payload: copyForRejected(d, REJECTED_PAYLOAD_LIMIT) };
    };
    const res = await this.ingest([...drafts, ...own], { ...opts, rawOf });
    return { ...res, rejected: res.rejected + rejected.length };
  }

  /** One message through the depth limit and the mapping rules; whatever fails is this message's reason. */
  private mapOne(m: SourceMessage, maxDepth: number): MapResult {
    try {
      if (depthOf(m.payload, maxDepth) > maxDepth) return { ok: false, reason: `payload nested deeper than ${maxDepth} levels (limits.maxPayloadDepth)` };
      return this.mapper.map(m);
    } catch (err) {
      return { ok: false, reason: `mapping failed: ${(err as Error).message}` };
    }
  }

  /** Runs a commit and remembers whether commits fail (for readiness): a full spool is back-pressure, not a failure. */
  private async committing<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const r = await fn();
      this.commitFailing = undefined;
      return r;
    } catch (err) {
      if (!(err instanceof SpoolFullError) && !this.intakeClosed) this.commitFailing ??= { since: Date.now(), error: (err as Error).message };
      throw err;
    }
  }
  private commitFailing: { since: number; error: string } | undefined;

  /** Why the agent cannot commit or deliver now (empty: it can); /readyz and status add sources and objectives. */
  readiness(): string[] {
    if (this.spool.damaged) return [`spool file damaged: ${this.spool.damaged}; the agent stops, and the next start moves the file aside`];
    const r = this.opts.config.readiness;
    const full = this.spool.maintenance.fullness();
    return readinessProblems({
      now: Date.now(),
      settings: r,
      commitFailing: this.commitFailing ?? this.spool.flushFailure(),
      spoolFull: full.full ? full : undefined,
      sinks: [...this.dispatchers].map(([name, d]) => ({
        name,
        startedAt: d.startedAt,
        lastSuccessAt: d.stats.lastSuccessAt,
        workWaiting: this.spool.workWaiting(name),
        breakerOpenSince: this.sinks.get(name)?.health?.().breakerOpenSince,
        spoolFailingSince: d.stats.spoolFailingSince,
        spoolError: d.stats.spoolError,
      })),
    });
  }

  /** Rejected records: list, replay through the current mapping, drop (agent/rejected-ops.ts). */
  rejected(r: RejectedRequest): Promise<RejectedResult> {
    return runRejected(this.spool, this.remapContext(), r);
  }

  /** Re-sends events a sink already delivered (after an ERP restore): safe under their idempotency keys. */
  replay(r: ReplayRequest): { count: number } {
    return runReplay(this.spool, r);
  }

  remapContext(): RemapContext {
    return { source: (n) => this.sources.get(n), sourceType: (n) => this.opts.config.sources?.[n]?.type, mapper: this.mapper, configVersion: this.opts.configVersion };
  }

  /** Records input that could not become an event (malformed, unmappable, oversized), durably and visibly. */
  reject(items: RejectedInput[]): void {
    this.spool.admin.addRejected(items);
    const now = Date.now();
    for (const it of items) {
      this.metrics.counter('plantsync_rejected_inputs_total', 'Input stored as a rejected record (malformed, unmappable, invalid)', ['source']).inc({ source: it.source });
      // One line per source per 10 s, with how many more there were: a flood of bad input must not flood the log.
      const seen = this.rejectLog.get(it.source);
      if (seen && now - seen.at < 10_000) {
        seen.suppressed++;
        continue;
      }
      this.log.warn({ source: it.source, address: it.address, reason: it.reason, ...(seen?.suppressed && { alsoRejectedSinceLastLine: seen.suppressed }) }, 'input rejected');
      this.rejectLog.set(it.source, { at: now, suppressed: 0 });
    }
  }

  sinkStatus(name: string): SinkStatus {
    const d = this.dispatchers.get(name);
    if (!d) throw new Error(`unknown sink '${name}'`);
    return { ...this.spool.stats(name), ...d.stats, breaker: this.sinks.get(name)?.health?.().breaker ?? 'closed' };
  }

  prune(): number {
    try {
      const n = this.spool.maintenance.prune();
      if (n) this.log.info({ deleted: n }, 'retention: deleted delivered events past their age');
      return n;
    } catch (err) {
      this.log.error({ err }, 'retention failed');
      return 0;
    }
  }

  /** Graceful stop: no new intake, in-flight deliveries get `deadlineMs` to finish, then the spool is closed. */
  async stop(deadlineMs = 10_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.starting?.catch(() => {}); // a stop during start-up waits for it, then undoes it
    clearInterval(this.pruneTimer);
    this.objectives.stop();
    await this.reloading;
    await this.stopAdmin(true);
    // Intake first: sources finish committing what they took in (and acknowledge it) before anything else stops.
    for (const s of this.sources.values()) await s.stop().catch((err: unknown) => this.log.warn({ err }, 'source stop failed'));
    this.intakeClosed = true;
    await Promise.all([...this.dispatchers.values()].map((d) => d.stop(deadlineMs)));
    for (const s of this.sinks.values()) await s.close().catch((err: unknown) => this.log.warn({ err }, 'sink close failed'));
    this.spool?.close();
    this.log.info('agent stopped');
  }
}

/** A message's rejected record keeps its original bytes (bounded by the spool), never a re-serialized value. */
function rejectedOf(m: SourceMessage, reason: string): RejectedInput {
  return { source: m.source.id, address: m.address, reason, payload: m.raw ?? copyForRejected(m.payload, REJECTED_PAYLOAD_LIMIT) };
}

function logNotice(log: Logger, n: SpoolNotice): void {
  if (n.kind === 'corrupt') return; // logged as fatal where it is handled
  const level = n.kind === 'integrity-checked' && n.ok ? 'info' : 'warn';
  log[level]({ notice: n.kind, ...n }, `spool: ${n.kind}`);
}
