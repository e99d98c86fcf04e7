// The one place where the ERP's answers become outcomes (issue: "classification lives in one place per sink").
//   2xx                               delivered
//   a duplicate answer                delivered (409 by default, or a configured body text)
//   408 425 429 500 502 503 504       retry (Retry-After honoured, seconds or HTTP date)
//   3xx (a moved endpoint)            retry, naming the Location: the sink's configuration, never a dead letter
//   2xx not of the expected content type, or without usable per-event results: retry with backoff (sink.ts)
//   connection errors, timeouts       retry
//   a request that cannot be built    retry naming the sink's configuration (an event's own unusable URL is that
//                                     event's rejection, decided in sink.ts before anything is sent)
//   any other status                  rejected, with the status and a bounded excerpt of the body
// Per-item results in a batch answer go through the same table.
import { excerpt, networkFailure, parseRetryAfter, type ItemResult } from '../../agent/adapter-kit.ts';

export { excerpt } from '../../agent/adapter-kit.ts';

/** An answer's result: the kit's per-event result as it is, with hints only this sink reads (pacing, metrics, logs). */
export type Verdict = ItemResult & {
  /** The ERP said it has this one already (409 or the configured duplicate text). */
  duplicate?: boolean;
  /** "Too much" (429, 503, a timeout): shrinks the adaptive concurrency. */
  overload?: boolean;
  /** A 3xx: the endpoint moved, a configuration problem of the sink. */
  redirect?: boolean;
  /** The sink's own configuration keeps the request from being built: never moves the breaker. */
  config?: boolean;
};

/** A 2xx that is not the ERP's usable answer (another content type, no per-event results): retried with backoff. */
export function classifyUnusable(status: number, why: string, body: string): Verdict {
  return { kind: 'retry', overload: false, keepBackoff: true, error: `HTTP ${status}: ${why}: ${excerpt(body)}` };
}

/** The verdict as the kit's result, its hints left here: the one conversion on the way back to the spool. */
export function resultOf(v: Verdict): ItemResult {
  if (v.kind === 'delivered') return { kind: 'delivered', ...(v.receipt !== undefined && { receipt: v.receipt }) };
  if (v.kind === 'rejected') return { kind: 'rejected', status: v.status, reason: v.reason };
  return { kind: 'retry', error: v.error, ...(v.retryAfterMs !== undefined && { retryAfterMs: v.retryAfterMs }), ...(v.keepBackoff && { keepBackoff: true }) };
}

const RETRY = new Set([408, 425, 429, 500, 502, 503, 504]);
/** Statuses that say "too much": they shrink the adaptive concurrency. */
const OVERLOAD = new Set([429, 503]);

export interface ClassifyOptions {
  duplicateStatus: number[];
  duplicateBodyMatch?: string | undefined;
}

export function classifyStatus(status: number, body: string, retryAfter: string | undefined, o: ClassifyOptions, now = Date.now(), location?: string): Verdict {
  if (status >= 200 && status < 300) return { kind: 'delivered', duplicate: false };
  if (status >= 300 && status < 400) {
    return { kind: 'retry', overload: false, keepBackoff: true, redirect: true, error: `HTTP ${status}: the endpoint moved${location ? ` to ${excerpt(location)}` : ''}; the sink's url needs fixing` };
  }
  if (o.duplicateStatus.includes(status) || (o.duplicateBodyMatch && status >= 400 && status < 500 && body.includes(o.duplicateBodyMatch))) {
    return { kind: 'delivered', duplicate: true };
  }
  if (RETRY.has(status)) {
    return { kind: 'retry', retryAfterMs: parseRetryAfter(retryAfter, now), overload: OVERLOAD.has(status), error: `HTTP ${status}: ${excerpt(body)}` };
  }
  return { kind: 'rejected', status, reason: `HTTP ${status}: ${excerpt(body)}` };
}

/** Network-level failures: nothing (or nothing complete) came back. Always retried; the ERP may be restarting. */
export function classifyError(err: unknown): Verdict {
  // A request undici refused to build is the sink's own configuration: a retry that says so, never dead letters
  // for every event, never the breaker (networkFailure); readiness reports the stall.
  const f = networkFailure(err);
  return { kind: 'retry', overload: f.overload, error: f.error, ...(f.config && { keepBackoff: true, config: true }) };
}
