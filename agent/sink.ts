// The contract between the delivery engine and a sink adapter. A sink opens, delivers one claimed batch and
// returns its outcome, and closes. It classifies remote answers itself (one place per sink) and does not throw
// for remote errors; a throw is treated as a retryable failure anyway, so a bug never loses a batch.
import type { ClaimedEvent, ItemResult, Outcome } from '../spool/types.ts';

export type { ClaimedEvent, ItemResult, Outcome } from '../spool/types.ts';

export interface Batch {
  /** Claim id: stable while the batch is retried. */
  id: number;
  /** Idempotency key of the whole batch: the same on every retry and after a restart. */
  key: string;
  /** 0 on the first send. */
  attempt: number;
  /**
   * The same batch went out before (a retry, or a claim a restart found in the spool): it may have been booked
   * although no answer said so. A sink whose target does not de-duplicate looks before sending it again.
   */
  resend: boolean;
  events: ClaimedEvent[];
}

export interface Sink {
  readonly name: string;
  /**
   * True only when the target books a request's events of one ordering key in order and stops at the key's first
   * failure (or books them atomically): then a batch may carry several events of a key. Otherwise (the default) a
   * batch carries at most one event per key, since a target that books items independently could reject a key's
   * first event and book its second.
   */
  readonly keepsKeyOrderInBatch?: boolean;
  open(): Promise<void>;
  deliver(batch: Batch, signal: AbortSignal): Promise<Outcome>;
  close(): Promise<void>;
  /** How the sink protects its remote side now (circuit breaker, adaptive concurrency), for status; optional. */
  health?(): SinkHealth;
}

export interface SinkHealth {
  breaker: 'closed' | 'half-open' | 'open';
  concurrencyLimit?: number;
  /** Since when (epoch ms) the breaker has not been closed: readiness fails once that is too long. */
  breakerOpenSince?: number;
}

/**
 * A batch's outcome from its events' results, the one way a sink builds it: all delivered (receipts kept), all to be
 * retried (the first retry's error and wait), or partial.
 */
export function outcomeOf(results: ItemResult[]): Outcome {
  if (results.every((r) => r.kind === 'delivered')) return { kind: 'delivered', receipts: results.map((r) => (r.kind === 'delivered' ? r.receipt : undefined)) };
  const retry = results.find((r) => r.kind === 'retry');
  if (retry && results.every((r) => r.kind === 'retry')) return retry;
  let retryAfterMs: number | undefined;
  for (const r of results) if (r.kind === 'retry') retryAfterMs ??= r.retryAfterMs;
  return { kind: 'partial', results, retryAfterMs };
}

/**
 * The event's JSON with its delivery sequence as the first field, without parsing it (the body is always one JSON
 * object): what a batch request carries per event.
 */
export function sequencedJson(e: ClaimedEvent): string {
  return `{"sequence":${e.seq},${e.body.slice(1)}`;
}
