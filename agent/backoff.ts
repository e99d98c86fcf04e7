// The one backoff for every sink: capped exponential with full jitter (AWS architecture blog, "Exponential Backoff
// And Jitter"), so a fleet of gateways does not retry in lockstep against a recovering ERP. A delay the sink was
// given by the remote side (Retry-After) wins, up to a configured maximum (one hour by default, documented: a
// Retry-After of a year must not park a batch for a year). Timers never see more than MAX_TIMER_MS.

export interface BackoffPolicy {
  /** First retry waits up to this long. */
  baseMs: number;
  /** Exponential growth stops here. */
  capMs: number;
  /** Upper bound for a server-requested delay (default one hour). */
  maxRetryAfterMs: number;
}

export const defaultBackoff: BackoffPolicy = { baseMs: 500, capMs: 60_000, maxRetryAfterMs: 3_600_000 };

/** setTimeout's largest delay (2^31 - 1 ms, ~24.8 days): a longer one fires at once, in a busy loop. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Delay before retry number `attempt` (1 for the first retry).
 * @param retryAfterMs what the remote side asked for, if it did
 * @param random for tests; Math.random by default
 */
export function retryDelay(
  policy: BackoffPolicy,
  attempt: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) {
    return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  }
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.floor(random() * ceiling);
}
