// The fleet demo script (docs/examples/fleet/demo.ts, docs/fleet.md): two gateways and a relay through the machine's
// nats-server. Skipped when no server answers at NATS_URL (default nats://127.0.0.1:4222; .ci/run starts one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from '@nats-io/transport-node';

const URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

test('the fleet demo: two plants through the local nats-server to one relay, every event booked once, in order', async (t) => {
  const nc = await connect({ servers: URL, timeout: 1000, reconnect: false }).catch(() => undefined);
  if (!nc) return t.skip(`no nats-server at ${URL}`);
  await nc.close();
  const script = join(import.meta.dirname, '../docs/examples/fleet/demo.ts');
  const { stdout } = await promisify(execFile)(process.execPath, [script, '3'], { env: { ...process.env, NATS_URL: URL }, timeout: 60_000 });
  assert.match(stdout, /3s {2}plant 1000: sent 30, booked \d+ {3}plant 2000: sent 30, booked \d+/);
  assert.match(stdout, /booked 60 of 60, none twice, in per-key order/);
});
