// The contract between a source adapter and the agent. A source starts with a context whose ingest() resolves
// only after the spool has committed what the messages became (events, or rejected records): the moment to
// acknowledge upstream. It stops when asked, leaving unacknowledged messages with the upstream system.
import type { EventDraft } from './events.ts';
import type { SourceMessage } from './mapping/mapper.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';

export type { SourceMessage } from './mapping/mapper.ts';

export interface IngestResult {
  accepted: number;
  duplicates: number;
  rejected: number;
}

/** A message that should hold a canonical event built by another plantsync agent (a relay's backbone). */
export interface CanonicalInput {
  /** The parsed message (checked against the canonical event's schema before it is committed). */
  event?: unknown;
  /** Why the message could not even be parsed; it is then a rejected record. */
  error?: string;
  /** Where it came from (a subject), for the rejected record. */
  address: string;
  /** The original bytes, kept in a rejected record. */
  payload: Buffer | string;
}

export interface SourceContext {
  log: Logger;
  metrics: Metrics;
  agentId: string;
  stateDir: string;
  /**
   * Maps and commits; resolves once that is on disk. Rejects with SpoolFullError (do not acknowledge:
   * back-pressure) or when stopping. `onCommitted` runs when the commit is made, before the flush: a source that
   * keeps several groups in flight starts the next group's ingest from there, so groups commit in order. `state`
   * (key -> value) is this source's own state, committed in the same transaction as the events. `events` are
   * canonical drafts the source builds itself, not through mapping (source.gap).
   */
  ingest(messages: SourceMessage[], opts?: { onCommitted?: () => void; state?: Record<string, string>; events?: EventDraft[] }): Promise<IngestResult>;
  /**
   * Commits canonical events as they are (identity, plant and times kept: a relay forwarding a gateway's events);
   * invalid ones become rejected records. `state` as for ingest. Resolves after the commit.
   */
  ingestCanonical(items: CanonicalInput[], opts?: { state?: Record<string, string> }): Promise<IngestResult>;
  /**
   * When the oldest event this agent's sinks still owe was appended (epoch ms), undefined when they owe nothing:
   * a relay handing a partition over waits until nothing taken from it before is owed.
   */
  oldestOwed(): number | undefined;
  /** This source's state as last committed with its events (empty at first start). */
  loadState(): Record<string, string>;
  /** Stores input that cannot even be decoded (malformed, oversized) as rejected records; durable on return. */
  reject(items: { source: string; address: string; reason: string; payload: Buffer | string }[]): void;
}

export interface SourceStatus {
  connected: boolean;
  lastMessageAt: number | undefined;
  reconnects: number;
  received: number;
  rejected: number;
  /** Messages or values held in memory, taken in and not yet committed (bounded by the source's configuration). */
  held?: number;
  /** Why the source cannot take input now (its last connection or setup failure, with what to do when known); cleared when it can. */
  lastError?: string | undefined;
}

export interface Source {
  readonly name: string;
  start(ctx: SourceContext): Promise<void>;
  stop(): Promise<void>;
  status(): SourceStatus;
  /** Decodes a stored payload again (to replay a rejected record through the current mapping). */
  redecode?(payload: Buffer, address: string): { ok: true; value: unknown } | { ok: false; reason: string };
}
