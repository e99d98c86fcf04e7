// The append hot path: events and their per-sink outbox rows go in with multi-row INSERTs. Call inside a
// transaction.
import type { Db } from './open.ts';
import { MultiInsert } from './multi-insert.ts';
import type { SinkState } from './sink-state.ts';
import type { SpoolRecord } from './types.ts';

export class AppendWriter {
  private readonly events: MultiInsert;
  private readonly outbox: MultiInsert;

  constructor(db: Db) {
    this.events = new MultiInsert(db, 'INSERT INTO events(idem, okey, type, prio, occurred_at, appended_at, corr, body)', 8, 'ON CONFLICT(idem) DO NOTHING RETURNING seq, idem');
    this.outbox = new MultiInsert(db, 'INSERT INTO outbox(sink, seq, okey)', 3);
  }

  /**
   * Stores records; returns each one's seq, or undefined for a duplicate (already stored, or earlier in this call).
   * Rows are inserted in argument order, so seq follows the order of `records`.
   */
  write(records: SpoolRecord[], now: number, sinksFor: (type: string) => SinkState[], woken: Set<SinkState>): (number | undefined)[] {
    const values: unknown[] = [];
    for (const r of records) values.push(r.idempotencyKey, r.orderingKey, r.type, r.priority === 'telemetry' ? 1 : 0, r.occurredAt, now, r.correlationId ?? null, r.body);
    const stored = new Map<string, number>();
    for (const row of this.events.returning<{ seq: number; idem: string }>(values)) stored.set(row.idem, row.seq);
    const seqs: (number | undefined)[] = [];
    const outbox: unknown[] = [];
    for (const r of records) {
      const seq = stored.get(r.idempotencyKey);
      stored.delete(r.idempotencyKey); // a second record with the same key in this call is a duplicate
      seqs.push(seq);
      if (seq === undefined) continue;
      for (const s of sinksFor(r.type)) {
        outbox.push(s.id, seq, r.orderingKey);
        // A sink need look again only for a key without a batch out: a busy key's new rows cannot go before its
        // batch settles, and the settle wakes the sink anyway. Saves a scan per append while every key is busy.
        if (!s.isBusy(r.orderingKey)) woken.add(s);
      }
    }
    this.outbox.run(outbox);
    return seqs;
  }
}
