// What people do to the spool: inspect, replay and drop dead letters and rejected records, re-send delivered
// events. Every replay or drop writes an audit row (who, when, what, why) in the same transaction.
import type { Db } from './open.ts';
import type { Delivery } from './delivery.ts';
import type { SinkState } from './sink-state.ts';
import { defaultRejectedBudget, RejectedBudget, type RejectedBudgetOptions } from './rejected-budget.ts';
import { observe, type History, type HistoryDelta } from './history.ts';

export interface DeadFilter {
  sink?: string | undefined;
  type?: string | undefined;
  orderingKey?: string | undefined;
  /** Time the dead letter was written, epoch ms. */
  since?: number | undefined;
  until?: number | undefined;
  errorContains?: string | undefined;
  seq?: number | undefined;
  limit?: number | undefined;
}

export interface DeadLetter {
  sink: string;
  seq: number;
  idempotencyKey: string;
  orderingKey: string;
  type: string;
  status: number | null;
  reason: string;
  attempts: number;
  at: number;
  parksKey: boolean;
  body: string;
}

export interface RejectedFilter {
  source?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  errorContains?: string | undefined;
  id?: number | undefined;
  /** Only records after this id (paging through a large replay). */
  afterId?: number | undefined;
  limit?: number | undefined;
}

export interface RejectedInput {
  source: string;
  address: string;
  reason: string;
  payload: Buffer | string;
}

export interface RejectedRecord extends RejectedInput {
  id: number;
  at: number;
  payload: Buffer;
  truncated: boolean;
}

export interface BlockedKey {
  orderingKey: string;
  /** Dead letters that park this key. */
  deadLetters: number;
  /** Events waiting behind it. */
  held: number;
  /** Its batch waits to be sent again. */
  retrying: { attempts: number; nextAt: number; lastError: string } | undefined;
}

/** The key has a batch being delivered right now: an admin change to it must wait a moment. */
export class KeyBusyError extends Error {
  override readonly name = 'KeyBusyError';
}

export interface AuditFilter {
  since?: number | undefined;
  until?: number | undefined;
  /** An action or its prefix: "dlq" matches dlq.replay and dlq.drop. */
  action?: string | undefined;
  /** Part of the actor (the OS user the request came from). */
  actor?: string | undefined;
}

export interface AuditEntry {
  at: number;
  actor: string;
  action: string;
  target: string;
  count: number;
  reason: string;
}

/** Longest payload copy kept with a rejected record: enough to diagnose and replay, bounded against floods. */
export const REJECTED_PAYLOAD_LIMIT = 64 * 1024;

export class Admin {
  private readonly db: Db;
  private readonly sinks: Map<string, SinkState>;
  private readonly delivery: Delivery;
  private readonly now: () => number;
  private readonly wake: (sink: string) => void;
  private readonly durable: () => void;

  /** The rejected records' own budget (rejected-budget.ts). */
  readonly rejectedBudget: RejectedBudget;

  /** `durable` flushes the spool's log: every admin write is on disk when its call returns. */
  private readonly onError: (err: unknown) => void;
  private readonly history: History | undefined;

  constructor(db: Db, sinks: Map<string, SinkState>, delivery: Delivery, now: () => number, wake: (sink: string) => void, durable: () => void, budget: RejectedBudgetOptions = defaultRejectedBudget, onError: (err: unknown) => void = () => {}, history?: History) {
    this.onError = onError;
    this.history = history;
    this.rejectedBudget = new RejectedBudget(db, budget);
    this.db = db;
    this.sinks = sinks;
    this.delivery = delivery;
    this.now = now;
    this.wake = wake;
    this.durable = durable;
  }

  private write<T>(fn: () => T): T {
    let result: T;
    try {
      result = this.db.transaction(fn)();
    } catch (err) {
      this.onError(err);
      // Rolled back: the sinks' memory (parked keys, held keys) is read again from the tables (delivery.ts).
      try {
        for (const s of this.sinks.values()) s.reload(this.db);
        this.rejectedBudget.recount();
      } catch {
        // the file cannot be read either: onError has reported it
      }
      throw err;
    }
    this.durable();
    return result;
  }

