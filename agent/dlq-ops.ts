// Dead-letter operations as one request shape, run the same way by the agent (for `plantsync dlq` over its admin
// listener while it runs) and by the CLI on the spool file (when it does not): list, replay, drop, with filters,
// a dry run, and a reason that goes into the audit log.
import type { DeadFilter, DeadLetter } from '../spool/admin.ts';

export interface DlqRequest {
  action: 'list' | 'replay' | 'drop';
  filter: DeadFilter;
  /** Required for replay and drop: written to the audit log with the actor. */
  reason?: string;
  actor?: string;
  /** Replay/drop: report what would be touched, change nothing. */
  dryRun?: boolean;
}

export interface DlqResult {
  /** list, and replay/drop with dryRun: the matching dead letters. */
  deadLetters?: DeadLetter[];
  /** replay/drop: how many were (or, dry, would be) touched. */
  count?: number;
}

export interface DeadLetterStore {
  listDead(f: DeadFilter): DeadLetter[];
  replayDead(f: DeadFilter, actor: string, reason: string): number;
  dropDead(f: DeadFilter, actor: string, reason: string): number;
}

/** A request the caller got wrong (no reason, an unknown sink): 400 over HTTP, exit 2 in the CLI. */
export class AdminRequestError extends Error {
  override readonly name = 'AdminRequestError';
}

export function runDlq(store: DeadLetterStore, r: DlqRequest): DlqResult {
  if (r.action !== 'list' && r.action !== 'replay' && r.action !== 'drop') throw new AdminRequestError(`unknown dlq action '${String(r.action)}' (list, replay, drop)`);
  if (r.action === 'list') return { deadLetters: store.listDead(r.filter) };
  if (r.dryRun) {
    const matching = store.listDead({ ...r.filter, limit: r.filter.limit ?? 1_000_000 });
    return { deadLetters: matching, count: matching.length };
  }
  if (!r.reason?.trim()) throw new AdminRequestError(`dlq ${r.action} needs a reason (--reason): it goes into the audit log`);
  const actor = r.actor ?? 'unknown';
  return { count: r.action === 'replay' ? store.replayDead(r.filter, actor, r.reason) : store.dropDead(r.filter, actor, r.reason) };
}
