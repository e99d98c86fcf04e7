// Shared test helpers: temporary state directories that are removed after the test, and record factories.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { SpoolRecord } from '../spool/types.ts';

export function tempDir(t: TestContext, prefix = 'plantsync-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A ~300-byte business record like the agent produces, keyed by source sequence number. */
export function record(i: number, orderingKey = `PO${i % 10}/0010`, over: Partial<SpoolRecord> = {}): SpoolRecord {
  const body = JSON.stringify({ i, orderingKey, payload: { order: orderingKey.split('/')[0], yield: i % 7, unit: 'PC', pad: 'x'.repeat(180) } });
  return {
    idempotencyKey: `P1/press-01/seq-${String(i).padStart(10, '0')}`,
    orderingKey,
    type: 'production.confirmation',
    priority: 'business',
    occurredAt: 1_700_000_000_000 + i,
    body,
    ...over,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until fn() is truthy or the time is up (then throws with `what`). */
export async function until(fn: () => boolean, what: string | (() => string), timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${typeof what === "string" ? what : what()}`);
    await sleep(5);
  }
}
