// A spool damaged after a clean stop, as a failing disk leaves it: for the tests of what the spool, the agent and
// `plantsync run` do when SQLite finds it (a clean stop skips the integrity check at the next open).
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Spool } from '../spool/spool.ts';
import { record } from './helpers.ts';

export const routes = [{ sink: 'erp', types: '*' as const, onReject: 'park' as const }];

/**
 * Makes `<dir>/spool.db` with `events` records over 7 keys (and one claim when `claim` is set), closes it cleanly,
 * then overwrites the root page of `table` with garbage. Returns the file's path.
 */
export async function damagedSpool(dir: string, table: 'outbox' | 'claims', events = 3000, claim = false): Promise<string> {
  const path = join(dir, 'spool.db');
  const s = Spool.open({ path, routes });
  await s.append(Array.from({ length: events }, (_, i) => record(i, ['Заказ', '订单', 'Auftrag'][i % 3] + `-${i % 7}`)));
  if (claim) s.claim('erp', 10);
  const root = s.db.prepare('SELECT rootpage FROM sqlite_master WHERE name = ?').pluck().get(table) as number;
  const pageSize = s.db.pragma('page_size', { simple: true }) as number;
  s.close();
  assert.equal(existsSync(`${path}-wal`), false, 'a clean close leaves everything in the main file');
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (root - 1) * pageSize);
  closeSync(fd);
  return path;
}
