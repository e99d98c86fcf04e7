// Intake: the one door into the spool. Messages are mapped, drafts become canonical events, what cannot become one
// is a rejected record (committed too), and the promise resolves only after the spool commit, so a source
// acknowledges upstream only what is durable. One message's failure is that message's rejected record, never an
// exception that would make the source retry its whole group for ever.
import type { Spool } from '../spool/spool.ts';
import { SpoolFullError } from '../spool/types.ts';
import { REJECTED_PAYLOAD_LIMIT, type RejectedInput } from '../spool/admin.ts';
import type { AppendOptions, AppendResult, SpoolRecord } from '../spool/types.ts';
import { buildEvent, toRecord, validateEvent, type CanonicalEvent, type EventDraft } from './events.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import type { Mapper, MapResult, SourceMessage } from './mapping/mapper.ts';
import { copyForRejected, depthOf } from './payload.ts';
import type { CanonicalInput, IngestResult } from './source.ts';

export interface IntakeDeps {
  spool: Spool;
  log: Logger;
  metrics: Metrics;
  /** Read on every call: a reload swaps them. */
  current: () => { mapper: Mapper; configVersion: string; plant: string; maxPayloadDepth: number };
}

export class Intake {
  /** Since the start; `rejectedBySource`: rejected records stored, per source (the history's rejected input). */
  readonly stats = { accepted: 0, duplicates: 0, rejected: 0, rejectedBySource: new Map<string, number>() };
  private closed = false;
  private failing: { since: number; error: string } | undefined;
  private readonly rejectLog = new Map<string, { at: number; suppressed: number }>();
  private readonly d: IntakeDeps;

  constructor(deps: IntakeDeps) {
    this.d = deps;
  }

  /** No intake after this (the agent is stopping); a commit failing now is not a readiness problem. */
  close(): void {
    this.closed = true;
  }

  /** Since when commits fail, and why (a full spool is back-pressure, not a failure). */
  get commitFailing(): { since: number; error: string } | undefined {
    return this.failing;
  }

  /**
   * Builds drafts into canonical events and commits them durably; invalid drafts become rejected records (committed
   * too). Resolves after the commit: only then may the source acknowledge. Rejects on back-pressure (SpoolFullError).
   */
  async ingest(drafts: EventDraft[], opts: { rawOf?: (i: number) => RejectedInput } & AppendOptions = {}): Promise<IngestResult> {
    if (this.closed) throw new Error('agent is stopping: not taking events');
    const { configVersion } = this.d.current();
    const receivedAt = new Date().toISOString(); // once per group, not per event
    const records: SpoolRecord[] = [];
    const rejected: RejectedInput[] = [];
    for (const [i, d] of drafts.entries()) {
      let reason: string;
      try {
        const r = buildEvent(d, configVersion, receivedAt);
        if (r.ok) {
          records.push(toRecord(r.event));
          continue;
        }
        reason = r.reason;
      } catch (err) {
        reason = `event could not be built: ${(err as Error).message}`;
      }
      const raw = opts.rawOf?.(i) ?? { source: d.source?.id ?? 'unknown', address: d.source?.address ?? '', reason: '', payload: copyForRejected(d, REJECTED_PAYLOAD_LIMIT) };
      rejected.push({ ...raw, reason });
    }
    return this.commit(records, rejected, opts);
  }

  /** Rejected records, then the events (and the source's state) in one commit; counts what became of them. */
  private async commit(records: SpoolRecord[], rejected: RejectedInput[], opts: AppendOptions): Promise<IngestResult> {
    // State without events still goes through append, so it is committed in order with everything else.
    const results = await this.committing(async () => {
      if (rejected.length) this.reject(rejected);
      return records.length || opts.state?.length ? await this.d.spool.append(records, opts) : (opts.onCommitted?.(), []);
    });
    return this.count(results, rejected.length);
  }

  private count(results: AppendResult[], rejected: number): IngestResult {
    const duplicates = results.filter((r) => r.duplicate).length;
    const out = { accepted: results.length - duplicates, duplicates, rejected };
    this.stats.accepted += out.accepted;
    this.stats.duplicates += out.duplicates;
    this.stats.rejected += out.rejected;
    return out;
  }

