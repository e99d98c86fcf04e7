// The agent: lifecycle and reload, composed of four parts that each own one responsibility:
//   intake.ts         map, build, validate and commit what sources take in; rejected records
//   runtime.ts        sources, sinks and their dispatchers (the spool -> sink hand-off is in dispatcher.ts)
//   operations.ts     dead letters, rejected records, replays, stuck keys, retention, readiness
//   admin-surface.ts  the admin socket and the read-only HTTP listener
// The spool is private to them: nothing outside reaches it but through these parts (tests: agent/inspect.ts).
import type { AuditEntry } from '../spool/admin.ts';
import type { AuditRequest } from './admin-requests.ts';
import { Spool } from '../spool/spool.ts';
import type { RejectedInput } from '../spool/admin.ts';
import type { AppendOptions, SpoolNotice } from '../spool/types.ts';
import { AdminSurface } from './admin-surface.ts';
import { registerAgentMetrics } from './agent-metrics.ts';
import { ConfigError, spoolRoutes, withDefaults, type AgentConfig, type ConfigInput } from './config.ts';
import { configWarnings } from './config-warnings.ts';
import type { DlqRequest, DlqResult } from './dlq-ops.ts';
import type { EventDraft } from './events.ts';
import { registerSpool } from './inspect.ts';
import { Intake } from './intake.ts';
import type { KeysRequest, KeysResult } from './keys-ops.ts';
import type { Logger } from './log.ts';
import { Mapper, type SourceMessage } from './mapping/mapper.ts';
import { Metrics } from './metrics.ts';
import { ObjectiveWatch } from './objectives.ts';
import { HistoryRecorder } from './history.ts';
import { historySeries, type HistorySeries } from './history-series.ts';
import type { Report, ReportRequest } from './report.ts';
import { Operations } from './operations.ts';
import type { RejectedRequest, RejectedResult, ReplayRequest } from './rejected-ops.ts';
import { planReload, type ReloadReport } from './reload-plan.ts';
import { Runtime, type SinkStatus } from './runtime.ts';
import { checkSecrets } from './secrets.ts';
import { spoolPath } from './state-paths.ts';
import type { Sink } from './sink.ts';
import type { IngestResult, Source } from './source.ts';

export type { IngestResult } from './source.ts';
export type { SinkStatus } from './runtime.ts';

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

/** The parts, once started. */
interface Parts {
  spool: Spool;
  intake: Intake;
  runtime: Runtime;
  ops: Operations;
}

export class Agent {
  readonly startedAt = Date.now();
  readonly metrics = new Metrics();
  readonly objectives: ObjectiveWatch;
  readonly history: HistoryRecorder;
  /** The config's files, the last reload and a config that was refused (the agent runs on the last good one). */
  readonly configState: { files: string[]; lastReloadAt: number | undefined; error: { at: number; message: string } | undefined } = { files: [], lastReloadAt: undefined, error: undefined };
  private current: { config: AgentConfig; version: string; mapper: Mapper };
  private readonly opts: AgentOptions;
  private readonly log: Logger;
  private readonly admin: AdminSurface;
  private p: Parts | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private starting: Promise<void> | undefined;
  private reloading: Promise<unknown> = Promise.resolve();

  constructor(opts: AgentOptions) {
    this.opts = opts;
    this.log = opts.log.child({ component: 'agent' });
    const config = withDefaults(opts.config);
    this.current = { config, version: opts.configVersion, mapper: new Mapper(config.mappings ?? [], { plant: config.agent.plant }) };
    this.objectives = new ObjectiveWatch(() => this.config, () => this.parts.spool, () => [...this.dispatchers.keys()], this.metrics);
    this.history = new HistoryRecorder(this, () => this.parts.spool, this.log, () => this.config.spool.historyDays);
    this.admin = new AdminSurface(this, this.log);
  }

  get config(): AgentConfig {
    return this.current.config;
  }

  get configVersion(): string {
    return this.current.version;
  }

  /** The admin HTTP listener's base URL, once started (undefined when disabled). */
  get adminUrl(): string | undefined {
    return this.admin.url;
  }

  private get parts(): Parts {
    if (!this.p) throw new Error('agent not started');
    return this.p;
  }

  get sources(): ReadonlyMap<string, Source> {
    return this.p?.runtime.sources ?? new Map();
  }

  get sinks(): ReadonlyMap<string, Sink> {
    return this.p?.runtime.sinks ?? new Map();
  }

  get dispatchers(): ReadonlyMap<string, unknown> {
    return this.p?.runtime.dispatchers ?? new Map();
  }

