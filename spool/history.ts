// What the agent did, minute by minute, kept in the spool so the status page's plots and `plantsync report` survive
// a restart: events in, events delivered per sink and type with their latency (source time to the sink's
// acknowledgement) as a histogram, new dead letters, rejected input, backlog, and how long dead letters waited for a
// person. Two resolutions, both bounded: minute rows for the last 48 hours (the plots), hour rows for `keepDays`
// (the report over weeks). Every write adds to the row of its minute and of its hour (sums, maxima, merged
// histograms), so a writer may flush as often as it likes and a restart mid-minute loses nothing already flushed.
//
// Latency histograms: bucket i holds values up to 2^(i/8) ms (each bucket 9 % wider than the one before), stored as
// a sparse JSON object {"i": count}: percentiles over any range are exact to within 9 %, at a few dozen bytes a row.
import type { Statement } from 'better-sqlite3';
import type { Db } from './open.ts';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
/** Minute rows are kept this long; older hours are read from hour rows. */
export const MINUTES_KEPT_MS = 48 * HOUR_MS;

/**
 * What a row counts. `sink`: deliveries of one event type (events, latency, within objective, new dead letters).
 * `backlog`: a sink's gauges (type ''). `source`: messages received and rejected. `intake`: events committed (name
 * and type ''). `replayed`/`dropped`: dead letters a person resolved, with the time they waited (in the histogram);
 * `input-replayed`/`input-dropped`: the same for a source's rejected records (type '').
 */
export type HistoryKind = 'sink' | 'backlog' | 'source' | 'intake' | 'replayed' | 'dropped' | 'input-replayed' | 'input-dropped';

export interface HistoryStats {
  events: number;
  /** Of `events`, those that had an objective (`judged`) and met it (`within`). */
  within: number;
  judged: number;
  maxMs: number;
  hist: Record<string, number>;
  dead: number;
  rejected: number;
  /** Gauges: the highest sample in the row's time. */
  backlog: number;
  deadWaiting: number;
  oldestMs: number;
}

export interface HistoryDelta extends Partial<HistoryStats> {
  /** When it happened (ms): the minute and hour rows it adds to. */
  at: number;
  kind: HistoryKind;
  name: string;
  type: string;
}

export interface HistoryRow extends HistoryStats {
  /** Minutes per row: 1 or 60. */
  res: 1 | 60;
  at: number;
  kind: HistoryKind;
  name: string;
  type: string;
}

export const emptyStats = (): HistoryStats => ({ events: 0, within: 0, judged: 0, maxMs: 0, hist: {}, dead: 0, rejected: 0, backlog: 0, deadWaiting: 0, oldestMs: 0 });

export function bucketOf(ms: number): number {
  return ms <= 1 ? 0 : Math.ceil(8 * Math.log2(ms));
}

export function bucketUpperMs(i: number): number {
  return 2 ** (i / 8);
}

/** Counts one duration (ms) into a row's count, maximum and histogram. */
export function observe(s: { events: number; maxMs: number; hist: Record<string, number> }, ms: number): void {
  const b = bucketOf(ms);
  s.events++;
  s.maxMs = Math.max(s.maxMs, ms);
  s.hist[b] = (s.hist[b] ?? 0) + 1;
}

/** Adds `b` into `a` (sums, maxima, histograms). */
export function mergeStats(a: HistoryStats, b: Partial<HistoryStats>): HistoryStats {
  a.events += b.events ?? 0;
  a.within += b.within ?? 0;
  a.judged += b.judged ?? 0;
  a.dead += b.dead ?? 0;
  a.rejected += b.rejected ?? 0;
  a.maxMs = Math.max(a.maxMs, b.maxMs ?? 0);
  a.backlog = Math.max(a.backlog, b.backlog ?? 0);
  a.deadWaiting = Math.max(a.deadWaiting, b.deadWaiting ?? 0);
  a.oldestMs = Math.max(a.oldestMs, b.oldestMs ?? 0);
  for (const [k, v] of Object.entries(b.hist ?? {})) a.hist[k] = (a.hist[k] ?? 0) + v;
  return a;
}

/** The q-quantile (0..1) of a histogram in ms: its bucket's upper bound, never above the largest value seen. */
export function quantileMs(s: Pick<HistoryStats, 'hist' | 'maxMs'>, q: number): number | undefined {
  return quantilesMs(s, [q])[0];
}

/** Several quantiles (ascending) of one histogram, sorting its buckets once. */
export function quantilesMs(s: Pick<HistoryStats, 'hist' | 'maxMs'>, qs: number[]): (number | undefined)[] {
  const buckets = Object.entries(s.hist).map(([k, v]) => [Number(k), v] as const).sort((x, y) => x[0] - y[0]);
  const total = buckets.reduce((n, [, v]) => n + v, 0);
  if (!total) return qs.map(() => undefined);
  const out: number[] = [];
  let seen = 0;
  let b = 0;
  for (const q of qs) {
    const rank = Math.max(1, Math.ceil(q * total));
    while (b < buckets.length && seen + buckets[b]![1] < rank) seen += buckets[b++]![1];
    out.push(b < buckets.length ? Math.min(bucketUpperMs(buckets[b]![0]), s.maxMs) : s.maxMs);
  }
  return out;
}

