// Latency objectives per event type (config `objectives.latencySeconds`: quality.hold 5 s, production.confirmation
// 30 s, telemetry 5 min, ...), measured from the event's source time (occurredAt) to the sink's acknowledgement,
// and dead letters that keep growing. What people act on:
// - breached now: a sink still owes an event of a type that is already older than its objective (it will be late
//   whatever happens next), or a sink's dead letters grew within the window. Readiness turns false and status
//   says which; both clear by themselves when the backlog drains or the dead letters stop growing.
// - missed recently: events acknowledged later than their objective in the last 5 minutes; in status and counted
//   in plantsync_objective_missed_total, so an alert can fire on the rate.
import type { Spool } from '../spool/spool.ts';
import type { AgentConfig } from './config.ts';
import type { Metrics } from './metrics.ts';

const MISS_WINDOW_MS = 5 * 60_000;
const CACHE_MS = 5_000;
const SAMPLE_MS = 30_000;

export interface ObjectiveMiss {
  sink: string;
  type: string;
  count: number;
  worstSec: number;
  objectiveSec: number;
}

export interface ObjectivesView {
  /** Objectives breached now (readiness is false while any is). */
  breached: string[];
  /** Events acknowledged later than their objective in the last 5 minutes. */
  recentMisses: ObjectiveMiss[];
}

/** The objective of a type in seconds: its own, else "*", else none. */
export function objectiveOf(config: AgentConfig, type: string): number | undefined {
  const l = config.objectives.latencySeconds as Record<string, number | undefined> | undefined;
  return l?.[type] ?? l?.['*'];
}

export class ObjectiveWatch {
  private readonly misses = new Map<string, { sink: string; type: string; at: number[]; worst: number }>();
  private readonly deadHistory = new Map<string, { at: number; count: number }[]>();
  private cached: { at: number; view: ObjectivesView } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly config: () => AgentConfig;
  private readonly spool: () => Spool;
  private readonly sinks: () => string[];
  private readonly metrics: Metrics;

  constructor(config: () => AgentConfig, spool: () => Spool, sinks: () => string[], metrics: Metrics) {
    this.config = config;
    this.spool = spool;
    this.sinks = sinks;
    this.metrics = metrics;
  }

  objectiveOf(type: string): number | undefined {
    return objectiveOf(this.config(), type);
  }

  /** Called for every event a sink acknowledged. */
  delivered(sink: string, type: string, occurredAt: number, now: number): void {
    const objective = this.objectiveOf(type);
    const late = (now - occurredAt) / 1000;
    if (objective === undefined || late <= objective) return;
    this.metrics.counter('plantsync_objective_missed_total', 'Events acknowledged later than their latency objective', ['sink', 'type']).inc({ sink, type });
    const k = `${sink}\0${type}`;
    const m = this.misses.get(k) ?? { sink, type, at: [], worst: 0 };
    m.at.push(now);
    m.worst = Math.max(m.worst, late);
    if (m.at.length > 10_000) m.at.splice(0, m.at.length - 10_000);
    this.misses.set(k, m);
  }

  start(): void {
    this.sampleDeadLetters(Date.now());
    this.timer = setInterval(() => this.sampleDeadLetters(Date.now()), SAMPLE_MS).unref();
    const m = this.metrics;
    m.sampled('plantsync_objective_latency_seconds', 'The configured latency objective per event type', ['type'], () =>
      Object.entries(this.config().objectives.latencySeconds ?? {}).map(([type, v]): [Record<string, string>, number] => [{ type }, v as number]),
    );
    m.sampled('plantsync_sink_oldest_pending_age_seconds', 'Age (from occurredAt) of the oldest event a sink still owes, per type', ['sink', 'type'], () => {
      const now = Date.now();
      return this.sinks().flatMap((sink) => [...this.spool().oldestPendingByType(sink)].map(([type, at]): [Record<string, string>, number] => [{ sink, type }, Math.max(0, now - at) / 1000]));
    });
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sampleDeadLetters(now: number): void {
    const windowMs = this.config().objectives.deadLetterWindowMinutes * 60_000;
    for (const sink of this.sinks()) {
      const h = this.deadHistory.get(sink) ?? [];
      h.push({ at: now, count: this.spool().deadLetterCount(sink) });
      while (h.length > 1 && h[1]!.at <= now - windowMs) h.shift();
      this.deadHistory.set(sink, h);
    }
  }

  view(now = Date.now()): ObjectivesView {
    if (this.cached && now - this.cached.at < CACHE_MS) return this.cached.view;
    const breached: string[] = [];
    for (const sink of this.sinks()) {
      for (const [type, at] of this.spool().oldestPendingByType(sink)) {
        const objective = this.objectiveOf(type);
        const age = (now - at) / 1000;
        if (objective !== undefined && age > objective) breached.push(`sink '${sink}': the oldest waiting ${type} is ${fmt(age)} old (objective ${fmt(objective)})`);
      }
      const h = this.deadHistory.get(sink);
      const nowDead = this.spool().deadLetterCount(sink);
      const grew = h?.length ? nowDead - h[0]!.count : 0;
      if (grew > 0) breached.push(`sink '${sink}': dead letters growing (+${grew} in the last ${this.config().objectives.deadLetterWindowMinutes} min; ${nowDead} waiting)`);
    }
    const recentMisses: ObjectiveMiss[] = [];
    for (const [k, m] of this.misses) {
      m.at = m.at.filter((t) => t > now - MISS_WINDOW_MS);
      if (!m.at.length) {
        this.misses.delete(k);
        continue;
      }
      recentMisses.push({ sink: m.sink, type: m.type, count: m.at.length, worstSec: Math.round(m.worst * 10) / 10, objectiveSec: this.objectiveOf(m.type) ?? 0 });
    }
    const view = { breached, recentMisses };
    this.cached = { at: now, view };
    return view;
  }
}

/** A duration as people read it: 4.2 s, 17 min, 3 h. */
export function fmt(sec: number): string {
  return sec < 120 ? `${Math.round(sec * 10) / 10} s` : sec < 7200 ? `${Math.round(sec / 60)} min` : `${Math.round(sec / 3600)} h`;
}
