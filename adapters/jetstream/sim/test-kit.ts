// Shared pieces of the JetStream tests: a gateway's and a relay's config, plant-like events, reading the stream back.
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { connect, type ConnectionOptions } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { Agent } from '../../../agent/agent.ts';
import type { ConfigInput } from '../../../agent/config.ts';
import type { EventDraft } from '../../../agent/adapter-kit.ts';

export const ORDERS = ['Auftrag-4711', 'Заказ-1001', '订单-2002', 'Auftrag-Größe-7', 'Заказ-Ёлка-3', '订单-3003'];

/** The n-th confirmation of an order (yield n): a key's events must arrive in n order. */
export function confirmation(n: number, order: string, line = 'Linie 1'): EventDraft {
  return {
    type: 'production.confirmation',
    key: `${order}/seq-${n}`,
    orderingKey: `${order}/0010`,
    plant: '1000',
    line,
    occurredAt: Date.now(),
    source: { adapter: 'test', id: 'press-01', address: 'PRESS-01/parts' },
    payload: { order, operation: '0010', workCenter: 'PRESS-01', yield: n, scrap: 0, unit: 'PC', final: false },
  };
}

export function gatewayConfig(stateDir: string, url: string, sink: Record<string, unknown> = {}, delivery: Record<string, unknown> = {}): ConfigInput {
  return {
    agent: { id: 'gw-hall-1', plant: '1000', stateDir },
    admin: { enabled: false },
    sinks: { backbone: { type: 'jetstream', servers: [url], stream: 'PLANTSYNC', ...sink, delivery: { backoff: { baseMs: 20, capMs: 300 }, ...delivery } } },
    routes: [{ sink: 'backbone', types: '*' }],
    mappings: [],
  } as ConfigInput;
}

export async function startAgent(t: TestContext, config: ConfigInput): Promise<Agent> {
  const agent = new Agent({ config, configVersion: 'jetstream-test', log: pino({ level: process.env.TEST_LOG ?? 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(1000));
  return agent;
}

export interface StoredEvent {
  seq: number;
  subject: string;
  msgId: string | undefined;
  event: { idempotencyKey: string; orderingKey: string; payload: { yield: number } };
}

/** Everything the stream holds, in stream order. */
export async function readStream(url: string, stream = 'PLANTSYNC', options: Partial<ConnectionOptions> = {}): Promise<StoredEvent[]> {
  const nc = await connect({ servers: url, ...options });
  try {
    const js = jetstream(nc);
    const c = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
    const out: StoredEvent[] = [];
    for (;;) {
      const m = await c.next({ expires: 1000 });
      if (!m) break;
      out.push({ seq: m.seq, subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id'), event: m.json() });
      if (m.info.pending === 0) break;
    }
    return out;
  } finally {
    await nc.close();
  }
}

/** Per ordering key, the yields in the order given: each key's must be 1..n. */
export function yieldsByKey(events: { orderingKey: string; yield: number }[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const e of events) out.set(e.orderingKey, [...(out.get(e.orderingKey) ?? []), e.yield]);
  return out;
}
