// GET /history?hours=N: the spool's minute history (spool/history.ts) as the status page plots it: one value per
// minute (per few minutes beyond 6 hours: stepMinutes) of the last N hours (at most 48) for events in and out, backlog, waiting dead letters, rejected input, and
// per event type the posting delay's p50 and p95 beside its objective. Counts are 0 in a minute without rows;
// gauges and latencies are null there (the agent was not running, or nothing was delivered), which the plot shows
// as a gap, never as a made-up value. A history younger than the range starts at its first minute (showing ten at
// least).
import { HOUR_MS, mergeStats, MINUTE_MS, quantilesMs, type HistoryStats } from '../spool/history.ts';
import type { Spool } from '../spool/spool.ts';

export const MAX_HOURS = 48;

export interface HistorySeries {
  /** Minute starts, in seconds since the epoch (what uPlot takes). */
  minutes: number[];
  eventsIn: number[];
  delivered: Record<string, number[]>;
  backlog: Record<string, (number | null)[]>;
  /** Age of the oldest event a sink still owes, seconds. */
  oldestSec: Record<string, (number | null)[]>;
  deadWaiting: Record<string, (number | null)[]>;
  rejected: number[];
  latency: Record<string, { objectiveSec: number | null; p50Sec: (number | null)[]; p95Sec: (number | null)[] }>;
}

/** `hours` from a query string: 1 to 48, 6 when missing; anything else is the caller's error. */
export function hoursParam(v: string | null): number {
  if (v === null) return 6;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_HOURS) throw new Error(`hours must be a whole number from 1 to ${MAX_HOURS}, not '${v}'`);
  return n;
}

/**
 * Minutes per point: 1 up to 6 hours, then more (48 hours: 8), so a plot has at most 360 points (more than its
 * pixels would show) and the agent's loop is not held up reading them (2,880 minutes took ~200 ms at 1 minute).
 */
export function stepMinutes(hours: number): number {
  return Math.ceil(hours / 6);
}

export function historySeries(spool: Spool, hours: number, objectiveOf: (type: string) => number | undefined, now = Date.now()): HistorySeries {
  const step = stepMinutes(hours) * MINUTE_MS;
  const end = now - (now % step);
  const start = end - hours * HOUR_MS + step;
  const n = (end - start) / step + 1;
  const minutes = Array.from({ length: n }, (_, i) => (start + i * step) / 1000);
  const zeros = () => new Array<number>(n).fill(0);
  const gaps = () => new Array<number | null>(n).fill(null);
  const s: HistorySeries = { minutes, eventsIn: zeros(), delivered: {}, backlog: {}, oldestSec: {}, deadWaiting: {}, rejected: zeros(), latency: {} };
  const perType = new Map<string, (HistoryStats | undefined)[]>();
  const most = (xs: (number | null)[], i: number, v: number) => (xs[i] = Math.max(xs[i] ?? 0, v));
  let first = n - 1;
  for (const r of spool.history.rows(start, end + step, now).rows) {
    if (r.res !== 1) continue;
    const i = Math.floor((r.at - start) / step);
    if (i < 0 || i >= n) continue;
    first = Math.min(first, i);
    if (r.kind === 'intake') s.eventsIn[i]! += r.events;
    else if (r.kind === 'source') s.rejected[i]! += r.rejected;
    else if (r.kind === 'sink') {
      (s.delivered[r.name] ??= zeros())[i]! += r.events;
      const t = perType.get(r.type) ?? new Array<HistoryStats | undefined>(n);
      t[i] = t[i] ? mergeStats(t[i], r) : r; // the type's latency over every sink that delivers it (a row is used as it is until a second comes)
      perType.set(r.type, t);
    } else if (r.kind === 'backlog') {
      most((s.backlog[r.name] ??= gaps()), i, r.backlog);
      most((s.oldestSec[r.name] ??= gaps()), i, Math.round(r.oldestMs / 1000));
      most((s.deadWaiting[r.name] ??= gaps()), i, r.deadWaiting);
    }
  }
  // Counts per minute: a point of several minutes shows their average (the last one over the minutes it has had).
  const minutesIn = (i: number) => Math.min(step, Math.floor((now - (start + i * step)) / MINUTE_MS) * MINUTE_MS + MINUTE_MS) / MINUTE_MS;
  const perMinute = (xs: number[]) => (step === MINUTE_MS ? xs : xs.map((v, i) => Math.round(v / minutesIn(i))));
  s.eventsIn = perMinute(s.eventsIn);
  s.rejected = perMinute(s.rejected);
  for (const k of Object.keys(s.delivered)) s.delivered[k] = perMinute(s.delivered[k]!);
  const sec = (ms: number | undefined) => (ms === undefined ? null : Math.round(ms) / 1000);
  for (const [type, stats] of perType) {
    const q = stats.map((x) => (x ? quantilesMs(x, [0.5, 0.95]) : []));
    s.latency[type] = { objectiveSec: objectiveOf(type) ?? null, p50Sec: q.map((x) => sec(x[0])), p95Sec: q.map((x) => sec(x[1])) };
  }
  // At least ten points: a single one would get a range of years from the plot's auto-scaling.
  const keep = Math.min(first, n - 10);
  return keep > 0 ? from(s, keep) : s;
}

/** The series from minute `i` on: a history younger than the range asked (a new gateway) fills the plot's width. */
function from(s: HistorySeries, i: number): HistorySeries {
  const cut = <T>(r: Record<string, T[]>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.slice(i)]));
  return {
    minutes: s.minutes.slice(i),
    eventsIn: s.eventsIn.slice(i),
    delivered: cut(s.delivered),
    backlog: cut(s.backlog),
    oldestSec: cut(s.oldestSec),
    deadWaiting: cut(s.deadWaiting),
    rejected: s.rejected.slice(i),
    latency: Object.fromEntries(Object.entries(s.latency).map(([k, v]) => [k, { ...v, p50Sec: v.p50Sec.slice(i), p95Sec: v.p95Sec.slice(i) }])),
  };
}
