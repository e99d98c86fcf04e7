// Multi-row INSERT: one statement per CHUNK rows instead of one per row, which cuts SQLite's per-statement work
// and the JS/C crossings (~35% faster on the append path here). Call inside a transaction.
import type { Db } from './open.ts';

export const CHUNK = 32;

export class MultiInsert {
  private readonly many;
  private readonly one;
  private readonly width: number;

  /** `head` is the statement up to VALUES, e.g. "INSERT INTO outbox(sink, seq, okey)"; `tail` follows the rows. */
  constructor(db: Db, head: string, width: number, tail = '') {
    const row = `(${Array(width).fill('?').join(', ')})`;
    this.width = width;
    this.many = db.prepare(`${head} VALUES ${Array(CHUNK).fill(row).join(',')} ${tail}`);
    this.one = db.prepare(`${head} VALUES ${row} ${tail}`);
  }

  /** Inserts rows given as one flat list of values, `width` per row. */
  run(values: unknown[]): void {
    this.each(values, (stmt, args) => stmt.run(...args));
  }

  /** Like run(), collecting the rows of a RETURNING clause. */
  returning<T>(values: unknown[]): T[] {
    const out: T[] = [];
    this.each(values, (stmt, args) => out.push(...(stmt.all(...args) as T[])));
    return out;
  }

  private each(values: unknown[], fn: (stmt: typeof this.one, args: unknown[]) => void): void {
    const big = CHUNK * this.width;
    let at = 0;
    for (; at + big <= values.length; at += big) fn(this.many, values.slice(at, at + big));
    for (; at < values.length; at += this.width) fn(this.one, values.slice(at, at + this.width));
  }
}
