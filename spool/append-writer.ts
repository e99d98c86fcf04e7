// The append hot path: inserts events and their per-sink outbox rows with multi-row INSERT statements. One
// statement per CHUNK rows instead of one per row cuts SQLite's per-statement work and the JS/C crossings: ~35%
// more durable appends per second here (BENCHMARKS.md). Call inside a transaction.
import type { Db } from './open.ts';
import type { SinkState } from './sink-state.ts';
import type { SpoolRecord } from './types.ts';

const CHUNK = 32;
const EVENT_COLS = '(?, ?, ?, ?, ?, ?, ?)';
const OUTBOX_COLS = '(?, ?, ?)';

export class AppendWriter {
  private readonly insEvents;
  private readonly insEvent;
  private readonly insOutboxes;
  private readonly insOutbox;

  constructor(db: Db) {
    const events = (n: number) =>
      db.prepare(`INSERT INTO events(idem, okey, type, prio, occurred_at, appended_at, body)
        VALUES ${Array(n).fill(EVENT_COLS).join(',')} ON CONFLICT(idem) DO NOTHING RETURNING seq, idem`);
    this.insEvents = events(CHUNK);
    this.insEvent = events(1);
    this.insOutboxes = db.prepare(`INSERT INTO outbox(sink, seq, okey) VALUES ${Array(CHUNK).fill(OUTBOX_COLS).join(',')}`);
    this.insOutbox = db.prepare(`INSERT INTO outbox(sink, seq, okey) VALUES ${OUTBOX_COLS}`);
  }

  /**
   * Stores records; returns each one's seq, or undefined for a duplicate (already stored, or earlier in this call).
   * Rows are inserted in argument order, so seq follows the order of `records`.
   */
  write(records: SpoolRecord[], now: number, sinksFor: (type: string) => SinkState[], woken: Set<SinkState>): (number | undefined)[] {
    const stored = new Map<string, number>();
    for (let i = 0; i < records.length; ) {
      const n = records.length - i >= CHUNK ? CHUNK : 1;
      const args: unknown[] = [];
      for (let k = i; k < i + n; k++) {
        const r = records[k]!;
        args.push(r.idempotencyKey, r.orderingKey, r.type, r.priority === 'telemetry' ? 1 : 0, r.occurredAt, now, r.body);
      }
      const rows = (n === CHUNK ? this.insEvents : this.insEvent).all(...args) as { seq: number; idem: string }[];
      for (const row of rows) stored.set(row.idem, row.seq);
      i += n;
    }
    const seqs: (number | undefined)[] = [];
    const outbox: unknown[] = [];
    for (const r of records) {
      const seq = stored.get(r.idempotencyKey);
      stored.delete(r.idempotencyKey); // a second record with the same key in this call is a duplicate
      seqs.push(seq);
      if (seq === undefined) continue;
      for (const s of sinksFor(r.type)) {
        outbox.push(s.id, seq, r.orderingKey);
        woken.add(s);
      }
    }
    const rowsOf = 3;
    let at = 0;
    for (; at + CHUNK * rowsOf <= outbox.length; at += CHUNK * rowsOf) this.insOutboxes.run(...outbox.slice(at, at + CHUNK * rowsOf));
    for (; at < outbox.length; at += rowsOf) this.insOutbox.run(...outbox.slice(at, at + rowsOf));
    return seqs;
  }
}
