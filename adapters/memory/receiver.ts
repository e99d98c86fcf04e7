// An in-process stand-in for an ERP: it de-duplicates by idempotency key and answers a duplicate as a success
// with the original document number (as ERPs with idempotency support do), checks that each ordering key arrives
// in order, issues document numbers, and injects faults on command. Tests and the demo read its counters to
// assert "exactly once, in order".
import { setTimeout as sleep } from 'node:timers/promises';
import { outcomeOf, type Batch, type ItemResult, type Outcome } from '../../agent/adapter-kit.ts';

export interface ReceiverCounters {
  batches: number;
  received: number;
  accepted: number;
  duplicates: number;
  outOfOrder: number;
  rejected: number;
  faults: number;
}

export type Fault =
  | { kind: 'unavailable'; retryAfterMs?: number }
  | { kind: 'reject'; status: number; reason: string };

export class MemoryReceiver {
  readonly counters: ReceiverCounters = { batches: 0, received: 0, accepted: 0, duplicates: 0, outOfOrder: 0, rejected: 0, faults: 0 };
  /** Accepted events in arrival order (idempotency key, ordering key, spool seq, document number). */
  readonly log: { key: string; orderingKey: string; seq: number; doc: string; type: string }[] = [];
  private readonly docs = new Map<string, string>();
  private readonly lastSeq = new Map<string, number>();
  private readonly faults: Fault[] = [];
  private readonly rejectKeys = new Map<string, string>();
  private downUntil = 0;
  private nextDoc = 4_900_000_000;
  latencyMs = 0;

  /** The next n batches get this fault. */
  inject(fault: Fault, n = 1): void {
    for (let i = 0; i < n; i++) this.faults.push(fault);
  }

  /** Answers every batch as unavailable until `ms` from now. */
  downFor(ms: number): void {
    this.downUntil = Date.now() + ms;
  }

  isDown(): boolean {
    return Date.now() < this.downUntil;
  }

  /** Rejects this event (by idempotency key) inside otherwise good batches: a partial result. */
  rejectEvent(idempotencyKey: string, reason: string): void {
    this.rejectKeys.set(idempotencyKey, reason);
  }

  async receive(batch: Batch, signal?: AbortSignal): Promise<Outcome> {
    if (this.latencyMs > 0) await sleep(this.latencyMs, undefined, { signal });
    this.counters.batches++;
    if (this.isDown()) {
      this.counters.faults++;
      return { kind: 'retry', error: 'receiver down (503)' };
    }
    const fault = this.faults.shift();
    if (fault) {
      this.counters.faults++;
      if (fault.kind === 'unavailable') return { kind: 'retry', error: 'injected 503', retryAfterMs: fault.retryAfterMs };
      return { kind: 'rejected', status: fault.status, reason: fault.reason };
    }
    // Like an order-aware ERP integration: once an item of a key fails, that key's later items in the batch are
    // refused too (424), so a replay of the failed one cannot land behind them.
    const failedKeys = new Set<string>();
    const results: ItemResult[] = batch.events.map((e) => {
      this.counters.received++;
      const known = this.docs.get(e.idempotencyKey);
      if (known) {
        this.counters.duplicates++;
        return { kind: 'delivered', receipt: known };
      }
      const why = this.rejectKeys.get(e.idempotencyKey) || (failedKeys.has(e.orderingKey) ? 'an earlier event of this ordering key was rejected' : '');
      if (why) {
        this.counters.rejected++;
        failedKeys.add(e.orderingKey);
        return { kind: 'rejected', status: this.rejectKeys.get(e.idempotencyKey) ? 422 : 424, reason: why };
      }
      const last = this.lastSeq.get(e.orderingKey);
      if (last !== undefined && e.seq < last) this.counters.outOfOrder++;
      this.lastSeq.set(e.orderingKey, e.seq);
      const doc = String(this.nextDoc++);
      this.docs.set(e.idempotencyKey, doc);
      this.counters.accepted++;
      this.log.push({ key: e.idempotencyKey, orderingKey: e.orderingKey, seq: e.seq, doc, type: e.type });
      return { kind: 'delivered', receipt: doc };
    });
    return outcomeOf(results);
  }
}
