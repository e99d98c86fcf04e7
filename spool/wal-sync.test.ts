// Durability off the event loop: nothing is confirmed before the WAL flush that covers it, commits share flushes,
// and a failed flush stops all further confirmation. The flush is the real fdatasync unless a test holds it back
// or fails it, as a slow or broken disk would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fdatasync } from 'node:fs';
import { join } from 'node:path';
import { Spool } from './spool.ts';
import type { Route } from './types.ts';
import { record, tempDir } from '../test/helpers.ts';

const routes: Route[] = [{ sink: 'erp', types: '*', onReject: 'park' }];
type Done = (err: NodeJS.ErrnoException | null) => void;

/** A disk whose flushes complete only when the test says so. */
function heldDisk() {
  const waiting: (() => void)[] = [];
  return {
    flushWal: (fd: number, done: Done) => waiting.push(() => fdatasync(fd, done)),
    release: () => waiting.splice(0).forEach((go) => go()),
    waiting: () => waiting.length,
  };
}

const tick = () => new Promise((r) => setImmediate(r));

test('an append is confirmed only after the flush that covers it has completed', async (t) => {
  const disk = heldDisk();
  const s = Spool.open({ path: join(tempDir(t), 'spool.db'), routes, flushWal: disk.flushWal });
  t.after(() => s.close());
  let confirmed = false;
  const p = s.append([record(1)]).then(() => (confirmed = true));
  for (let i = 0; i < 5; i++) await tick();
  assert.equal(s.stats('erp').pending, 1, 'committed to the file');
  assert.equal(confirmed, false, 'not confirmed while the flush is outstanding');
  assert.equal(disk.waiting(), 1);
  disk.release();
  await p;
  assert.equal(confirmed, true);
});

test('commits made while a flush runs share the next one; a claim waits for its flush like an append', async (t) => {
  const disk = heldDisk();
  const s = Spool.open({ path: join(tempDir(t), 'spool.db'), routes, flushWal: disk.flushWal });
  t.after(() => s.close());
  const first = s.append([record(1)]);
  await tick();
  const later = Array.from({ length: 50 }, async (_, i) => {
    for (let k = 0; k < i % 5; k++) await tick(); // separate group commits
    return s.append([record(100 + i)]);
  });
  for (let i = 0; i < 10; i++) await tick();
  assert.equal(disk.waiting(), 1, 'one flush at a time');
  disk.release();
  await first;
  for (let i = 0; i < 10 && disk.waiting() === 0; i++) await tick();
  disk.release();
  await Promise.all(later);
  assert.ok(s.flushes <= 3, `50 appends in several commits needed only ${s.flushes} flushes`);

  const claim = s.claim('erp', 10)!;
  let sent = false;
  const gate = s.synced().then(() => (sent = true));
  await tick();
  assert.equal(sent, false, 'the claim is not on disk yet');
  disk.release();
  await gate;
  s.settle(claim, { kind: 'delivered' });
});

test('a failed flush rejects the waiting appends and every later confirmation, until a restart', async (t) => {
  const dir = tempDir(t);
  let fail = false;
  const flushWal = (fd: number, done: Done) => (fail ? done(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })) : fdatasync(fd, done));
  const s = Spool.open({ path: join(dir, 'spool.db'), routes, flushWal });
  await s.append([record(1)]);
  fail = true;
  await assert.rejects(s.append([record(2)]), /flushing .*spool\.db-wal failed \(EIO: i\/o error, fdatasync\); nothing more is confirmed/);
  fail = false; // the disk "recovers", but pages may have been dropped: still nothing is confirmed
  await assert.rejects(s.append([record(3)]), /nothing more is confirmed until the agent restarts/);
  await assert.rejects(s.synced(), /EIO/);
  s.close();
  const again = Spool.open({ path: join(dir, 'spool.db'), routes });
  t.after(() => again.close());
  await again.append([record(4)]);
  assert.ok(again.stats('erp').pending >= 2, 'the restarted spool confirms again, from what is in the file');
});