interface DbRow {
  res: 1 | 60;
  at: number;
  kind: HistoryKind;
  name: string;
  type: string;
  events: number;
  within: number;
  judged: number;
  max_ms: number;
  hist: string;
  dead: number;
  rejected: number;
  backlog: number;
  dead_waiting: number;
  oldest_ms: number;
}

const fromDb = (r: DbRow): HistoryRow => ({
  res: r.res, at: r.at, kind: r.kind, name: r.name, type: r.type, events: r.events, within: r.within, judged: r.judged, maxMs: r.max_ms,
  hist: JSON.parse(r.hist) as Record<string, number>, dead: r.dead, rejected: r.rejected, backlog: r.backlog, deadWaiting: r.dead_waiting, oldestMs: r.oldest_ms,
});

export class History {
  private readonly db: Db;
  private readonly st: { get: Statement; put: Statement };

  constructor(db: Db) {
    this.db = db;
    this.st = {
      get: db.prepare('SELECT * FROM history WHERE res = ? AND at = ? AND kind = ? AND name = ? AND type = ?'),
      put: db.prepare(`INSERT OR REPLACE INTO history(res, at, kind, name, type, events, within, judged, max_ms, hist, dead, rejected,
        backlog, dead_waiting, oldest_ms) VALUES (@res, @at, @kind, @name, @type, @events, @within, @judged, @maxMs, @hist, @dead, @rejected,
        @backlog, @deadWaiting, @oldestMs)`),
    };
  }

  /** Adds each delta to its minute row and its hour row. Call inside the caller's transaction, or alone. */
  add(deltas: HistoryDelta[]): void {
    const run = () => {
      for (const d of deltas) {
        for (const res of [1, 60] as const) {
          const at = d.at - (d.at % (res * MINUTE_MS));
          const old = this.st.get.get(res, at, d.kind, d.name, d.type) as DbRow | undefined;
          const s = mergeStats(old ? fromDb(old) : emptyStats(), d);
          this.st.put.run({ res, at, kind: d.kind, name: d.name, type: d.type, ...s, hist: JSON.stringify(s.hist) });
        }
      }
    };
    if (this.db.inTransaction) run();
    else this.db.transaction(run)();
  }

  /**
   * Rows of [since, until): minute rows from 48 hours ago (whole hours), hour rows before that. `from` is where the
   * rows really start: the start of `since`'s minute, or of its hour when that part is older than the minute rows.
   */
  rows(since: number, until: number, now: number, kinds?: HistoryKind[]): { rows: HistoryRow[]; from: number } {
    const edge = minuteEdge(now);
    const kindSql = kinds ? `AND kind IN (${kinds.map(() => '?').join(',')})` : '';
    const q = (res: number, a: number, b: number) =>
      (this.db.prepare(`SELECT * FROM history WHERE res = ? AND at >= ? AND at < ? ${kindSql} ORDER BY at`).all(res, a, b, ...(kinds ?? [])) as DbRow[]).map(fromDb);
    const from = since < edge ? since - (since % HOUR_MS) : since - (since % MINUTE_MS);
    const old = since < edge ? q(60, from, Math.min(until, edge)) : [];
    const recent = until > edge ? q(1, Math.max(from, edge), until) : [];
    return { rows: [...old, ...recent], from };
  }

  /** Rejected input in [since, until) per source and reason (its first 120 characters), most frequent first. */
  rejectedReasons(since: number, until: number, limit = 50): { source: string; reason: string; count: number }[] {
    return this.db
      .prepare(`SELECT source, substr(reason, 1, 120) AS reason, count(*) AS count FROM rejected WHERE at >= ? AND at < ?
        GROUP BY source, substr(reason, 1, 120) ORDER BY count DESC, source LIMIT ?`)
      .all(since, until, limit) as { source: string; reason: string; count: number }[];
  }

  /** Deletes minute rows older than 48 hours and hour rows older than `keepDays`. */
  prune(now: number, keepDays: number): number {
    return this.db.transaction(() => {
      const a = this.db.prepare('DELETE FROM history WHERE res = 1 AND at < ?').run(minuteEdge(now)).changes;
      const b = this.db.prepare('DELETE FROM history WHERE res = 60 AND at < ?').run(now - keepDays * 24 * HOUR_MS).changes;
      return a + b;
    })();
  }
}

/** Minute rows are read from here on: the start of the hour 48 hours ago. */
function minuteEdge(now: number): number {
  const t = now - MINUTES_KEPT_MS;
  return t - (t % HOUR_MS);
}

