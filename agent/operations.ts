// Operations: what a person (over the admin socket, `plantsync dlq|rejected|replay|keys|status`) does with what the
// agent holds: dead letters, rejected records, replays, stuck keys, retention; and whether the agent may call
// itself ready. The request shapes and their checks live in *-ops.ts, shared with the CLI on a stopped agent's spool.
import type { AuditEntry } from '../spool/admin.ts';
import type { AuditRequest } from './admin-requests.ts';
import type { Spool } from '../spool/spool.ts';
import type { AgentConfig } from './config.ts';
import { runDlq, type DlqRequest, type DlqResult } from './dlq-ops.ts';
import type { Intake } from './intake.ts';
import { runKeys, type KeysRequest, type KeysResult } from './keys-ops.ts';
import type { Logger } from './log.ts';
import type { Mapper } from './mapping/mapper.ts';
import { objectiveOf } from './objectives.ts';
import { readinessProblems } from './readiness.ts';
import { buildReport, type Report, type ReportRequest } from './report.ts';
import { runRejected, runReplay, type RejectedRequest, type RejectedResult, type RemapContext, type ReplayRequest } from './rejected-ops.ts';
import type { Runtime } from './runtime.ts';

export interface OperationsDeps {
  spool: Spool;
  intake: Intake;
  runtime: Runtime;
  log: Logger;
  /** Read on every call: a reload swaps them. */
  current: () => { config: AgentConfig; mapper: Mapper; configVersion: string };
}

export class Operations {
  private readonly d: OperationsDeps;

  constructor(deps: OperationsDeps) {
    this.d = deps;
  }

  dlq(r: DlqRequest): DlqResult {
    return runDlq(this.d.spool.admin, r);
  }

  /** Stuck keys: list those that do not flow, take one out of the flow on purpose (agent/keys-ops.ts). */
  keys(r: KeysRequest): KeysResult {
    return runKeys(this.d.spool, r);
  }

  audit(r: AuditRequest): { entries: AuditEntry[] } {
    return { entries: this.d.spool.admin.auditLog(r.limit ?? 100, r) };
  }

  /** The figures of a time range (agent/report.ts), with the objectives of the config in force. */
  report(r: ReportRequest): Report {
    return buildReport(this.d.spool, r, (type) => objectiveOf(this.d.current().config, type));
  }

  /** Rejected records: list, replay through the current mapping, drop (agent/rejected-ops.ts). */
  rejected(r: RejectedRequest): Promise<RejectedResult> {
    return runRejected(this.d.spool, this.remapContext(), r);
  }

  /** Re-sends events a sink already delivered (after an ERP restore): safe under their idempotency keys. */
  replay(r: ReplayRequest): { count: number } {
    return runReplay(this.d.spool, r);
  }

  rejectedRecords(): number {
    return this.d.spool.admin.countRejected();
  }

  rejectedBySource(): Record<string, number> {
    return this.d.spool.admin.countRejectedBySource();
  }

  private remapContext(): RemapContext {
    const { config, mapper, configVersion } = this.d.current();
    return { source: (n) => this.d.runtime.sources.get(n), sourceType: (n) => config.sources?.[n]?.type, mapper, configVersion };
  }

  /** Deletes delivered events past their retention; never throws (retention failing must not stop the agent). */
  prune(): number {
    try {
      const n = this.d.spool.maintenance.prune();
      if (n) this.d.log.info({ deleted: n }, 'retention: deleted delivered events past their age');
      return n;
    } catch (err) {
      this.d.log.error({ err }, 'retention failed');
      return 0;
    }
  }

  /** Why the agent cannot commit or deliver now (empty: it can); /readyz and status add sources and objectives. */
  readiness(): string[] {
    const spool = this.d.spool;
    if (spool.damaged) return [`spool file damaged: ${spool.damaged}; the agent stops, and the next start moves the file aside`];
    const full = spool.maintenance.fullness();
    const { runtime } = this.d;
    return readinessProblems({
      now: Date.now(),
      settings: this.d.current().config.readiness,
      commitFailing: this.d.intake.commitFailing ?? spool.flushFailure(),
      spoolFull: full.full ? full : undefined,
      sinks: [...runtime.dispatchers].map(([name, d]) => ({
        name,
        startedAt: d.startedAt,
        lastSuccessAt: d.stats.lastSuccessAt,
        workWaiting: spool.workWaiting(name),
        breakerOpenSince: runtime.sinks.get(name)?.health?.().breakerOpenSince,
        spoolFailingSince: d.stats.spoolFailingSince,
        spoolError: d.stats.spoolError,
      })),
    });
  }
}
