// The spool: a SQLite write-ahead store between the plant and the sinks. This file holds the lifecycle and the
// append path (group commit, de-duplication, fan-out, capacity); delivery.ts holds claim/settle, admin.ts dead
// letters, rejected records and replays, maintenance.ts capacity and retention. Invariants: spool/README.md.
import { EventEmitter } from 'node:events';
import { openDatabase, markCleanShutdown, isCorruption, quarantine, type Db, type OpenOptions } from './open.ts';
import { SinkState } from './sink-state.ts';
import { Delivery } from './delivery.ts';
import { AppendWriter } from './append-writer.ts';
import { Admin } from './admin.ts';
import { History } from './history.ts';
import { Maintenance } from './maintenance.ts';
import { WalSync } from './wal-sync.ts';
import {
  SpoolFullError,
  type AppendOptions,
  type AppendResult,
  type Claim,
  type Route,
  type Outcome,
  type SinkStats,
  type SpoolNotice,
  type SpoolOptions,
  type SpoolRecord,
} from './types.ts';

interface Pending {
  records: SpoolRecord[];
  opts: AppendOptions;
  resolve: (r: AppendResult[]) => void;
  reject: (e: Error) => void;
}

export class Spool extends EventEmitter<{ work: [sink: string] }> {
  readonly admin: Admin;
  /** Minute and hour figures for the status page and `plantsync report` (history.ts). */
  readonly history: History;
  readonly maintenance: Maintenance;
  private readonly delivery: Delivery;
  private readonly writer: AppendWriter;
  private readonly sinks = new Map<string, SinkState>();
  private routesByType = new Map<string, SinkState[]>();
  private routes: Route[] = [];
  private queue: Pending[] = [];
  private queued = 0;
  private flushScheduled = false;
  private closed = false;
  private readonly st;
  private readonly now: () => number;
  private readonly notice: (n: SpoolNotice) => void;
  private readonly commitWindowMs: number;
  private readonly maxGroup: number;

  static open(opts: SpoolOptions & Pick<OpenOptions, 'forceCheck' | 'readOnly' | 'mustExist'>): Spool {
    const db = openDatabase(opts.path, opts);
    try {
      return new Spool(db, opts);
    } catch (err) {
      db.close();
      if (opts.readOnly) throw err; // a look never moves anything
      // Damage the integrity check does not look for (it runs only after an unclean stop) can show up while the
      // spool reads its state: the file is moved aside here too, never a crash on every start.
      if (!isCorruption(err)) throw err;
      const movedTo = quarantine(opts.path);
      opts.onNotice?.({ kind: 'quarantined', movedTo, reason: (err as Error).message });
      return new Spool(openDatabase(opts.path, opts), opts);
    }
  }

  /** Set once SQLite reported the file damaged while running (see fault()). */
  damaged: string | undefined;

  /**
   * Every error of a spool operation passes here. SQLITE_CORRUPT (or NOTADB) at any point means the file cannot be
   * trusted: it is reported once as a 'corrupt' notice (the agent stops on it), and the file is not marked cleanly
   * closed, so the next open checks it and moves it aside. It never runs on silently, refusing every commit.
   */
  private fault(err: unknown): void {
    if (this.damaged || !isCorruption(err)) return;
    this.damaged = (err as Error).message;
    this.notice({ kind: 'corrupt', reason: this.damaged });
  }

