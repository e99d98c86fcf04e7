// Disk full in the middle of a claim and of a settle, injected with SQLite's own page limit (PRAGMA max_page_count:
// the next page the file needs fails with SQLITE_FULL, "database or disk is full", as ENOSPC does). Memory must
// never keep what a rolled-back transaction began; once space is back the spool goes on without a restart, and
// after a restart every key still leaves in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Spool } from './spool.ts';
import { record, tempDir } from '../test/helpers.ts';

const routes = [{ sink: 'erp', types: '*' as const, onReject: 'park' as const }];
const open = (dir: string) => Spool.open({ path: join(dir, 'spool.db'), routes });

function fillDisk(s: Spool): () => void {
  const pages = s.db.pragma('page_count', { simple: true }) as number;
  s.db.pragma(`max_page_count = ${pages}`);
  return () => s.db.pragma('max_page_count = 4294967294');
}

const keysBusy = (s: Spool) => s.stats('erp');

test('disk full in the middle of a claim: nothing of it stays in memory, and once space is back the same events go, in order', async (t) => {
  const dir = tempDir(t);
  const s = open(dir);
  t.after(() => s.close());
  await s.append([record(1, 'PARKED/0010')]);
  s.settle(s.claim('erp', 10)!, { kind: 'rejected', status: 422, reason: 'closed' }); // parks its key
  await s.append(Array.from({ length: 1200 }, (_, i) => record(i + 2, i % 2 ? 'PARKED/0010' : `Auftrag-${i % 400}/0010`)));
  // The claim first moves the parked key's rows aside (memory: held keys), then writes its claims row: the disk is
  // full right there, after half of the transaction ran.
  s.db.exec(`CREATE TEMP TRIGGER disk_full BEFORE INSERT ON main.claims BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
  assert.throws(() => s.claim('erp', 400), /database or disk is full/);
  const st = s.stats('erp');
  assert.deepEqual([st.inFlightBatches, st.waitingBatches, st.pending, st.held], [0, 0, 1200, 0], 'no claim in memory, nothing moved in the file');
  s.db.exec('DROP TRIGGER disk_full');
  const c = s.claim('erp', 400)!;
  assert.ok(c.events.every((e) => e.orderingKey !== 'PARKED/0010'));
  assert.deepEqual(c.events.slice(0, 3).map((e) => e.seq), [2, 4, 6], 'the oldest event of every free key');
  const after = s.stats('erp');
  assert.ok(after.held > 0, 'the parked key now waits in held');
  assert.equal(after.held + after.pending + c.events.length, 1200, 'nothing lost');
  s.settle(c, { kind: 'delivered' });
});

test('disk full in the middle of a settle: parked keys and dead letters are not half-made; the batch goes out again and the keys stay in order across a restart', async (t) => {
  const dir = tempDir(t);
  const s = open(dir);
  await s.append(Array.from({ length: 800 }, (_, i) => record(i + 1, `Заказ-${i % 400}/0010`)));
  const c = s.claim('erp', 400)!;
  const freeSpace = fillDisk(s);
  const reason = 'order closed in ERP: '.padEnd(1500, 'x');
  const results = c.events.map(() => ({ kind: 'rejected' as const, status: 422, reason }));
  assert.throws(() => s.settle(c, { kind: 'partial', results }), (err: { code?: string }) => err.code === 'SQLITE_FULL');
  const st = s.stats('erp');
  assert.deepEqual([st.parkedKeys, st.deadLetters, st.inFlightBatches, st.waitingBatches], [0, 0, 0, 1], 'nothing parked; the batch waits to go again');
  freeSpace();
  const again = s.claim('erp', 400)!;
  assert.equal(again.batchKey, c.batchKey, 'the same batch under the same key');
  s.settle(again, { kind: 'delivered' });
  s.close();
  const reopened = open(dir);
  t.after(() => reopened.close());
  const next = reopened.claim('erp', 400)!;
  assert.deepEqual(next.events.map((e) => e.seq), Array.from({ length: 400 }, (_, i) => i + 401), "every key's second event, after its first");
});

test('the file set (spool.db and its WAL) stays within the byte cap: the WAL is checkpointed and truncated inside it', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'spool.db');
  const cap = 4 * 1024 * 1024;
  const s = Spool.open({ path, routes, capBytes: cap });
  t.after(() => s.close());
  const { statSync, existsSync } = await import('node:fs');
  const fileSet = () => statSync(path).size + (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);
  let largest = 0;
  // 40,000 telemetry readings of ~300 bytes (~12 MB written): at the cap the oldest are dropped, never the cap passed.
  for (let i = 0; i < 40_000; i += 500) {
    await s.append(Array.from({ length: 500 }, (_, k) => record(i + k, `tag-${k % 20}`, { priority: 'telemetry', type: 'telemetry' })));
    largest = Math.max(largest, fileSet());
  }
  assert.ok(s.counter('telemetry_dropped') > 0, 'the cap was reached');
  const group = 500 * 700; // one commit group may overshoot
  assert.ok(largest <= cap + group, `file set peaked at ${largest} bytes for a cap of ${cap}`);
});
