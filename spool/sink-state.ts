// Per-sink delivery state kept in memory beside the tables, rebuilt from them on open. It answers "may this key's
// next event go out now?" without a query per row: a key is busy while a batch holding it is claimed or waiting to
// retry, and parked while it has a dead letter under the 'park' policy.
import type { Db } from './open.ts';

export interface ClaimState {
  id: number;
  seqs: number[];
  keys: string[];
  batchKey: string;
  attempts: number;
  notBefore: number;
  /** True while a dispatcher holds it; false while it waits for its retry time (or after a restart). */
  handedOut: boolean;
  /** The wait was asked for by the remote side (Retry-After): it is not cut short on recovery. */
  serverAsked?: boolean;
}

export class SinkState {
  readonly claims = new Map<number, ClaimState>();
  readonly busy = new Map<string, number>();
  /** Key -> number of dead letters that park it. */
  readonly parked = new Map<string, number>();
  readonly heldKeys = new Set<string>();
  /** Claims re-sent after a restart or retry: the same batch under the same idempotency key. */
  redeliveries = 0;
  /**
   * The last scan found only rows of keys with a batch out. Until the spool wakes this sink (append, settle,
   * release, replay), another scan would read the same rows for nothing.
   */
  nothingClaimable = false;
  /** Claims since the last one that read the whole scan window (delivery.ts, one event per key). */
  quickClaims = 0;
  readonly id: number;
  readonly name: string;

  constructor(id: number, name: string) {
    this.id = id;
    this.name = name;
  }

  static load(db: Db, id: number, name: string): SinkState {
    const s = new SinkState(id, name);
    s.readFrom(db);
    return s;
  }

  /**
   * Forgets the memory and reads it again from the tables: after a transaction failed (disk full, I/O error) and
   * SQLite rolled it back, memory must not keep what the transaction had begun to change. Claims a dispatcher
   * still holds stay handed out, except `release` (a claim whose settle failed: it goes out again, same batch key).
   */
  reload(db: Db, release?: number): void {
    const out = new Set([...this.claims.values()].filter((c) => c.handedOut && c.id !== release).map((c) => c.id));
    this.claims.clear();
    this.busy.clear();
    this.parked.clear();
    this.heldKeys.clear();
    this.nothingClaimable = false;
    this.readFrom(db);
    for (const id of out) {
      const c = this.claims.get(id);
      if (c) c.handedOut = true;
    }
  }

  private readFrom(db: Db): void {
    const s = this;
    const id = this.id;
    const rows = db
      .prepare('SELECT id, seqs, keys, batch_key, attempts, not_before FROM claims WHERE sink = ? ORDER BY id')
      .all(id) as { id: number; seqs: string; keys: string; batch_key: string; attempts: number; not_before: number }[];
    for (const r of rows) {
      // A claim found on open was in flight or waiting when the last run ended: it goes out again as it was.
      s.addClaim({
        id: r.id,
        seqs: JSON.parse(r.seqs) as number[],
        keys: JSON.parse(r.keys) as string[],
        batchKey: r.batch_key,
        attempts: r.attempts,
        notBefore: r.not_before,
        handedOut: false,
      });
    }
    const parked = db
      .prepare('SELECT okey, count(*) AS n FROM dead WHERE sink = ? AND parks = 1 GROUP BY okey')
      .all(id) as { okey: string; n: number }[];
    for (const p of parked) s.parked.set(p.okey, p.n);
    for (const k of db.prepare('SELECT DISTINCT okey FROM held WHERE sink = ?').pluck().all(id) as string[]) {
      s.heldKeys.add(k);
    }
  }

  addClaim(c: ClaimState): void {
    this.claims.set(c.id, c);
    for (const k of c.keys) this.busy.set(k, c.id);
  }

  /** Rows of this key must wait in `held` (a long block), not be rescanned on every claim. */
  mustHold(key: string): boolean {
    if (this.parked.has(key) || this.heldKeys.has(key)) return true;
    const c = this.busy.get(key);
    return c !== undefined && !this.claims.get(c)?.handedOut;
  }

  isBusy(key: string): boolean {
    return this.busy.has(key);
  }

  park(key: string): void {
    this.parked.set(key, (this.parked.get(key) ?? 0) + 1);
  }

  unpark(key: string): void {
    const n = (this.parked.get(key) ?? 0) - 1;
    if (n > 0) this.parked.set(key, n);
    else this.parked.delete(key);
  }

  handedOutCount(): number {
    let n = 0;
    for (const c of this.claims.values()) if (c.handedOut) n++;
    return n;
  }

  /** The earliest time a waiting claim becomes due, if any. */
  nextDueAt(): number | undefined {
    let t: number | undefined;
    for (const c of this.claims.values()) if (!c.handedOut && (t === undefined || c.notBefore < t)) t = c.notBefore;
    return t;
  }

  dueClaim(now: number): ClaimState | undefined {
    let best: ClaimState | undefined;
    for (const c of this.claims.values()) {
      if (!c.handedOut && c.notBefore <= now && (!best || c.notBefore < best.notBefore)) best = c;
    }
    return best;
  }
}