  /** Runs a spool operation, passing its error through fault() first. */
  private guarded<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      this.fault(err);
      throw err;
    }
  }

  readonly db: Db;
  private readonly wal: WalSync;

  /** Opened by a tool to look (status, dlq list): nothing is written, not even the clean/unclean mark. */
  readonly readOnly: boolean;

  private constructor(db: Db, opts: SpoolOptions & { readOnly?: boolean | undefined }) {
    super();
    this.db = db;
    this.readOnly = opts.readOnly === true;
    this.wal = new WalSync(`${db.name}-wal`, opts.flushWal);
    this.now = opts.now ?? Date.now;
    this.notice = opts.onNotice ?? (() => {});
    this.commitWindowMs = opts.commitWindowMs ?? 0;
    this.maxGroup = opts.maxGroup ?? 5000;
    const walReserve = this.readOnly ? 0 : boundWal(db, opts.capBytes ?? 0);
    this.st = {
      bump: db.prepare(`INSERT INTO counters(name, value) VALUES (?, ?)
        ON CONFLICT(name) DO UPDATE SET value = value + excluded.value`),
      putState: db.prepare(`INSERT INTO source_state(source, key, value, at) VALUES (?, ?, ?, ?)
        ON CONFLICT(source, key) DO UPDATE SET value = excluded.value, at = excluded.at`),
      getState: db.prepare('SELECT key, value FROM source_state WHERE source = ?'),
    };
    this.writer = new AppendWriter(db);
    const wake = (sink: string) => this.wake(this.sinkState(sink));
    const committed = () => this.wal.committedOne();
    this.delivery = new Delivery({ db, now: this.now, onRejectPolicy: (s, t) => this.policy(s, t), wake, committed });
    // Admin actions are rare and must be durable when they return (a rejected record before its source is acked).
    this.history = new History(db);
    this.admin = new Admin(db, this.sinks, this.delivery, this.now, wake, () => (committed(), this.wal.syncNow()), opts.rejected, (err) => this.fault(err), this.history);
    const budget = this.admin.rejectedBudget;
    this.maintenance = new Maintenance(db, this.sinks, {
      capBytes: opts.capBytes ?? 0,
      walReserve,
      warnRatio: opts.warnRatio ?? 0.8,
      retentionMs: opts.retentionMs ?? 7 * 24 * 3600_000,
      rejectedRetentionMs: opts.rejectedRetentionMs ?? opts.retentionMs ?? 7 * 24 * 3600_000,
      rejectedBytes: () => budget.bytes,
      pruneRejected: (cutoff) => budget.pruneOlderThan(cutoff),
      now: this.now,
      notice: this.notice,
    });
    this.sinkNames(); // every sink with state in the file, routed or not, so retention never deletes what it owes
    this.setRoutes(opts.routes);
  }

  /** Routes apply to events appended from now on; existing delivery state is never touched by a route change. */
  setRoutes(routes: Route[]): void {
    this.routes = routes;
    this.routesByType = new Map();
    for (const r of routes) this.sinkState(r.sink);
  }

  /** Sink names known to the spool: routed now, or with state left from an earlier config. */
  sinkNames(): string[] {
    const names = this.db.prepare('SELECT name FROM sinks ORDER BY id').pluck().all() as string[];
    for (const n of names) this.sinkState(n);
    return names;
  }

  /**
   * Durably appends records. Resolves once they are committed and flushed to disk (wal-sync.ts), so an upstream
   * acknowledgement after this survives kill -9 and power loss. Appends within the commit window share one
   * transaction. Rejects with SpoolFullError when business records meet the cap (back-pressure: do not ack).
   * `onCommitted` runs once the records are committed, before the flush: appends commit in call order, so a caller
   * that must keep order across appends (a source pipelining its groups) issues the next one from there. `state`
   * is the source's own state, written in the same transaction (read back with sourceState()).
   */
  append(records: SpoolRecord[], opts: AppendOptions = {}): Promise<AppendResult[]> {
    if (this.closed) return Promise.reject(new Error('spool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ records, opts, resolve, reject });
      this.queued += records.length;
      if (this.queued >= this.maxGroup) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        if (this.commitWindowMs > 0) setTimeout(() => this.flush(), this.commitWindowMs);
        else setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const group = this.queue;
    this.queue = [];
    this.queued = 0;
    if (group.length === 0) return;
    let accepted: boolean[];
    try {
      accepted = this.maintenance.admit(group.map((p) => p.records));
    } catch (err) {
      this.fault(err);
      for (const p of group) p.reject(err as Error);
      return;
    }
    const ok = group.filter((_, i) => accepted[i]);
    for (const [i, p] of group.entries()) if (!accepted[i]) p.reject(this.maintenance.fullError());
    if (ok.length === 0) return;
    const now = this.now();
    const woken = new Set<SinkState>();
    let results: AppendResult[][];
    try {
      results = this.db.transaction(() => {
        const seqs = this.writer.write(ok.flatMap((p) => p.records), now, (t) => this.sinksFor(t), woken);
        const dups = seqs.filter((s) => s === undefined).length;
        if (dups > 0) this.st.bump.run('duplicates', dups);
        for (const p of ok) for (const e of p.opts.state ?? []) this.st.putState.run(e.source, e.key, e.value, now);
        let at = 0;
        return ok.map((p) =>
          p.records.map((): AppendResult => {
            const seq = seqs[at++];
            return seq === undefined ? { seq, duplicate: true } : { seq, duplicate: false };
          }),
        );
      })();
    } catch (err) {
      this.fault(err);
      for (const p of ok) p.reject(err as Error);
      return;
    }
    this.wal.committedOne();
    for (const p of ok) p.opts.onCommitted?.();
    // Sinks may claim at once; nothing leaves before its flush (a dispatcher waits for synced() before sending).
    for (const s of woken) this.wake(s);
    this.wal.synced().then(
      () => ok.forEach((p, i) => p.resolve(results[i]!)),
      (err: Error) => ok.forEach((p) => p.reject(err)),
    );
  }

  /** A source's state as last committed with its events (key -> value). */
  sourceState(source: string): Map<string, string> {
    const rows = this.st.getState.all(source) as { key: string; value: string }[];
    return new Map(rows.map((r) => [r.key, r.value]));
  }

  /** A failed WAL flush (sticky until restart: nothing more is confirmed), since when; undefined while flushes work. */
  flushFailure(): { since: number; error: string } | undefined {
    return this.wal.failure;
  }

  /** WAL flushes so far: under load far fewer than commits, as commits share them. */
  get flushes(): number {
    return this.wal.flushes;
  }

  /** Resolves once every commit so far (appends, claims) is on disk: call before anything leaves the agent. */
  synced(): Promise<void> {
    return this.wal.synced();
  }

  /**
   * Claims the next batch of a sink. `spread`: how many batches the caller may have out at once; a batch then takes
   * only its share of the waiting ordering keys, so the others are left for concurrent batches. `onePerKey`: at most
   * one event per ordering key in a batch (delivery.ts says why); false only for a sink that keeps a key's order
   * inside one request.
   */
  claim(sink: string, maxEvents: number, maxBytes = Infinity, spread = 1, onePerKey = true): Claim | undefined {
    return this.guarded(() => this.delivery.claim(this.sinkState(sink), maxEvents, maxBytes, spread, onePerKey));
  }

  /** Settles a claim with its outcome; `delayMs` (the dispatcher's backoff) applies to what is retried. */
  settle(claim: Claim, outcome: Outcome, delayMs = 0): void {
    this.guarded(() => this.delivery.settle(this.sinkState(claim.sink), claim, outcome, delayMs));
    if (outcome.kind !== 'retry') this.wake(this.sinkState(claim.sink));
  }

  /**
   * Takes back the batches a stopped dispatcher still held (abandoned at its shutdown deadline), as a restart
   * would: they go out again unchanged, under the same batch key, to the next dispatcher of this sink.
   */
  releaseHandedOut(sink: string): number {
    const s = this.sinkState(sink);
    let n = 0;
    for (const c of s.claims.values()) if (c.handedOut) (c.handedOut = false, n++);
    if (n) this.wake(s);
    return n;
  }

  /** Makes every batch waiting to retry due now (the sink recovered); returns how many. */
  expediteRetries(sink: string): number {
    return this.delivery.expedite(this.sinkState(sink));
  }

  /** When the earliest retry of this sink becomes due (epoch ms), if any is waiting. */
  nextDueAt(sink: string): number | undefined {
    return this.sinkState(sink).nextDueAt();
  }

  stats(sink: string): SinkStats {
    return this.guarded(() => this.maintenance.stats(this.sinkState(sink)));
  }

  /** When the oldest event these sinks still owe was appended (epoch ms); undefined when they owe nothing. */
  oldestOwed(sinks: string[]): number | undefined {
    return this.guarded(() => this.maintenance.oldestOwed(sinks.map((n) => this.sinkState(n))));
  }

  /** Work a sink could do now (batches out or waiting, its outbox counted up to 10,000 rows): for readiness. */
  workWaiting(sink: string): number {
    return this.guarded(() => this.maintenance.workWaiting(this.sinkState(sink)));
  }

  /** Dead letters of a sink: one indexed count, cheap enough to sample (stats() also counts the whole backlog). */
  deadLetterCount(sink: string): number {
    return this.maintenance.deadLetterCount(this.sinkState(sink));
  }

  /** Per event type, the oldest occurredAt (epoch ms) among what this sink still owes (maintenance.ts). */
  oldestPendingByType(sink: string): Map<string, number> {
    return this.maintenance.oldestPendingByType(this.sinkState(sink));
  }

  counter(name: string): number {
    return (this.db.prepare('SELECT value FROM counters WHERE name = ?').pluck().get(name) as number | undefined) ?? 0;
  }

  redeliveries(sink: string): number {
    return this.sinkState(sink).redeliveries;
  }

  /** Commits what is queued, records a clean shutdown and releases the file lock. */
  close(): void {
    if (this.closed) return;
    if (this.readOnly) {
      this.closed = true;
      this.db.close();
      return;
    }
    this.flush();
    this.closed = true;
    // A damaged file is not marked clean: the next open runs the integrity check and moves it aside.
    if (!this.damaged) {
      try {
        markCleanShutdown(this.db);
      } catch (err) {
        this.fault(err);
      }
    }
    try {
      this.wal.syncNow(); // confirms the last group before the file closes
    } catch {
      // sticky failure: those appends are rejected and their sources never acknowledged them
    }
    this.db.close();
    this.wal.close();
  }

  /** Something changed for this sink (new events, keys released): claims must look again. */
  private wake(s: SinkState): void {
    s.nothingClaimable = false;
    this.emit('work', s.name);
  }

  private sinkState(name: string): SinkState {
    let s = this.sinks.get(name);
    if (!s) {
      if (!this.readOnly) this.db.prepare('INSERT OR IGNORE INTO sinks(name) VALUES (?)').run(name);
      const id = (this.db.prepare('SELECT id FROM sinks WHERE name = ?').pluck().get(name) as number | undefined) ?? -1;
      s = SinkState.load(this.db, id, name);
      this.sinks.set(name, s);
      if (!this.readOnly) this.recoverHeld(s);
    }
    return s;
  }

  private sinksFor(type: string): SinkState[] {
    let list = this.routesByType.get(type);
    if (!list) {
      const matched = this.routes.filter((r) => r.types === '*' || r.types.includes(type));
      list = [...new Set(matched.map((r) => this.sinkState(r.sink)))];
      this.routesByType.set(type, list);
    }
    return list;
  }

  private policy(sink: string, type: string): 'park' | 'skip' {
    const r = this.routes.find((x) => x.sink === sink && (x.types === '*' || x.types.includes(type)));
    return r?.onReject ?? 'park';
  }

  /** Held events of a key that nothing blocks any more (a crash between settle steps) go back to the outbox. */
  private recoverHeld(s: SinkState): void {
    this.delivery.atomically(s, () => {
      for (const k of [...s.heldKeys]) this.delivery.releaseIfFree(s, k);
    });
  }
}

export { SpoolFullError };

/**
 * Keeps the WAL inside the byte cap: an eighth of the cap (256 KiB to 16 MiB, at most a quarter) is reserved for it, it is checkpointed
 * and truncated at half of that, and pages may use only the rest of the cap, so the file set (spool.db + its WAL) stays within the
 * cap (plus the rejected records' budget and one commit group). Checkpointing only at 16 MiB let a small cap be
 * overrun by the WAL alone. Returns the bytes reserved for the WAL (0 without a cap).
 */
function boundWal(db: Db, capBytes: number): number {
  if (capBytes <= 0) return 0;
  const reserve = Math.min(16 * 1024 * 1024, Math.max(256 * 1024, Math.floor(capBytes / 8)), Math.floor(capBytes / 4));
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  // Checkpoint at half the reserve: the WAL holds that plus the commit that crossed it, within the reserve.
  db.pragma(`wal_autocheckpoint = ${Math.max(16, Math.floor(reserve / 2 / pageSize))}`);
  db.pragma(`journal_size_limit = ${Math.floor(reserve / 2)}`);
  return reserve;
}
