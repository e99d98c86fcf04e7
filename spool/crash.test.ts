// Crash safety with real SIGKILLs: what append resolved survives, exactly once and in order; a batch cut off
// between delivery and settle is re-sent under the same batch key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Spool } from './spool.ts';
import { record, tempDir, until } from '../test/helpers.ts';

const child = join(import.meta.dirname, '../test/fixtures/crash-child.ts');
const routes = [{ sink: 'erp', types: '*' as const, onReject: 'park' as const }];

async function runAndKill(args: string[], killAfterMs: number): Promise<string> {
  const p = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => p.once('exit', r));
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await Promise.race([until(() => out.length > 0, 'child output', 20_000), exited]);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([new Promise((r) => (timer = setTimeout(r, killAfterMs))), exited]);
  clearTimeout(timer);
  if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await exited;
  return out;
}

test('every append that resolved survives kill -9, exactly once and in append order', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'spool.db');
  let next = 0;
  const acked: number[] = [];
  for (let round = 0; round < 12; round++) {
    const out = await runAndKill(['append', path, String(next)], 20 + Math.random() * 150);
    for (const m of out.matchAll(/^ack (\d+) (\d+)$/gm)) {
      for (let i = Number(m[1]); i <= Number(m[2]); i++) acked.push(i);
    }
    // The restarted source resends from its last acknowledged message: committed-but-unacked ones come again.
    next = acked.length ? acked[acked.length - 1]! + 1 : 0;
  }
  assert.ok(acked.length > 500, `enough appends acknowledged (${acked.length})`);
  const s = Spool.open({ path, routes });
  t.after(() => s.close());
  const rows = s.db.prepare('SELECT seq, idem, okey FROM events ORDER BY seq').all() as { seq: number; idem: string; okey: string }[];
  const byKey = new Map(rows.map((r) => [r.idem, r]));
  for (const i of acked) assert.ok(byKey.has(record(i).idempotencyKey), `acknowledged record ${i} is in the spool`);
  assert.equal(new Set(rows.map((r) => r.idem)).size, rows.length, 'no record stored twice');
  // Append order is source order: seq grows with the record index, so each ordering key is in order too.
  const indexes = rows.map((r) => Number(r.idem.split('seq-')[1]));
  assert.deepEqual(indexes, [...indexes].sort((a, b) => a - b));
  assert.equal(s.stats('erp').pending, rows.length, 'each stored event is pending once for the sink');
});

test('kills during claim, delivery and settle lose nothing, keep per-key order and re-send under the same key', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'spool.db');
  const log = join(dir, 'deliveries.log');
  const total = 3000;
  const seed = Spool.open({ path, routes });
  await seed.append(Array.from({ length: total }, (_, i) => record(i, `K${i % 13}`)));
  seed.close();
  let redeliveriesReported = 0;
  for (let round = 0; round < 25; round++) {
    const out = await runAndKill(['deliver', path, log], Math.random() * 40);
    redeliveriesReported += Number(/started (\d+)/.exec(out)?.[1] ?? 0);
    if (out.includes('done')) break;
  }
  // A last run without a kill finishes whatever is left.
  const last = await runAndKill(['deliver', path, log], 60_000);
  redeliveriesReported += Number(/started (\d+)/.exec(last)?.[1] ?? 0);
  const s = Spool.open({ path, routes });
  t.after(() => s.close());
  const st = s.stats('erp');
  assert.equal(st.pending + st.waitingBatches + st.held, 0, 'everything delivered in the end');
  assert.ok(existsSync(log));
  const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => {
    const [key, seqs] = l.split(' ');
    return { key: key!, seqs: seqs!.split(',').map(Number) };
  });
  const firstKeyOf = new Map<number, string>();
  let resent = 0;
  for (const l of lines) {
    for (const q of l.seqs) {
      const k = firstKeyOf.get(q);
      if (k === undefined) firstKeyOf.set(q, l.key);
      else {
        assert.equal(l.key, k, `event ${q} re-sent under the batch key it first went out with`);
        resent++;
      }
    }
  }
  assert.equal(firstKeyOf.size, total, 'every event delivered at least once');
  assert.ok(resent <= redeliveriesReported * 20, 're-sends come only from batches cut off by a kill');
  // Per ordering key, first deliveries happen in append order.
  const lastByKey = new Map<number, number>();
  const seen = new Set<number>();
  for (const l of lines) {
    for (const q of l.seqs) {
      if (seen.has(q)) continue;
      seen.add(q);
      const key = (q - 1) % 13;
      assert.ok((lastByKey.get(key) ?? 0) < q, `key K${key}: event ${q} after ${lastByKey.get(key)}`);
      lastByKey.set(key, q);
    }
  }
});
