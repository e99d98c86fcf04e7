// `plantsync report`: the figures a plant's integration review asks for, over a time range, from the spool's history
// (spool/history.ts) and audit log: per sink and event type how many postings, how late (source time to the ERP's
// acknowledgement: p50, p95, max; share within the type's objective), how many needed a person (dead letters) and how
// long they waited for one (replayed or dropped), the people's actions with their reasons, and rejected input per
// source with its most frequent reasons and how long the records people resolved waited.
import { emptyStats, mergeStats, quantileMs, type HistoryStats } from '../spool/history.ts';
import type { Spool } from '../spool/spool.ts';

export interface ReportRequest {
  since: number;
  until?: number | undefined;
}

export interface ReportLine {
  sink: string;
  type: string;
  /** Postings the sink acknowledged. */
  delivered: number;
  p50Sec: number | null;
  p95Sec: number | null;
  maxSec: number | null;
  /** The type's objective now, and the share of the judged postings that met the objective in force when they were made. */
  objectiveSec: number | null;
  withinObjective: number | null;
  /** Events the sink rejected into the dead letters. */
  deadLetters: number;
  replayed: number;
  dropped: number;
  /** How long resolved dead letters waited for a person (replayed or dropped in the range). */
  resolutionP50Sec: number | null;
  resolutionMaxSec: number | null;
}

export interface Report {
  /** The range read: `from` is earlier than asked when that part is older than the minute history (whole hours). */
  from: string;
  until: string;
  eventsIn: number;
  lines: ReportLine[];
  /** People's actions on what the agent owes, grouped by action and reason (plantsync audit has each). */
  interventions: { action: string; reason: string; actions: number; events: number }[];
  /**
   * Per source: messages received, records rejected, those a person replayed or dropped in the range and how long
   * they waited, and the most frequent reasons.
   */
  rejected: { source: string; messages: number; rejected: number; replayed: number; dropped: number; resolutionP50Sec: number | null; resolutionMaxSec: number | null; reasons: { reason: string; count: number }[] }[];
}

const sec = (ms: number | undefined) => (ms === undefined ? null : Math.round(ms / 100) / 10);

export function buildReport(spool: Spool, r: ReportRequest, objectiveOf: (type: string) => number | undefined, now = Date.now()): Report {
  const until = Math.min(r.until ?? now, now);
  if (!(r.since < until)) throw Object.assign(new Error(`--since (${new Date(r.since).toISOString()}) must be before --until (${new Date(until).toISOString()})`), { usage: true });
  const { rows, from } = spool.history.rows(r.since, until, now);
  const lines = new Map<string, { sink: string; type: string; s: HistoryStats; replayed: number; dropped: number; resolved: HistoryStats }>();
  const line = (sink: string, type: string) => {
    const k = `${sink}\0${type}`;
    let l = lines.get(k);
    if (!l) lines.set(k, (l = { sink, type, s: emptyStats(), replayed: 0, dropped: 0, resolved: emptyStats() }));
    return l;
  };
  let eventsIn = 0;
  const sources = new Map<string, { messages: number; rejected: number; replayed: number; dropped: number; resolved: HistoryStats }>();
  const source = (name: string) => {
    let s = sources.get(name);
    if (!s) sources.set(name, (s = { messages: 0, rejected: 0, replayed: 0, dropped: 0, resolved: emptyStats() }));
    return s;
  };
  for (const row of rows) {
    if (row.kind === 'sink') mergeStats(line(row.name, row.type).s, row);
    else if (row.kind === 'replayed' || row.kind === 'dropped') {
      const l = line(row.name, row.type);
      l[row.kind] += row.events;
      mergeStats(l.resolved, { events: row.events, maxMs: row.maxMs, hist: row.hist });
    } else if (row.kind === 'intake') eventsIn += row.events;
    else if (row.kind === 'source') {
      const s = source(row.name);
      s.messages += row.events;
      s.rejected += row.rejected;
    } else if (row.kind === 'input-replayed' || row.kind === 'input-dropped') {
      const s = source(row.name);
      s[row.kind === 'input-replayed' ? 'replayed' : 'dropped'] += row.events;
      mergeStats(s.resolved, { events: row.events, maxMs: row.maxMs, hist: row.hist });
    }
  }
  const reasons = spool.history.rejectedReasons(from, until);
  for (const x of reasons) source(x.source);
  const interventions = new Map<string, { action: string; reason: string; actions: number; events: number }>();
  for (const e of spool.admin.auditLog(100_000, { since: from, until })) {
    const k = `${e.action}\0${e.reason}`;
    const i = interventions.get(k) ?? { action: e.action, reason: e.reason, actions: 0, events: 0 };
    i.actions++;
    i.events += e.count;
    interventions.set(k, i);
  }
  return {
    from: new Date(from).toISOString(),
    until: new Date(until).toISOString(),
    eventsIn,
    lines: [...lines.values()]
      .sort((a, b) => a.sink.localeCompare(b.sink) || a.type.localeCompare(b.type))
      .map(({ sink, type, s, replayed, dropped, resolved }) => ({
        sink,
        type,
        delivered: s.events,
        p50Sec: sec(quantileMs(s, 0.5)),
        p95Sec: sec(quantileMs(s, 0.95)),
        maxSec: s.events ? sec(s.maxMs) : null,
        objectiveSec: objectiveOf(type) ?? null,
        withinObjective: s.judged ? Math.round((s.within / s.judged) * 1000) / 1000 : null,
        deadLetters: s.dead,
        replayed,
        dropped,
        resolutionP50Sec: sec(quantileMs(resolved, 0.5)),
        resolutionMaxSec: resolved.events ? sec(resolved.maxMs) : null,
      })),
    interventions: [...interventions.values()].sort((a, b) => b.events - a.events),
    rejected: [...sources].map(([name, s]) => ({
      source: name,
      messages: s.messages,
      rejected: s.rejected,
      replayed: s.replayed,
      dropped: s.dropped,
      resolutionP50Sec: sec(quantileMs(s.resolved, 0.5)),
      resolutionMaxSec: s.resolved.events ? sec(s.resolved.maxMs) : null,
      reasons: reasons.filter((x) => x.source === name).map(({ reason, count }) => ({ reason, count })),
    })),
  };
}
