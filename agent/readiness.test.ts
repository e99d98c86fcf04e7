// The agent is never READY while it cannot commit or deliver: commits failing, the spool full, a sink making no
// progress with work waiting, a sink's spool writes failing. /readyz names each reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Agent } from './agent.ts';
import type { ConfigInput } from './config.ts';
import type { MemorySink } from '../adapters/memory/sink.ts';
import { confirmation } from '../adapters/erp-http/sim/test-kit.ts';
import { tempDir, until } from '../test/helpers.ts';
import { spoolOf } from './inspect.ts';

async function start(t: import('node:test').TestContext, extra: Partial<ConfigInput> = {}): Promise<Agent> {
  const config = {
    agent: { id: 'gw-ready', plant: '1000', stateDir: tempDir(t) },
    admin: { port: 0 },
    sinks: { erp: { type: 'memory', delivery: { backoff: { baseMs: 20, capMs: 50 } } } },
    routes: [{ sink: 'erp', types: '*' }],
    readiness: { stallSeconds: 0.3, breakerOpenSeconds: 0.3 },
    ...extra,
  } as ConfigInput;
  const agent = new Agent({ config, configVersion: 'v1', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(500));
  return agent;
}

async function readyz(agent: Agent): Promise<{ status: number; notReady: string[] }> {
  const r = await fetch(`${agent.adminUrl}/readyz`);
  return { status: r.status, notReady: ((await r.json()) as { notReady: string[] }).notReady };
}

test('a sink with events waiting and nothing delivered for stallSeconds makes the agent not ready', async (t) => {
  const agent = await start(t);
  const erp = (agent.sinks.get('erp') as MemorySink).receiver;
  assert.equal((await readyz(agent)).status, 200);
  erp.inject({ kind: 'unavailable' }, 1_000_000);
  await agent.ingest([confirmation(1, 'Заказ-1')]);
  await until(() => agent.readiness().length > 0, 'not ready', 5000);
  const r = await readyz(agent);
  assert.equal(r.status, 503);
  assert.match(r.notReady.join('\n'), /sink 'erp': 1 events waiting and nothing delivered for \d+ s/);
});

test('commits that fail (not back-pressure) make the agent not ready, naming the error', async (t) => {
  const agent = await start(t);
  spoolOf(agent).db.exec(`CREATE TEMP TRIGGER io_error BEFORE INSERT ON main.events BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`);
  await assert.rejects(agent.ingest([confirmation(1, 'PO-1')]), /disk I\/O error/);
  const r = await readyz(agent);
  assert.equal(r.status, 503);
  assert.match(r.notReady.join('\n'), /spool commits failing for \d+ s: disk I\/O error/);
  spoolOf(agent).db.exec('DROP TRIGGER io_error');
  await agent.ingest([confirmation(2, 'PO-1')]);
  assert.deepEqual(agent.readiness(), [], 'a commit that works clears it');
});

test('a full spool refusing business events is a readiness reason and a metric', async (t) => {
  const agent = await start(t, { spool: { capBytes: 1_048_576 } } as Partial<ConfigInput>);
  const erp = (agent.sinks.get('erp') as MemorySink).receiver;
  erp.inject({ kind: 'unavailable' }, 1_000_000);
  const big = (n: number) => ({ ...confirmation(n, `PO-${n}`), payload: { ...confirmation(n).payload, order: `Auftrag-${n}`.padEnd(200, 'ä') } });
  let refused = false;
  for (let i = 0; i < 20_000 && !refused; i += 100) {
    try {
      await agent.ingest(Array.from({ length: 100 }, (_, k) => big(i + k)));
    } catch (err) {
      refused = /spool full/.test((err as Error).message);
    }
  }
  assert.ok(refused, 'the cap was met');
  const r = await readyz(agent);
  assert.match(r.notReady.join('\n'), /spool full \(\d+ of 1048576 bytes\)/);
  const metrics = await (await fetch(`${agent.adminUrl}/metrics`)).text();
  assert.match(metrics, /plantsync_spool_backpressure 1/);
  assert.match(metrics, /plantsync_spool_cap_bytes 1048576/);
});

test('a sink whose circuit breaker has not closed for breakerOpenSeconds makes the agent not ready, naming it', async (t) => {
  const { startSim, simResponse } = await import('../adapters/erp-http/sim/test-kit.ts');
  const sim = await startSim(t);
  sim.setFault({ mode: 'status', status: 503 });
  const agent = await start(t, {
    sinks: { erp: { type: 'erp-http', url: `${sim.url}/batch`, response: simResponse, protect: { breakerFailures: 2, breakerOpenMs: 50 }, delivery: { backoff: { baseMs: 10, capMs: 30 } } } },
    readiness: { breakerOpenSeconds: 0.3, stallSeconds: 3600 },
  } as Partial<ConfigInput>);
  await agent.ingest([confirmation(1, 'PO-1'), confirmation(2, 'PO-2'), confirmation(3, 'PO-3')]);
  await until(() => /circuit breaker open for \d+ s/.test(agent.readiness().join('\n')), () => agent.readiness().join('; '), 5000);
  assert.equal((await readyz(agent)).status, 503);
  sim.setFault(undefined);
  await until(() => agent.readiness().length === 0, () => agent.readiness().join('; '), 10_000);
});
