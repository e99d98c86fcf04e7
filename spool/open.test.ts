import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, openSync, readdirSync, statSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { Spool } from './spool.ts';
import { openDatabase, markCleanShutdown } from './open.ts';
import type { SpoolNotice } from './types.ts';
import { record, tempDir } from '../test/helpers.ts';

const routes = [{ sink: 'erp', types: '*' as const, onReject: 'park' as const }];

test('a spool written by an older schema opens with its backlog intact and is migrated', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'spool.db');
  // What plantsync at schema 1 wrote: three pending events for sink 'erp', one with a correlation id in its body,
  // one whose body is not JSON at all (the migration must not fail on it).
  const old = openDatabase(path, { targetVersion: 1 });
  old.exec(`INSERT INTO sinks(id, name) VALUES (1, 'erp')`);
  const ins = old.prepare('INSERT INTO events(idem, okey, type, prio, occurred_at, appended_at, body) VALUES (?, ?, ?, 0, ?, ?, ?)');
  const correlated = { ...record(3, 'C'), body: JSON.stringify({ correlationId: 'Fertigungsauftrag-4711/Заказ', payload: {} }) };
  for (const r of [record(1, 'A'), record(2, 'B', { body: 'not json {' }), correlated]) {
    const seq = ins.run(r.idempotencyKey, r.orderingKey, r.type, r.occurredAt, Date.now(), r.body).lastInsertRowid;
    old.prepare('INSERT INTO outbox(sink, seq, okey) VALUES (1, ?, ?)').run(seq, r.orderingKey);
  }
  assert.equal(old.prepare(`SELECT count(*) FROM sqlite_master WHERE name = 'receipts'`).pluck().get(), 0);
  markCleanShutdown(old);
  old.close();
  const s = Spool.open({ path, routes });
  t.after(() => s.close());
  assert.deepEqual(s.db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all(), [1, 2, 3, 4, 5]);
  assert.equal(s.db.prepare(`SELECT count(*) FROM history`).pluck().get(), 0, 'the history table is made, empty');
  const c = s.claim('erp', 10)!;
  assert.deepEqual(c.events.map((e) => e.seq), [1, 2, 3]);
  // The correlation id comes from the column the migration filled; without one, the idempotency key stands in.
  assert.deepEqual(c.events.map((e) => e.correlationId), [record(1).idempotencyKey, record(2).idempotencyKey, 'Fertigungsauftrag-4711/Заказ']);
  s.settle(c, { kind: 'delivered', receipts: ['D1', 'D2', 'D3'] });
  assert.equal(s.db.prepare('SELECT count(*) FROM receipts').pluck().get(), 3);
});

test('a file that is not a database is moved aside and the agent starts on a fresh spool', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'spool.db');
  writeFileSync(path, 'this is not an SQLite file '.repeat(400));
  const notices: SpoolNotice[] = [];
  const s = Spool.open({ path, routes, onNotice: (n) => notices.push(n) });
  t.after(() => s.close());
  const q = notices.find((n) => n.kind === 'quarantined');
  assert.ok(q && q.kind === 'quarantined', 'quarantine reported');
  assert.ok(existsSync(q.movedTo), 'the corrupt file is kept for forensics');
  assert.equal(s.stats('erp').pending, 0);
});

test('damaged pages after an unclean stop are found by the integrity check and quarantined', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'spool.db');
  const s = Spool.open({ path, routes });
  await s.append(Array.from({ length: 2000 }, (_, i) => record(i, `K${i % 50}`)));
  s.db.close(); // ends without the clean-shutdown mark, like a crash
  const size = statSync(path).size;
  const fd = openSync(path, 'r+');
  for (let off = 8192; off < size - 4096; off += 16384) writeSync(fd, Buffer.alloc(512, 0xa5), 0, 512, off);
  closeSync(fd);
  const notices: SpoolNotice[] = [];
  const s2 = Spool.open({ path, routes, onNotice: (n) => notices.push(n) });
  t.after(() => s2.close());
  assert.ok(notices.some((n) => n.kind === 'quarantined'), JSON.stringify(notices));
  assert.equal(readdirSync(dir).filter((f) => f.includes('.corrupt-')).length >= 1, true);
  await s2.append([record(1)]);
  assert.equal(s2.stats('erp').pending, 1);
});

test('a second agent cannot open a spool in use, and is told who holds it', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'spool.db');
  const s = Spool.open({ path, routes });
  const child = join(import.meta.dirname, '../test/fixtures/open-spool.ts');
  const held = execFileSync(process.execPath, [child, path], { encoding: 'utf8' });
  assert.match(held, /SpoolLockedError: .*in use by another plantsync agent \(pid \d+/);
  s.close();
  const free = execFileSync(process.execPath, [child, path], { encoding: 'utf8' });
  assert.equal(free.trim(), 'opened');
});