  /** What intake took in since the start: events accepted, duplicates recognised, input rejected. */
  get ingestStats(): Readonly<{ accepted: number; duplicates: number; rejected: number; rejectedBySource: ReadonlyMap<string, number> }> {
    return this.parts.intake.stats;
  }

  /** Called by whoever loads config files: a refused config is shown in status and metrics until a good one. */
  configRefused(message: string): void {
    this.configState.error = { at: Date.now(), message };
    this.metrics.counter('plantsync_config_reloads_total', 'Config reloads by result', ['result']).inc({ result: 'refused' });
    this.log.error({ error: message, configVersion: this.configVersion }, 'config refused; running on the last good config');
  }

  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const cfg = this.config;
    checkSecrets(cfg); // a missing secret stops the start here, named by its JSON path, before anything opens
    const spool = this.openSpool(cfg);
    registerSpool(this, spool);
    const intake = new Intake({
      spool,
      log: this.log,
      metrics: this.metrics,
      current: () => ({ mapper: this.current.mapper, configVersion: this.current.version, plant: this.config.agent.plant, maxPayloadDepth: this.config.limits.maxPayloadDepth }),
    });
    const runtime = new Runtime({ spool, intake, log: this.opts.log, metrics: this.metrics, config: () => this.config, createSink: this.opts.createSink, onSettled: (sink, result, type, at, now) => this.settled(sink, result, type, at, now) });
    const ops = new Operations({ spool, intake, runtime, log: this.log, current: () => ({ config: this.config, mapper: this.current.mapper, configVersion: this.current.version }) });
    this.p = { spool, intake, runtime, ops };
    for (const [name, sc] of Object.entries(cfg.sinks)) await runtime.startSink(name, sc);
    for (const [name, sc] of Object.entries(cfg.sources ?? {})) await runtime.startSource(name, sc);
    registerAgentMetrics(this, spool);
    this.objectives.start();
    this.history.start();
    await this.admin.start();
    this.pruneTimer = setInterval(() => ops.prune(), 10 * 60_000).unref();
    for (const w of configWarnings(cfg)) this.log.warn({ warning: w }, `config weakens security: ${w}`);
    this.log.info({ configVersion: this.configVersion, sinks: Object.keys(cfg.sinks) }, 'agent started');
  }

  private settled(sink: string, result: 'delivered' | 'dead', type: string, occurredAt: number, now: number): void {
    if (result === 'delivered') this.objectives.delivered(sink, type, occurredAt, now);
    this.history.settled(sink, result, type, occurredAt, now);
  }

  private openSpool(cfg: AgentConfig): Spool {
    const spoolLog = this.opts.log.child({ component: 'spool' });
    const s = cfg.spool;
    return Spool.open({
      path: spoolPath(cfg.agent.stateDir),
      routes: spoolRoutes(cfg),
      capBytes: s.capBytes,
      warnRatio: s.warnRatio,
      retentionMs: s.retentionHours * 3600_000,
      rejectedRetentionMs: (s.rejected.retentionHours ?? s.retentionHours) * 3600_000,
      rejected: { maxBytes: s.rejected.maxBytes, maxRecords: s.rejected.maxRecords },
      commitWindowMs: s.commitWindowMs,
      onNotice: (n) => {
        logNotice(spoolLog, n);
        if (n.kind === 'corrupt') {
          spoolLog.fatal({ reason: n.reason }, 'spool file is damaged: the agent stops; the next start checks it and moves it aside (kept for forensics)');
          this.opts.onFatal?.(new Error(`spool file is damaged: ${n.reason}`));
        }
      },
    });
  }

  /**
   * Applies a new config (already validated) without a restart. The spool is never touched: routes apply to events
   * appended from now on. Sources and sinks whose settings did not change keep their connections; changed ones are
   * stopped and started again (in-flight batches get `deadlineMs`, then go out again from the spool), removed ones
   * stopped, new ones started. Settings that name the spool or the keys (agent id, plant, state directory, spool)
   * need a restart: such a config is refused and the agent keeps the one it runs.
   */
  reload(next: { config: ConfigInput; version: string }, deadlineMs = 10_000): Promise<ReloadReport> {
    const run = this.reloading.then(() => this.applyReload(withDefaults(next.config), next.version, deadlineMs));
    this.reloading = run.catch(() => {});
    return run;
  }

  private async applyReload(config: AgentConfig, version: string, deadlineMs: number): Promise<ReloadReport> {
    if (this.stopping) throw new Error('agent is stopping');
    await this.start();
    const { spool, runtime } = this.parts;
    checkSecrets(config); // before anything is stopped: a missing secret refuses the config as a whole
    const plan = planReload(this.config, config);
    if (plan.restartNeeded.length) throw new ConfigError(`needs a restart to change ${plan.restartNeeded.join(', ')}; still running config ${this.configVersion}`);
    this.current = { config, version, mapper: new Mapper(config.mappings ?? [], { plant: config.agent.plant }) };
    spool.setRoutes(spoolRoutes(config));
    for (const name of [...plan.sources.changed, ...plan.sources.removed]) await runtime.stopSource(name);
    for (const name of [...plan.sinks.changed, ...plan.sinks.removed]) {
      await runtime.stopSink(name, deadlineMs);
      spool.releaseHandedOut(name);
    }
    for (const name of plan.sinks.removed) {
      // What it still owes stays in the spool (retention never deletes it): a sink added back later delivers it.
      const st = spool.stats(name);
      if (st.pending + st.held + st.deadLetters) this.log.warn({ sink: name, pending: st.pending + st.held, deadLetters: st.deadLetters }, 'sink removed from the config while it still owes events; they stay in the spool');
    }
    for (const name of [...plan.sinks.changed, ...plan.sinks.added]) await runtime.startSink(name, config.sinks[name]!);
    for (const name of [...plan.sources.changed, ...plan.sources.added]) await runtime.startSource(name, config.sources![name]!);
    if (plan.adminChanged) {
      await this.admin.stop();
      await this.admin.start();
    }
    this.configState.lastReloadAt = Date.now();
    this.configState.error = undefined;
    this.metrics.counter('plantsync_config_reloads_total', 'Config reloads by result', ['result']).inc({ result: 'applied' });
    this.log.info({ configVersion: version, ...plan.summary }, 'config reloaded');
    return plan.summary;
  }

  // Intake (agent/intake.ts): resolves after the spool commit; only then may a source acknowledge.
  ingest(drafts: EventDraft[], opts: { rawOf?: (i: number) => RejectedInput } & AppendOptions = {}): Promise<IngestResult> {
    return this.parts.intake.ingest(drafts, opts);
  }

  ingestMessages(msgs: SourceMessage[], opts: AppendOptions & { events?: EventDraft[] } = {}): Promise<IngestResult> {
    return this.parts.intake.ingestMessages(msgs, opts);
  }

  // Operations (agent/operations.ts), as the admin socket and `plantsync status` ask for them.
  dlq(r: DlqRequest): DlqResult {
    return this.parts.ops.dlq(r);
  }

  keys(r: KeysRequest): KeysResult {
    return this.parts.ops.keys(r);
  }

  audit(r: AuditRequest): { entries: AuditEntry[] } {
    return this.parts.ops.audit(r);
  }

  /** The figures of a time range; what the last seconds counted is written first, so they are in it. */
  report(r: ReportRequest): Report {
    this.history.flush();
    return this.parts.ops.report(r);
  }

  /** The minute history the status page plots (agent/history-series.ts). */
  historySeries(hours: number): HistorySeries {
    return historySeries(this.parts.spool, hours, (type) => this.objectives.objectiveOf(type));
  }

  rejected(r: RejectedRequest): Promise<RejectedResult> {
    return this.parts.ops.rejected(r);
  }

  replay(r: ReplayRequest): { count: number } {
    return this.parts.ops.replay(r);
  }

  rejectedRecords(): number {
    return this.parts.ops.rejectedRecords();
  }

  rejectedBySource(): Record<string, number> {
    return this.parts.ops.rejectedBySource();
  }

  readiness(): string[] {
    return this.parts.ops.readiness();
  }

  prune(): number {
    return this.parts.ops.prune();
  }

  sinkStatus(name: string): SinkStatus {
    return this.parts.runtime.sinkStatus(name);
  }

  /** Graceful stop: no new intake, in-flight deliveries get `deadlineMs` to finish, then the spool is closed. */
  async stop(deadlineMs = 10_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.starting?.catch(() => {}); // a stop during start-up waits for it, then undoes it
    clearInterval(this.pruneTimer);
    this.objectives.stop();
    await this.reloading;
    await this.admin.stop(true);
    const p = this.p;
    if (p) {
      // Intake first: sources finish committing what they took in (and acknowledge it) before anything else stops.
      await p.runtime.stopAll(deadlineMs, () => p.intake.close());
      this.history.stop();
      p.spool.close();
    }
    this.log.info('agent stopped');
  }
}

function logNotice(log: Logger, n: SpoolNotice): void {
  if (n.kind === 'corrupt') return; // logged as fatal where it is handled
  const level = n.kind === 'integrity-checked' && n.ok ? 'info' : 'warn';
  log[level]({ notice: n.kind, ...n }, `spool: ${n.kind}`);
}