  /**
   * Maps source messages with the config's rules and commits the events. A message no rule can map (or whose events
   * fail their schema) becomes a rejected record with source, address, reason and its original bytes.
   */
  async ingestMessages(msgs: SourceMessage[], opts: AppendOptions & { events?: EventDraft[] } = {}): Promise<IngestResult> {
    const { plant, maxPayloadDepth } = this.d.current();
    const drafts: EventDraft[] = [];
    const origin: SourceMessage[] = [];
    const rejected: RejectedInput[] = [];
    for (const m of msgs) {
      const r = this.mapOne(m, maxPayloadDepth);
      if (!r.ok) rejected.push(rejectedOf(m, r.reason));
      else for (const d of r.drafts) (drafts.push(d), origin.push(m));
    }
    if (rejected.length) this.reject(rejected);
    const own = (opts.events ?? []).map((d) => (d.plant ? d : { ...d, plant }));
    const rawOf = (i: number): RejectedInput => {
      if (i < drafts.length) return rejectedOf(origin[i]!, 'invalid event');
      const d = own[i - drafts.length]!; // a source's own draft (source.gap) that failed its schema
      return { source: d.source.id, address: d.source.address, reason: '', payload: copyForRejected(d, REJECTED_PAYLOAD_LIMIT) };
    };
    const res = await this.ingest([...drafts, ...own], { ...opts, rawOf });
    return { ...res, rejected: res.rejected + rejected.length };
  }

  /**
   * Canonical events another plantsync agent built (a relay's JetStream source): committed as they are, their
   * identity, plant, times and correlation id kept; one that is not a valid canonical event (or not JSON: `error`)
   * becomes that message's rejected record. Resolves after the commit.
   */
  async ingestCanonical(source: string, items: CanonicalInput[], opts: AppendOptions = {}): Promise<IngestResult> {
    if (this.closed) throw new Error('agent is stopping: not taking events');
    const records: SpoolRecord[] = [];
    const rejected: RejectedInput[] = [];
    for (const it of items) {
      const reason = it.error ?? validateEvent(it.event);
      if (reason === undefined) records.push(toRecord(it.event as CanonicalEvent));
      else rejected.push({ source, address: it.address, reason: `not a canonical event: ${reason}`, payload: it.payload });
    }
    return this.commit(records, rejected, opts);
  }

  /** Records input that could not become an event (malformed, unmappable, oversized), durably and visibly. */
  reject(items: RejectedInput[]): void {
    this.d.spool.admin.addRejected(items);
    const now = Date.now();
    for (const it of items) {
      this.stats.rejectedBySource.set(it.source, (this.stats.rejectedBySource.get(it.source) ?? 0) + 1);
      this.d.metrics.counter('plantsync_rejected_inputs_total', 'Input stored as a rejected record (malformed, unmappable, invalid)', ['source']).inc({ source: it.source });
      // One line per source per 10 s, with how many more there were: a flood of bad input must not flood the log.
      const seen = this.rejectLog.get(it.source);
      if (seen && now - seen.at < 10_000) {
        seen.suppressed++;
        continue;
      }
      this.d.log.warn({ source: it.source, address: it.address, reason: it.reason, ...(seen?.suppressed && { alsoRejectedSinceLastLine: seen.suppressed }) }, 'input rejected');
      this.rejectLog.set(it.source, { at: now, suppressed: 0 });
    }
  }

  /** One message through the depth limit and the mapping rules; whatever fails is this message's reason. */
  private mapOne(m: SourceMessage, maxDepth: number): MapResult {
    try {
      if (depthOf(m.payload, maxDepth) > maxDepth) return { ok: false, reason: `payload nested deeper than ${maxDepth} levels (limits.maxPayloadDepth)` };
      return this.d.current().mapper.map(m);
    } catch (err) {
      return { ok: false, reason: `mapping failed: ${(err as Error).message}` };
    }
  }

  /** Runs a commit and remembers whether commits fail (for readiness): a full spool is back-pressure, not a failure. */
  private async committing<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const r = await fn();
      this.failing = undefined;
      return r;
    } catch (err) {
      if (!(err instanceof SpoolFullError) && !this.closed) this.failing ??= { since: Date.now(), error: (err as Error).message };
      throw err;
    }
  }
}

/** A message's rejected record keeps its original bytes (bounded by the spool), never a re-serialized value. */
function rejectedOf(m: SourceMessage, reason: string): RejectedInput {
  return { source: m.source.id, address: m.address, reason, payload: m.raw ?? copyForRejected(m.payload, REJECTED_PAYLOAD_LIMIT) };
}
