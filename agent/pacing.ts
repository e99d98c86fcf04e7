// Protecting a recovering ERP: a circuit breaker, adaptive concurrency (AIMD) and a request-rate cap. A request
// passes all three before it is sent; the outcome is reported back. Waiting happens inside deliver(), so a batch
// stays claimed (in order, under its key) while the ERP is given room; shutdown aborts the wait.
import { setTimeout as sleep } from 'node:timers/promises';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface PacingOptions {
  maxConcurrency: number;
  adaptive: boolean;
  maxRequestsPerSecond?: number | undefined;
  breakerFailures: number;
  breakerOpenMs: number;
  breakerMaxOpenMs: number;
}

export class Pacing {
  state: BreakerState = 'closed';
  /** Current concurrency limit (AIMD); equals maxConcurrency when not adaptive. */
  limit: number;
  inFlight = 0;
  private failures = 0;
  private openMs: number;
  private openUntil = 0;
  private probing = false;
  private nextSlotAt = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly o: PacingOptions;
  onStateChange: (s: BreakerState) => void = () => {};

  constructor(o: PacingOptions) {
    this.o = o;
    this.limit = o.maxConcurrency;
    this.openMs = o.breakerOpenMs;
  }

  /** Waits until a request may go; resolves with a release function to call with the request's result. */
  async acquire(signal: AbortSignal): Promise<(result: 'ok' | 'overload' | 'failure' | 'neutral') => void> {
    for (;;) {
      signal.throwIfAborted();
      if (this.state === 'open') {
        const wait = this.openUntil - Date.now();
        if (wait > 0) {
          await sleep(wait, undefined, { signal });
          continue;
        }
        this.setState('half-open');
      }
      if (this.state === 'half-open' && this.probing) {
        await this.waitForChange(signal);
        continue;
      }
      if (this.inFlight >= Math.floor(this.limit)) {
        await this.waitForChange(signal);
        continue;
      }
      if (this.o.maxRequestsPerSecond) {
        const now = Date.now();
        const at = Math.max(now, this.nextSlotAt);
        this.nextSlotAt = at + 1000 / this.o.maxRequestsPerSecond;
        if (at > now) await sleep(at - now, undefined, { signal });
      }
      break;
    }
    const probe = this.state === 'half-open';
    if (probe) this.probing = true;
    this.inFlight++;
    let done = false;
    return (result) => {
      if (done) return;
      done = true;
      this.inFlight--;
      if (probe) this.probing = false;
      this.record(result);
      this.wakeAll();
    };
  }

  private record(result: 'ok' | 'overload' | 'failure' | 'neutral'): void {
    if (result === 'neutral') return; // e.g. a 4xx rejection: the ERP works, the data does not
    if (result === 'ok') {
      this.failures = 0;
      this.openMs = this.o.breakerOpenMs;
      if (this.state !== 'closed') this.setState('closed');
      // Additive increase: about +1 per round of `limit` successful requests.
      if (this.o.adaptive) this.limit = Math.min(this.o.maxConcurrency, this.limit + 1 / this.limit);
      return;
    }
    if (this.o.adaptive && result === 'overload') this.limit = Math.max(1, this.limit / 2); // multiplicative decrease
    this.failures++;
    if (this.state === 'half-open' || this.failures >= this.o.breakerFailures) {
      if (this.state === 'half-open') this.openMs = Math.min(this.o.breakerMaxOpenMs, this.openMs * 2);
      this.openUntil = Date.now() + this.openMs;
      if (this.o.adaptive) this.limit = 1; // after an outage, drain starts at one request and grows
      this.setState('open');
    }
  }

  /** Since when the breaker has not been closed (open or probing), for readiness; undefined while closed. */
  openSince: number | undefined;

  private setState(s: BreakerState): void {
    if (this.state === s) return;
    if (s === 'closed') this.openSince = undefined;
    else this.openSince ??= Date.now();
    this.state = s;
    this.onStateChange(s);
    this.wakeAll();
  }

  private waitForChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  private wakeAll(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
