// Capacity and retention: the spool never grows without bound and never drops a business event.
// At the byte cap the oldest telemetry goes first (counted, reported); if that is not enough, appends are refused
// with SpoolFullError so sources stop acknowledging and the upstream system keeps the data.
import type { Db } from './open.ts';
import type { SinkState } from './sink-state.ts';
import { SpoolFullError, type SinkStats, type SpoolNotice, type SpoolRecord } from './types.ts';

export interface CapacityOptions {
  capBytes: number;
  /** Bytes of the cap kept for the WAL (spool.ts, boundWal): pages may use the rest. */
  walReserve: number;
  warnRatio: number;
  retentionMs: number;
  /** Rejected records are kept this long (they have their own byte budget, outside the cap). */
  rejectedRetentionMs: number;
  /** Bytes of rejected records: not counted against the cap, which is for business events. */
  rejectedBytes: () => number;
  /** Deletes rejected records older than the cutoff (inside a transaction); returns how many. */
  pruneRejected: (cutoff: number) => number;
  now: () => number;
  notice: (n: SpoolNotice) => void;
}

const PRUNE_CHUNK = 2000;

export class Maintenance {
  private warned = false;
  private full = false;

  /** The last append group met the cap with business events (back-pressure), and how full the spool is. */
  fullness(): { full: boolean; usedBytes: number; capBytes: number } {
    return { full: this.full, usedBytes: this.usedBytes(), capBytes: this.opts.capBytes };
  }
  private readonly st;
  private readonly db: Db;
  private readonly sinks: Map<string, SinkState>;
  private readonly opts: CapacityOptions;

  constructor(db: Db, sinks: Map<string, SinkState>, opts: CapacityOptions) {
    this.db = db;
    this.sinks = sinks;
    this.opts = opts;
    this.st = {
      pageCount: db.prepare('PRAGMA page_count').pluck(),
      freeCount: db.prepare('PRAGMA freelist_count').pluck(),
      pageSize: db.prepare('PRAGMA page_size').pluck(),
      // Neither ever returns the newest event: keeping it keeps seq from being reused (see migrations.ts).
      oldestTelemetry: db.prepare(`SELECT seq, okey FROM events WHERE prio = 1
        AND seq < (SELECT max(seq) FROM events) ORDER BY seq LIMIT ?`),
      oldest: db.prepare(`SELECT seq, okey, appended_at FROM events WHERE seq > ?
        AND seq < (SELECT max(seq) FROM events) ORDER BY seq LIMIT ?`),
      delEvent: db.prepare('DELETE FROM events WHERE seq = ?'),
      delOutbox: db.prepare('DELETE FROM outbox WHERE sink = ? AND seq = ?'),
      delHeld: db.prepare('DELETE FROM held WHERE sink = ? AND okey = ? AND seq = ?'),
      delReceipts: db.prepare('DELETE FROM receipts WHERE sink = ? AND seq = ?'),
      inOutbox: db.prepare('SELECT 1 FROM outbox WHERE sink = ? AND seq = ?').pluck(),
      inHeld: db.prepare('SELECT 1 FROM held WHERE sink = ? AND okey = ? AND seq = ?').pluck(),
      inDead: db.prepare('SELECT 1 FROM dead WHERE sink = ? AND seq = ?').pluck(),
      bump: db.prepare(`INSERT INTO counters(name, value) VALUES (?, ?)
        ON CONFLICT(name) DO UPDATE SET value = value + excluded.value`),
      count: {
        outbox: db.prepare('SELECT count(*) FROM outbox WHERE sink = ?').pluck(),
        held: db.prepare('SELECT count(*) FROM held WHERE sink = ?').pluck(),
        dead: db.prepare('SELECT count(*) FROM dead WHERE sink = ?').pluck(),
      },
      outboxUpTo: db.prepare('SELECT count(*) FROM (SELECT 1 FROM outbox WHERE sink = ? LIMIT ?)').pluck(),
      oldestOutbox: db.prepare(`SELECT e.appended_at FROM outbox o JOIN events e ON e.seq = o.seq
        WHERE o.sink = ? ORDER BY o.seq LIMIT 1`).pluck(),
      oldestHeld: db.prepare(`SELECT min(e.appended_at) FROM held h JOIN events e ON e.seq = h.seq
        WHERE h.sink = ?`).pluck(),
      oldestClaimed: db.prepare('SELECT min(created_at) FROM claims WHERE sink = ?').pluck(),
      firstOutboxSeq: db.prepare('SELECT min(seq) FROM outbox WHERE sink = ?').pluck(),
      firstHeldSeq: db.prepare('SELECT min(seq) FROM held WHERE sink = ?').pluck(),
      appendedAt: db.prepare('SELECT appended_at FROM events WHERE seq = ?').pluck(),
      headByType: db.prepare(`SELECT e.type, min(e.occurred_at) AS at FROM (SELECT seq FROM outbox WHERE sink = ? ORDER BY seq LIMIT ?) o
        JOIN events e ON e.seq = o.seq GROUP BY e.type`),
      heldByType: db.prepare(`SELECT e.type, min(e.occurred_at) AS at FROM (SELECT seq FROM held WHERE sink = ? LIMIT ?) h
        JOIN events e ON e.seq = h.seq GROUP BY e.type`),
      occurredOf: db.prepare('SELECT type, occurred_at AS at FROM events WHERE seq = ?'),
    };
  }

