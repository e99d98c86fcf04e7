// Collects what the status page plots and `plantsync report` sums, and adds it to the spool's history every 10 s
// (spool/history.ts): deliveries per sink and type with their latency, new dead letters, events committed, per
// source messages received and rejected, and per sink its backlog, waiting dead letters and oldest waiting age.
// Counting a delivery is a map lookup and an array increment (no I/O on the delivery path); a failed write (a full
// disk) keeps the counts for the next try and is said once, never a stalled sink or source.
import { type HistoryDelta, MINUTE_MS, observe } from '../spool/history.ts';
import type { Spool } from '../spool/spool.ts';
import type { Logger } from './log.ts';
import type { SourceStatus } from './source.ts';

export const FLUSH_MS = 10_000;

/** What the recorder reads from the agent (the Agent class, without importing it). */
export interface HistoryView {
  readonly sources: ReadonlyMap<string, { status(): SourceStatus }>;
  readonly dispatchers: ReadonlyMap<string, unknown>;
  sinkStatus(name: string): { pending: number; held: number; inFlight: number; deadLetters: number; oldestPendingAt?: number | undefined };
  readonly ingestStats: { accepted: number; rejectedBySource: ReadonlyMap<string, number> };
  readonly objectives: { objectiveOf(type: string): number | undefined };
}

type Acc = HistoryDelta & { events: number; within: number; judged: number; maxMs: number; dead: number; hist: Record<string, number> };

export class HistoryRecorder {
  /** Counts by minute, sink and type: nested maps, so counting a delivery builds no key string. */
  private readonly acc = new Map<number, Map<string, Map<string, Acc>>>();
  /** Events delivered per type since the start, over every sink (what the demo counts). */
  readonly deliveredByType = new Map<string, number>();
  /** The counters' values at the last successful write: what is new since is the next delta. */
  private seen = { accepted: 0, sources: new Map<string, { received: number; rejected: number }>() };
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private readonly view: HistoryView;
  private readonly spool: () => Spool;
  private readonly log: Logger;
  private readonly keepDays: () => number;
  private lastPrune = 0;

  constructor(view: HistoryView, spool: () => Spool, log: Logger, keepDays: () => number) {
    this.view = view;
    this.spool = spool;
    this.log = log;
    this.keepDays = keepDays;
  }

  start(): void {
    this.timer = setInterval(() => this.flush(), FLUSH_MS).unref();
  }

  /** Writes what is new (also at stop, so a graceful restart loses nothing). */
  stop(): void {
    clearInterval(this.timer);
    this.flush();
  }

  /** A sink acknowledged (`delivered`) or dead-lettered (`dead`) an event. */
  settled(sink: string, result: 'delivered' | 'dead', type: string, occurredAt: number, now: number): void {
    const minute = now - (now % MINUTE_MS);
    let bySink = this.acc.get(minute);
    if (!bySink) this.acc.set(minute, (bySink = new Map()));
    let byType = bySink.get(sink);
    if (!byType) bySink.set(sink, (byType = new Map()));
    let a = byType.get(type);
    if (!a) byType.set(type, (a = { at: minute, kind: 'sink', name: sink, type, events: 0, within: 0, judged: 0, maxMs: 0, dead: 0, hist: {} }));
    if (result === 'dead') {
      a.dead++;
      return;
    }
    const ms = Math.max(0, now - occurredAt);
    this.deliveredByType.set(type, (this.deliveredByType.get(type) ?? 0) + 1);
    observe(a, ms);
    const objective = this.view.objectives.objectiveOf(type);
    if (objective !== undefined) {
      a.judged++;
      if (ms <= objective * 1000) a.within++;
    }
  }

  /** Adds the counts since the last write, and a sample of the gauges, to the spool's history. */
  flush(now = Date.now()): void {
    const deltas: HistoryDelta[] = [...this.acc.values()].flatMap((bySink) => [...bySink.values()].flatMap((byType) => [...byType.values()]));
    const accepted = this.view.ingestStats.accepted;
    if (accepted > this.seen.accepted) deltas.push({ at: now, kind: 'intake', name: '', type: '', events: accepted - this.seen.accepted });
    // Per source: messages received (the source's own count, from 0 again when it restarts) and rejected records
    // stored (intake's count, whichever path rejected them: decoding, mapping, schema).
    const sources = new Map<string, { received: number; rejected: number }>();
    const names = new Set([...this.view.sources.keys(), ...this.view.ingestStats.rejectedBySource.keys()]);
    for (const name of names) {
      const received = this.view.sources.get(name)?.status().received ?? 0;
      const rejected = this.view.ingestStats.rejectedBySource.get(name) ?? 0;
      const before = this.seen.sources.get(name) ?? { received: 0, rejected: 0 };
      sources.set(name, { received, rejected });
      const d = { events: received >= before.received ? received - before.received : received, rejected: rejected - before.rejected };
      if (d.events || d.rejected || !this.seen.sources.has(name)) deltas.push({ at: now, kind: 'source', name, type: '', ...d });
    }
    try {
      // The sinks' gauges are read from the spool: a damaged or unreadable one fails here like the write below.
      for (const name of this.view.dispatchers.keys()) {
        const s = this.view.sinkStatus(name);
        deltas.push({ at: now, kind: 'backlog', name, type: '', backlog: s.pending + s.held + s.inFlight, deadWaiting: s.deadLetters, oldestMs: s.oldestPendingAt === undefined ? 0 : Math.max(0, now - s.oldestPendingAt) });
      }
      const spool = this.spool();
      spool.history.add(deltas);
      if (now - this.lastPrune > 3_600_000) {
        spool.history.prune(now, this.keepDays());
        this.lastPrune = now;
      }
    } catch (err) {
      // Kept for the next try (the counts only grow); said once per failing stretch. Never thrown: the history
      // must not stop a sink, a stop or a restart.
      if (!this.failing) this.log.warn({ err: (err as Error).message }, 'history not written (the spool refuses reads or writes); its counts are kept and written when it takes them again');
      this.failing = true;
      return;
    }
    if (this.failing) this.log.info('history written again');
    this.failing = false;
    this.acc.clear();
    this.seen = { accepted, sources };
  }
}
