// Shared pieces of the OPC UA tests: the press-line simulator on an ephemeral port, and an agent whose OPC UA
// source watches it with one node per trigger kind and the mapping rules a plant would write for them.
import type { TestContext } from 'node:test';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent } from '../../../agent/agent.ts';
import type { ConfigInput } from '../../../agent/config.ts';
import { tempDir } from '../../../test/helpers.ts';
import type { OpcuaSourceConfig } from '../config.ts';
import { pressMappings } from './press-config.ts';
import { PressLineSim, type SimOptions } from './press-line.ts';
import { spoolOf } from '../../../agent/inspect.ts';

export { pressMappings, pressNodes } from './press-config.ts';

export async function startSim(t: TestContext, o: Partial<SimOptions> = {}): Promise<PressLineSim> {
  const sim = await PressLineSim.start({ pkiDir: join(tempDir(t), 'sim-pki'), ...o });
  t.after(() => sim.stop());
  return sim;
}

export function agentConfig(stateDir: string, source: Partial<OpcuaSourceConfig> & { endpoint: string; nodes: OpcuaSourceConfig['nodes'] }): ConfigInput {
  return {
    agent: { id: 'gw-opcua', plant: '1000', stateDir },
    admin: { port: 0 }, // never the default port: an agent running on this machine holds it
    sources: { press: { type: 'opcua', publishingIntervalMs: 100, keepAliveCount: 2, reconnectMinMs: 100, reconnectMaxMs: 1000, ...source } },
    sinks: { erp: { type: 'memory' } },
    routes: [{ sink: 'erp', types: '*' }],
    mappings: pressMappings,
  } as ConfigInput;
}

export async function startAgent(t: TestContext, config: ConfigInput): Promise<Agent> {
  const agent = new Agent({ config, configVersion: 'opcua-test', log: pino({ level: process.env.TEST_LOG ?? 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(1000));
  return agent;
}

/** Events the spool holds, parsed, in append order. */
export function events(agent: Agent): { type: string; idempotencyKey: string; payload: Record<string, unknown> }[] {
  return (spoolOf(agent).db.prepare('SELECT body FROM events ORDER BY seq').pluck().all() as string[]).map((b) => JSON.parse(b) as { type: string; idempotencyKey: string; payload: Record<string, unknown> });
}

export const postedYield = (agent: Agent) => events(agent).filter((e) => e.type === 'production.confirmation').reduce((n, e) => n + (e.payload.yield as number), 0);
