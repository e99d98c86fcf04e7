// Rejected records have a budget of their own (bytes and count) and a retention. A flood of junk on an unmapped
// topic evicts the oldest rejected records, counted, and never takes room from business events: the spool's byte
// cap counts everything else (maintenance.ts subtracts these bytes). 400 junk messages of 200 KB once filled the
// spool past its cap, and a real production confirmation was then refused.
import type { Db } from './open.ts';

export interface RejectedBudgetOptions {
  /** Bytes of rejected records (payload copy, reason, address) kept at most. */
  maxBytes: number;
  /** Rejected records kept at most. */
  maxRecords: number;
}

export const defaultRejectedBudget: RejectedBudgetOptions = { maxBytes: 64 * 1024 * 1024, maxRecords: 100_000 };

/** What one row costs, as counted here: its variable columns and a fixed allowance for the rest. */
const SIZE = 'length(payload) + length(reason) + length(address) + length(source) + 48';

export class RejectedBudget {
  bytes = 0;
  records = 0;
  private readonly st;
  private readonly opts: RejectedBudgetOptions;

  constructor(db: Db, opts: RejectedBudgetOptions) {
    this.opts = opts;
    this.st = {
      totals: db.prepare(`SELECT count(*) AS n, coalesce(sum(${SIZE}), 0) AS bytes FROM rejected`),
      oldest: db.prepare(`SELECT id, ${SIZE} AS size FROM rejected ORDER BY id LIMIT ?`),
      del: db.prepare('DELETE FROM rejected WHERE id = ?'),
      older: db.prepare(`SELECT id, ${SIZE} AS size FROM rejected WHERE at < ? ORDER BY id LIMIT 1000`),
      bump: db.prepare(`INSERT INTO counters(name, value) VALUES ('rejected_evicted', ?)
        ON CONFLICT(name) DO UPDATE SET value = value + excluded.value`),
    };
    this.recount();
  }

  /** Reads the totals again from the table (at open, and after a transaction that touched them was rolled back). */
  recount(): void {
    const t = this.st.totals.get() as { n: number; bytes: number };
    this.records = t.n;
    this.bytes = t.bytes;
  }

  static sizeOf(payloadBytes: number, reason: string, address: string, source: string): number {
    return payloadBytes + Buffer.byteLength(reason) + Buffer.byteLength(address) + Buffer.byteLength(source) + 48;
  }

  added(size: number): void {
    this.records++;
    this.bytes += size;
  }

  removed(n: number, size: number): void {
    this.records -= n;
    this.bytes -= size;
  }

  /** Deletes the oldest records until the budget holds; counts them. Call inside the transaction that added. */
  evict(): number {
    let evicted = 0;
    while (this.records > this.opts.maxRecords || this.bytes > this.opts.maxBytes) {
      const over = Math.max(this.records - this.opts.maxRecords, 1);
      const rows = this.st.oldest.all(Math.min(over + 16, 1000)) as { id: number; size: number }[];
      if (rows.length === 0) break;
      for (const r of rows) {
        if (this.records <= this.opts.maxRecords && this.bytes <= this.opts.maxBytes) break;
        this.st.del.run(r.id);
        this.removed(1, r.size);
        evicted++;
      }
    }
    if (evicted) this.st.bump.run(evicted);
    return evicted;
  }

  /** Deletes records older than `cutoff` (epoch ms), in pages; call inside a transaction. Returns how many. */
  pruneOlderThan(cutoff: number): number {
    let n = 0;
    for (;;) {
      const rows = this.st.older.all(cutoff) as { id: number; size: number }[];
      if (rows.length === 0) return n;
      for (const r of rows) {
        this.st.del.run(r.id);
        this.removed(1, r.size);
      }
      n += rows.length;
    }
  }
}
