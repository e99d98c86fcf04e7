// `plantsync dlq` on dead letters made by a real ERP rejection: on the spool file while no agent runs, and through
// the running agent's admin socket (it holds the spool's lock).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent } from '../agent/agent.ts';
import type { ConfigInput } from '../agent/config.ts';
import { ErpSim } from '../adapters/erp-http/sim/erp-sim.ts';
import { confirmation, simResponse } from '../adapters/erp-http/sim/test-kit.ts';
import { Spool } from '../spool/spool.ts';
import { tempDir, until } from '../test/helpers.ts';
import { freePort, plantsync, runAgent } from './test-kit.ts';

test('dlq list, replay and drop: on the spool when the agent is stopped, through the agent when it runs; a reason is required and audited', async (t) => {
  const dir = tempDir(t);
  const sim = new ErpSim();
  await sim.start();
  t.after(() => sim.close());
  sim.setFault({ mode: 'status', status: 422, body: '{"error":"order 1000451 is closed"}' });
  const config: ConfigInput = {
    agent: { id: 'gw-dlq', plant: '1000', stateDir: dir },
    admin: { port: await freePort() },
    sinks: { erp: { type: 'erp-http', url: `${sim.url}/batch`, response: simResponse, delivery: { maxEvents: 1 } } },
    routes: [{ sink: 'erp', types: '*', onReject: 'skip' }],
  } as ConfigInput;
  const configFile = join(dir, 'plantsync.json');
  writeFileSync(configFile, JSON.stringify(config));
  const agent = new Agent({ config, configVersion: 'v1', log: pino({ level: 'silent' }) });
  await agent.start();
  await agent.ingest([confirmation(1, 'A'), confirmation(2, 'B'), confirmation(3, 'C')]);
  await until(() => agent.sinkStatus('erp').deadLetters === 3, 'three dead letters');
  await agent.stop(1000);

  // Agent stopped: the CLI works on the spool file.
  const list = JSON.parse((await plantsync('dlq', 'list', '--config', configFile, '--json')).stdout) as { seq: number; orderingKey: string; reason: string }[];
  assert.equal(list.length, 3);
  assert.match(list[0]!.reason, /HTTP 422: .*order 1000451 is closed/);
  const noReason = await plantsync('dlq', 'replay', '--config', configFile, '--yes');
  assert.equal(noReason.code, 2);
  assert.match(noReason.stderr, /needs a reason/);
  const dry = await plantsync('dlq', 'replay', '--config', configFile, '--key', list[0]!.orderingKey, '--reason', 'order reopened', '--dry-run');
  assert.match(dry.stdout, /dry run: 1 dead letters would be replayed/);
  const noTty = await plantsync('dlq', 'drop', '--config', configFile, '--reason', 'test');
  assert.equal(noTty.code, 1, 'without --yes and without a terminal nothing changes');
  sim.setFault(undefined);
  const replayed = await plantsync('dlq', 'replay', '--config', configFile, '--key', list[0]!.orderingKey, '--reason', 'order reopened', '--yes');
  assert.match(replayed.stdout, /^1 dead letters replayed/);

  // Agent running: it holds the spool's lock, so the CLI must go through it.
  const { proc, log } = runAgent(t, configFile);
  await until(() => log().includes('admin HTTP listening'), 'agent up', 20_000);
  await until(() => sim.counters.accepted === 1, 'the replayed event is posted');
  const overTcp = await fetch(`http://127.0.0.1:${config.admin!.port}/dlq`, { method: 'POST', body: '{"action":"list","filter":{}}' });
  assert.equal(overTcp.status, 405, 'changes go only through the admin socket');
  const running = JSON.parse((await plantsync('dlq', 'list', '--config', configFile, '--json')).stdout) as unknown[];
  assert.equal(running.length, 2);
  const dropped = await plantsync('dlq', 'drop', '--config', configFile, '--sink', 'erp', '--reason', 'cancelled orders, posted by hand', '--yes');
  assert.match(dropped.stdout, /^2 dead letters dropped; audit: "cancelled orders, posted by hand"/);
  const status = JSON.parse((await plantsync('status', '--config', configFile, '--json')).stdout) as { sinks: { erp: { deadLetters: number } } };
  assert.equal(status.sinks.erp.deadLetters, 0);
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
  const spool = Spool.open({ path: join(dir, 'spool.db'), routes: [] });
  t.after(() => spool.close());
  const audit = spool.admin.auditLog().map((a) => [a.action, a.count, a.reason, a.actor.endsWith('@cli')]);
  assert.deepEqual(audit, [['dlq.drop', 2, 'cancelled orders, posted by hand', true], ['dlq.replay', 1, 'order reopened', true]], 'newest first');
});
