// Stuck keys, as one request shape run the same way by the agent (over its admin socket) and by the CLI on the
// spool file: list the keys that do not flow (parked, retrying), and take one out of the flow on purpose (its
// pending events become dead letters with the reason, audited), so a technician is never left with "delete the
// spool" when one order blocks.
import type { BlockedKey } from '../spool/admin.ts';
import { AdminRequestError } from './dlq-ops.ts';

export interface KeysRequest {
  action: 'list' | 'evict';
  sink: string;
  orderingKey?: string;
  reason?: string;
  actor?: string;
  dryRun?: boolean;
}

export interface KeysResult {
  keys?: BlockedKey[];
  /** evict: events moved to dead letters (dry run: that would be). */
  count?: number;
}

export interface KeyStore {
  sinkNames(): string[];
  admin: { blockedKeys(sink: string): BlockedKey[]; evictKey(sink: string, key: string, actor: string, reason: string): number };
}

export function runKeys(spool: KeyStore, r: KeysRequest): KeysResult {
  if (!spool.sinkNames().includes(r.sink)) throw new AdminRequestError(`no sink '${r.sink}' in the spool (known: ${spool.sinkNames().join(', ') || 'none'})`);
  if (r.action === 'list') return { keys: spool.admin.blockedKeys(r.sink) };
  if (r.action !== 'evict') throw new AdminRequestError(`unknown keys action '${String(r.action)}' (list, evict)`);
  if (!r.orderingKey) throw new AdminRequestError('keys evict needs --key');
  if (r.dryRun) {
    const k = spool.admin.blockedKeys(r.sink).find((x) => x.orderingKey === r.orderingKey);
    return { keys: k ? [k] : [] };
  }
  if (!r.reason?.trim()) throw new AdminRequestError('keys evict needs a reason (--reason): it goes into the audit log');
  try {
    return { count: spool.admin.evictKey(r.sink, r.orderingKey, r.actor ?? 'unknown', r.reason) };
  } catch (err) {
    if ((err as Error).name === 'KeyBusyError') throw new AdminRequestError((err as Error).message);
    throw err;
  }
}