  listDead(f: DeadFilter = {}): DeadLetter[] {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (cond: string, v: unknown) => {
      if (v === undefined) return;
      where.push(cond);
      args.push(v);
    };
    add('s.name = ?', f.sink);
    add('e.type = ?', f.type);
    add('d.okey = ?', f.orderingKey);
    add('d.at >= ?', f.since);
    add('d.at < ?', f.until);
    add('d.seq = ?', f.seq);
    add(`instr(lower(d.reason), lower(?)) > 0`, f.errorContains);
    const sql = `SELECT s.name AS sink, d.seq, e.idem AS idempotencyKey, d.okey AS orderingKey, e.type, d.status,
      d.reason, d.attempts, d.at, d.parks AS parksKey, e.body FROM dead d JOIN sinks s ON s.id = d.sink
      JOIN events e ON e.seq = d.seq ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY d.seq LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, f.limit ?? 1000) as (Omit<DeadLetter, 'parksKey'> & { parksKey: number })[];
    return rows.map((r) => ({ ...r, parksKey: Boolean(r.parksKey) }));
  }

  /** Puts matching dead letters back in line (same event, same idempotency key) and unparks their keys. */
  replayDead(f: DeadFilter, actor: string, reason: string): number {
    return this.resolveDead(f, actor, reason, 'dlq.replay', true);
  }

  /** Deletes matching dead letters for good; their keys' later events are released. */
  dropDead(f: DeadFilter, actor: string, reason: string): number {
    return this.resolveDead(f, actor, reason, 'dlq.drop', false);
  }

  private resolveDead(f: DeadFilter, actor: string, reason: string, action: string, requeue: boolean): number {
    requireReason(reason);
    return this.write(() => {
      const rows = this.listDead({ ...f, limit: f.limit ?? 1_000_000 });
      const touched = new Map<SinkState, Set<string>>();
      for (const r of rows) {
        const s = this.sinks.get(r.sink)!;
        this.db.prepare('DELETE FROM dead WHERE sink = ? AND seq = ?').run(s.id, r.seq);
        if (requeue) this.db.prepare('INSERT OR IGNORE INTO outbox(sink, seq, okey) VALUES (?, ?, ?)').run(s.id, r.seq, r.orderingKey);
        if (r.parksKey) s.unpark(r.orderingKey);
        if (!touched.has(s)) touched.set(s, new Set());
        touched.get(s)!.add(r.orderingKey);
      }
      this.recordResolved(rows.map((r) => ({ at: r.at, name: r.sink, type: r.type })), requeue ? 'replayed' : 'dropped');
      for (const [s, keys] of touched) {
        for (const k of keys) this.delivery.releaseIfFree(s, k);
        this.wake(s.name);
      }
      this.audit(actor, action, describe(f), rows.length, reason);
      return rows.length;
    });
  }

  /**
   * How long each resolved exception waited for a person, in the history (the report's resolution time): a dead
   * letter per sink and type, a rejected record per source.
   */
  private recordResolved(rows: { at: number; name: string; type: string }[], kind: 'replayed' | 'dropped' | 'input-replayed' | 'input-dropped'): void {
    if (!this.history || !rows.length) return;
    const now = this.now();
    const by = new Map<string, HistoryDelta & { events: number; maxMs: number; hist: Record<string, number> }>();
    for (const r of rows) {
      const k = `${r.name}\0${r.type}`;
      const d = by.get(k) ?? { at: now, kind, name: r.name, type: r.type, events: 0, maxMs: 0, hist: {} };
      observe(d, Math.max(0, now - r.at));
      by.set(k, d);
    }
    this.history.add([...by.values()]);
  }

  /**
   * Stores unmappable or invalid input with a bounded copy of its payload, durably, before the source is acked.
   * Within the rejected records' own budget: the oldest are evicted (counted as rejected_evicted) to make room.
   */
  addRejected(items: RejectedInput[]): number[] {
    const ins = this.db.prepare('INSERT INTO rejected(at, source, address, reason, payload, truncated) VALUES (?, ?, ?, ?, ?, ?)');
    const now = this.now();
    return this.write(() => {
      const ids = items.map((it) => {
        const buf = Buffer.isBuffer(it.payload) ? it.payload : Buffer.from(it.payload);
        const kept = buf.subarray(0, REJECTED_PAYLOAD_LIMIT);
        const reason = it.reason.slice(0, 2000);
        const address = it.address.slice(0, 1000);
        this.rejectedBudget.added(RejectedBudget.sizeOf(kept.length, reason, address, it.source));
        return Number(ins.run(now, it.source, address, reason, kept, buf.length > kept.length ? 1 : 0).lastInsertRowid);
      });
      this.rejectedBudget.evict();
      return ids;
    });
  }

  countRejected(): number {
    return this.db.prepare('SELECT count(*) FROM rejected').pluck().get() as number;
  }

  /** Rejected records in the spool per source (what `status` shows on each source's line; they add up to the total). */
  countRejectedBySource(): Record<string, number> {
    const rows = this.db.prepare('SELECT source, count(*) AS n FROM rejected GROUP BY source').all() as { source: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.source, r.n]));
  }

  listRejected(f: RejectedFilter = {}): RejectedRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (cond: string, v: unknown) => {
      if (v === undefined) return;
      where.push(cond);
      args.push(v);
    };
    add('source = ?', f.source);
    add('at >= ?', f.since);
    add('at < ?', f.until);
    add('id = ?', f.id);
    add('id > ?', f.afterId);
    add('instr(lower(reason), lower(?)) > 0', f.errorContains);
    const sql = `SELECT id, at, source, address, reason, payload, truncated FROM rejected
      ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, f.limit ?? 1000) as (Omit<RejectedRecord, 'truncated'> & { truncated: number })[];
    return rows.map((r) => ({ ...r, truncated: Boolean(r.truncated) }));
  }

  /** Removes rejected records, e.g. after a successful re-mapping (action 'rejected.replay') or for good. */
  removeRejected(ids: number[], actor: string, reason: string, action: 'rejected.replay' | 'rejected.drop'): number {
    requireReason(reason);
    const del = this.db.prepare('DELETE FROM rejected WHERE id = ? RETURNING at, source');
    return this.write(() => {
      const gone: { at: number; source: string }[] = [];
      for (const id of ids) {
        const row = del.get(id) as { at: number; source: string } | undefined;
        if (row) gone.push(row);
      }
      const n = gone.length;
      this.recordResolved(gone.map((g) => ({ at: g.at, name: g.source, type: '' })), action === 'rejected.replay' ? 'input-replayed' : 'input-dropped');
      this.rejectedBudget.recount();
      this.audit(actor, action, `ids ${ids.slice(0, 20).join(',')}${ids.length > 20 ? ',...' : ''}`, n, reason);
      return n;
    });
  }

  /**
   * Re-sends events a sink already delivered (e.g. after an ERP restore). Safe because each event keeps its
   * idempotency key. Events the sink still owes are left where they are. Times filter on occurredAt. A dry run
   * counts what would go again and changes nothing.
   */
  requeueDelivered(sink: string, since: number, until: number, type: string | undefined, actor: string, reason: string, dryRun = false): number {
    if (!dryRun) requireReason(reason);
    const s = this.sinks.get(sink);
    if (!s) throw new Error(`unknown sink '${sink}'`);
    const claimed = new Set<number>();
    for (const c of s.claims.values()) for (const q of c.seqs) claimed.add(q);
    return this.write(() => {
      const rows = this.db
        .prepare(`SELECT e.seq, e.okey FROM events e WHERE e.occurred_at >= ? AND e.occurred_at < ?
          ${type ? 'AND e.type = ?' : ''}
          AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.sink = ? AND o.seq = e.seq)
          AND NOT EXISTS (SELECT 1 FROM held h WHERE h.sink = ? AND h.okey = e.okey AND h.seq = e.seq)
          AND NOT EXISTS (SELECT 1 FROM dead d WHERE d.sink = ? AND d.seq = e.seq) ORDER BY e.seq`)
        .all(...[since, until, ...(type ? [type] : []), s.id, s.id, s.id]) as { seq: number; okey: string }[];
      if (dryRun) return rows.filter((r) => !claimed.has(r.seq)).length;
      const ins = this.db.prepare('INSERT OR IGNORE INTO outbox(sink, seq, okey) VALUES (?, ?, ?)');
      let n = 0;
      for (const r of rows) if (!claimed.has(r.seq)) n += ins.run(s.id, r.seq, r.okey).changes;
      this.audit(actor, 'replay', `sink ${sink} occurredAt [${new Date(since).toISOString()}, ${new Date(until).toISOString()})${type ? ` type ${type}` : ''}`, n, reason);
      this.wake(sink);
      return n;
    });
  }

  /**
   * Keys of a sink that do not flow: parked behind dead letters, or with a batch waiting to retry (how often tried,
   * the last error, when next). The technician's view before taking a key out of the flow.
   */
  blockedKeys(sink: string): BlockedKey[] {
    const s = this.sinks.get(sink);
    if (!s) return [];
    const out = new Map<string, BlockedKey>();
    const get = (k: string) => out.get(k) ?? out.set(k, { orderingKey: k, deadLetters: 0, held: 0, retrying: undefined }).get(k)!;
    for (const r of this.db.prepare('SELECT okey, count(*) AS n FROM dead WHERE sink = ? AND parks = 1 GROUP BY okey').all(s.id) as { okey: string; n: number }[]) get(r.okey).deadLetters = r.n;
    for (const r of this.db.prepare('SELECT okey, count(*) AS n FROM held WHERE sink = ? GROUP BY okey').all(s.id) as { okey: string; n: number }[]) get(r.okey).held = r.n;
    for (const c of this.db.prepare('SELECT keys, attempts, not_before, last_error FROM claims WHERE sink = ? AND attempts > 0').all(s.id) as { keys: string; attempts: number; not_before: number; last_error: string | null }[]) {
      for (const k of JSON.parse(c.keys) as string[]) get(k).retrying = { attempts: c.attempts, nextAt: c.not_before, lastError: c.last_error ?? '' };
    }
    return [...out.values()];
  }

  /**
   * Takes a stuck key out of the flow on purpose: its pending events (waiting, held, in a batch waiting to retry)
   * become dead letters with the reason, audited, and park the key, so nothing of it can overtake them; `dlq
   * replay` or `dlq drop` brings it back. A batch of the key being delivered right now is not touched (busy).
   */
  evictKey(sink: string, orderingKey: string, actor: string, reason: string): number {
    requireReason(reason);
    const s = this.sinks.get(sink);
    if (!s) throw new Error(`unknown sink '${sink}'`);
    for (const c of s.claims.values()) {
      if (c.handedOut && c.keys.includes(orderingKey)) throw new KeyBusyError(`a batch of key '${orderingKey}' is being delivered right now; try again in a moment`);
    }
    const why = `taken out of the flow by ${actor}: ${reason}`.slice(0, 2000);
    const n = this.write(() => {
      const now = this.now();
      const dead = this.db.prepare(`INSERT OR REPLACE INTO dead(sink, seq, okey, parks, status, reason, attempts, at) VALUES (?, ?, ?, 1, NULL, ?, ?, ?)`);
      let count = 0;
      const move = (seq: number, attempts: number) => (dead.run(s.id, seq, orderingKey, why, attempts, now), count++);
      for (const seq of this.db.prepare('SELECT seq FROM outbox WHERE sink = ? AND okey = ?').pluck().all(s.id, orderingKey) as number[]) move(seq, 0);
      this.db.prepare('DELETE FROM outbox WHERE sink = ? AND okey = ?').run(s.id, orderingKey);
      for (const seq of this.db.prepare('SELECT seq FROM held WHERE sink = ? AND okey = ?').pluck().all(s.id, orderingKey) as number[]) move(seq, 0);
      this.db.prepare('DELETE FROM held WHERE sink = ? AND okey = ?').run(s.id, orderingKey);
      for (const c of [...s.claims.values()].filter((x) => x.keys.includes(orderingKey))) {
        const okeys = new Map((this.db.prepare('SELECT e.seq, e.okey FROM json_each(?) j JOIN events e ON e.seq = j.value').all(JSON.stringify(c.seqs)) as { seq: number; okey: string }[]).map((r) => [r.seq, r.okey]));
        const mine = c.seqs.filter((q) => okeys.get(q) === orderingKey);
        for (const q of mine) move(q, c.attempts);
        const rest = c.seqs.filter((q) => okeys.get(q) !== orderingKey);
        if (rest.length === 0) this.db.prepare('DELETE FROM claims WHERE id = ?').run(c.id);
        else this.db.prepare('UPDATE claims SET seqs = ?, keys = ? WHERE id = ?').run(JSON.stringify(rest), JSON.stringify(c.keys.filter((k) => k !== orderingKey)), c.id);
      }
      this.audit(actor, 'keys.evict', `sink ${sink} key ${orderingKey}`, count, reason);
      return count;
    });
    s.reload(this.db); // memory follows the file: the key is parked, its claim rows gone or smaller
    this.wake(sink);
    return n;
  }

  /** Audit entries, newest first: who changed what the agent owes, when, how much, and why. */
  auditLog(limit = 100, f: AuditFilter = {}): AuditEntry[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.since !== undefined) (where.push('at >= ?'), args.push(f.since));
    if (f.until !== undefined) (where.push('at < ?'), args.push(f.until));
    if (f.action !== undefined) (where.push('action LIKE ?'), args.push(`${f.action}%`)); // "dlq" finds dlq.replay and dlq.drop
    if (f.actor !== undefined) (where.push('actor LIKE ?'), args.push(`%${f.actor}%`));
    const sql = `SELECT at, actor, action, target, count, reason FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return this.db.prepare(sql).all(...args, limit) as AuditEntry[];
  }

  private audit(actor: string, action: string, target: string, count: number, reason: string): void {
    this.db.prepare('INSERT INTO audit(at, actor, action, target, count, reason) VALUES (?, ?, ?, ?, ?, ?)').run(this.now(), actor, action, target, count, reason);
  }
}

function requireReason(reason: string): void {
  if (!reason || !reason.trim()) throw new Error('a reason is required: it goes into the audit log');
}

function describe(f: DeadFilter): string {
  const parts = Object.entries(f).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${String(v)}`);
  return parts.length ? parts.join(' ') : 'all';
}