  /** Bytes in use by live pages (the file may be larger; freed pages are reused before it grows). */
  usedBytes(): number {
    const pages = (this.st.pageCount.get() as number) - (this.st.freeCount.get() as number);
    return pages * (this.st.pageSize.get() as number);
  }

  fullError(): SpoolFullError {
    return new SpoolFullError(this.usedBytes(), this.opts.capBytes);
  }

  /**
   * Decides, per append call in a group, whether it may be committed. The cap is checked once per group, so one
   * group may overshoot it by at most its own size.
   */
  admit(groups: SpoolRecord[][]): boolean[] {
    const cap = this.opts.capBytes - this.opts.walReserve;
    if (this.opts.capBytes <= 0) return groups.map(() => true);
    let used = this.usedBytes() - this.opts.rejectedBytes();
    if (used >= cap * this.opts.warnRatio) {
      if (!this.warned) this.opts.notice({ kind: 'capacity-warning', usedBytes: used, capBytes: cap });
      this.warned = true;
    } else this.warned = false;
    if (used < cap) return this.admitAll(groups);
    const incoming = groups.reduce((n, g) => n + g.length, 0);
    if (this.dropOldestTelemetry(Math.max(32, incoming * 2)) > 0) used = this.usedBytes() - this.opts.rejectedBytes();
    if (used < cap) return this.admitAll(groups);
    // Reported when it starts, not on every refused append: sources retry often while the spool is full.
    if (!this.full) this.opts.notice({ kind: 'backpressure', usedBytes: used, capBytes: cap });
    this.full = true;
    return groups.map(() => false);
  }

  private admitAll(groups: SpoolRecord[][]): boolean[] {
    this.full = false;
    return groups.map(() => true);
  }

  /** Deletes up to n of the oldest telemetry events that no sink has in flight. Returns how many went. */
  dropOldestTelemetry(n: number): number {
    const claimed = this.claimedSeqs();
    // A dead letter stays until a person replays or drops it, telemetry or not.
    const rows = (this.st.oldestTelemetry.all(n) as { seq: number; okey: string }[]).filter(
      (r) => !claimed.has(r.seq) && !this.isDead(r.seq),
    );
    if (rows.length === 0) return 0;
    this.db.transaction(() => {
      for (const r of rows) this.deleteEvent(r.seq, r.okey);
      this.st.bump.run('telemetry_dropped', rows.length);
    })();
    this.opts.notice({ kind: 'telemetry-dropped', count: rows.length });
    return rows.length;
  }

  /**
   * Deletes events older than the retention age that no sink still owes (pending, held, in a claim or dead).
   * Runs in chunks so the event loop is not held for long. Returns how many events were deleted.
   */
  prune(maxChunks = 50): number {
    this.db.transaction(() => this.opts.pruneRejected(this.opts.now() - this.opts.rejectedRetentionMs))();
    const cutoff = this.opts.now() - this.opts.retentionMs;
    const claimed = this.claimedSeqs();
    let after = 0;
    let deleted = 0;
    for (let chunk = 0; chunk < maxChunks; chunk++) {
      const rows = this.st.oldest.all(after, PRUNE_CHUNK) as { seq: number; okey: string; appended_at: number }[];
      const old = rows.filter((r) => r.appended_at < cutoff);
      if (old.length === 0) break;
      after = old[old.length - 1]!.seq;
      const done = old.filter((r) => !claimed.has(r.seq) && !this.owed(r.seq, r.okey));
      this.db.transaction(() => {
        for (const r of done) this.deleteEvent(r.seq, r.okey);
      })();
      deleted += done.length;
      if (old.length < rows.length) break;
    }
    return deleted;
  }

