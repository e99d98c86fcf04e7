// What the SAP sink's tests share: a simulator per test, closed when it ends; an agent posting into it; drafts
// of a plant's postings (order numbers in German, Cyrillic and Chinese).
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { Agent } from '../../../agent/agent.ts';
import type { ConfigInput } from '../../../agent/config.ts';
import type { EventDraft } from '../../../agent/adapter-kit.ts';
import { tempDir } from '../../../test/helpers.ts';
import { SapSim } from './sap-sim.ts';

export async function startSapSim(t: TestContext, opts: ConstructorParameters<typeof SapSim>[0] = {}): Promise<SapSim> {
  const sim = new SapSim({ user: 'PLANTSYNC_COMM', password: 'Geheim-Пароль-密码', ...opts });
  await sim.start();
  t.after(() => sim.close());
  return sim;
}

export function sapSinkConfig(sim: SapSim, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'sap-odata',
    url: sim.url,
    client: '100',
    auth: { type: 'basic', user: 'PLANTSYNC_COMM', password: 'Geheim-Пароль-密码' },
    protect: { breakerFailures: 50, breakerOpenMs: 50 },
    delivery: { maxEvents: 100, backoff: { baseMs: 20, capMs: 200 } },
    ...extra,
  };
}

export function sapAgentConfig(stateDir: string, sink: Record<string, unknown> & { type?: string }): ConfigInput {
  return { agent: { id: 'gw-sap', plant: '1000', stateDir }, admin: { enabled: false }, sinks: { s4: { type: 'sap-odata', ...sink } }, routes: [{ sink: 's4', types: '*', onReject: 'park' }] };
}

export async function startSapAgent(t: TestContext, sink: Record<string, unknown>, stateDir = tempDir(t)): Promise<Agent> {
  const agent = new Agent({ config: sapAgentConfig(stateDir, sink), configVersion: 't', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(1000));
  return agent;
}

export const ORDERS = ['Auftrag-4711', 'Заказ-1001', '订单-2002'];

/** The i-th confirmation of an order: its yield is i, so the booking order of an order can be read from SAP. */
export function confirmation(i: number, order: string): EventDraft {
  return {
    type: 'production.confirmation',
    key: `conf-${order}-${i}`,
    orderingKey: `${order}/0010`,
    plant: '1000',
    occurredAt: Date.UTC(2026, 11, 1, 6, 0, i),
    source: { adapter: 'test', id: 'press-01', address: 'PartsGood' },
    payload: { order, operation: '0010', workCenter: 'PRESSE-01', yield: i, scrap: 0, unit: 'ST', final: false },
  };
}

export function consumption(i: number, order: string): EventDraft {
  return {
    type: 'material.consumption',
    key: `cons-${order}-${i}`,
    orderingKey: `${order}/material`,
    plant: '1000',
    occurredAt: Date.UTC(2026, 11, 1, 6, 1, i),
    source: { adapter: 'test', id: 'scale-02', address: 'Weight' },
    payload: { order, material: 'Stahlblech-Größe-2', quantity: 12.5, unit: 'KG', storageLocation: '0001', batch: 'CH-0042' },
  };
}

/** Per order, the yields SAP booked in booking order (each confirmation's yield is its index). */
export function bookedYields(sim: SapSim): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const d of sim.booked) if (d.entitySet === 'ProdnOrdConf2') m.set(String(d.body.OrderID), [...(m.get(String(d.body.OrderID)) ?? []), Number(d.body.ConfirmationYieldQuantity)]);
  return m;
}
