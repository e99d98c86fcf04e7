// The one backoff for every sink, and for sources' reconnects and commit retries: capped exponential with full jitter (AWS architecture blog, "Exponential Backoff
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

/**
 * Delay before reconnect number `attempt` (1 for the first) to a broker or server that went away: the same capped
 * exponential with full jitter, never below `minMs`, so gateways that lost one broker do not all come back in one
 * instant, and a dead endpoint is not hammered.
 */
export function reconnectDelay(minMs: number, maxMs: number, attempt: number, random: () => number = Math.random): number {
  return Math.max(minMs, retryDelay({ baseMs: minMs, capMs: Math.max(minMs, maxMs), maxRetryAfterMs: 0 }, attempt, undefined, random));
}

/** How a source retries a commit the spool refused (back-pressure, a disk error): quick at first, then every few s. */
export const commitRetry: BackoffPolicy = { baseMs: 200, capMs: 5_000, maxRetryAfterMs: 0 };

/** Waits before commit retry number `attempt` (1 for the first). */
export function commitRetryPause(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(50, retryDelay(commitRetry, attempt))));
}