  /**
   * When the oldest event any of these sinks still owes (waiting, held behind a key, or in a claim) was appended;
   * undefined when they owe nothing. Seqs grow with append time, so the lowest owed seq is the oldest.
   */
  oldestOwed(sinks: Iterable<SinkState>): number | undefined {
    let first = Infinity;
    for (const s of sinks) {
      for (const q of [this.st.firstOutboxSeq.get(s.id), this.st.firstHeldSeq.get(s.id)]) if (typeof q === 'number' && q < first) first = q;
      for (const c of s.claims.values()) if (c.seqs[0]! < first) first = c.seqs[0]!;
    }
    return first === Infinity ? undefined : (this.st.appendedAt.get(first) as number | undefined);
  }

  stats(s: SinkState): SinkStats {
    const inFlight = s.handedOutCount();
    const candidates = [
      this.st.oldestOutbox.get(s.id),
      this.st.oldestHeld.get(s.id),
      this.st.oldestClaimed.get(s.id),
    ].filter((t): t is number => typeof t === 'number');
    return {
      sink: s.name,
      pending: this.st.count.outbox.get(s.id) as number,
      held: this.st.count.held.get(s.id) as number,
      inFlightBatches: inFlight,
      waitingBatches: s.claims.size - inFlight,
      deadLetters: this.st.count.dead.get(s.id) as number,
      parkedKeys: s.parked.size,
      oldestPendingAt: candidates.length ? Math.min(...candidates) : undefined,
    };
  }

  /**
   * Whether a sink has work it could do now, and about how much: batches out or waiting to retry, plus its outbox
   * counted up to `cap` rows. Cheap enough for every /readyz (stats() counts the whole backlog).
   */
  workWaiting(s: SinkState, cap = 10_000): number {
    return s.claims.size + (this.st.outboxUpTo.get(s.id, cap) as number);
  }

  deadLetterCount(s: SinkState): number {
    return this.st.count.dead.get(s.id) as number;
  }

  /**
   * The oldest source time (occurredAt) of what a sink still owes, per event type: in flight or waiting to retry,
   * held behind a key, and the head of its outbox. Only the oldest `head` waiting rows are read, so the cost stays
   * bounded with a backlog of millions: a type found only deeper than that was appended later than all of them.
   */
  oldestPendingByType(s: SinkState, head = 10_000): Map<string, number> {
    const out = new Map<string, number>();
    const take = (type: string, at: number) => out.set(type, Math.min(at, out.get(type) ?? Infinity));
    for (const r of this.st.headByType.all(s.id, head) as { type: string; at: number }[]) take(r.type, r.at);
    for (const r of this.st.heldByType.all(s.id, head) as { type: string; at: number }[]) take(r.type, r.at);
    for (const c of s.claims.values()) {
      for (const seq of c.seqs.slice(0, 1000)) {
        const r = this.st.occurredOf.get(seq) as { type: string; at: number } | undefined;
        if (r) take(r.type, r.at);
      }
    }
    return out;
  }

  private isDead(seq: number): boolean {
    for (const s of this.sinks.values()) if (this.st.inDead.get(s.id, seq)) return true;
    return false;
  }

  private owed(seq: number, okey: string): boolean {
    for (const s of this.sinks.values()) {
      if (this.st.inOutbox.get(s.id, seq) || this.st.inDead.get(s.id, seq) || this.st.inHeld.get(s.id, okey, seq)) {
        return true;
      }
    }
    return false;
  }

  private deleteEvent(seq: number, okey: string): void {
    for (const s of this.sinks.values()) {
      this.st.delOutbox.run(s.id, seq);
      this.st.delHeld.run(s.id, okey, seq);
      this.st.delReceipts.run(s.id, seq);
    }
    this.st.delEvent.run(seq);
  }

  private claimedSeqs(): Set<number> {
    const set = new Set<number>();
    for (const s of this.sinks.values()) for (const c of s.claims.values()) for (const q of c.seqs) set.add(q);
    return set;
  }
}
