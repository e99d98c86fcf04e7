// Shared pieces of the erp-http tests: a sink against a started erp-sim, batches of real canonical events.
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { buildEvent, type EventDraft } from '../../../agent/events.ts';
import { Metrics, withSchemaDefaults, type Batch } from '../../../agent/adapter-kit.ts';
import { ErpHttpSinkConfig } from '../config.ts';
import { ErpSim, type ErpSimOptions } from './erp-sim.ts';
import { ErpHttpSink } from '../sink.ts';

/** Per-item result paths of erp-sim's batch answer. */
export const simResponse = { itemsPath: 'results', itemStatusPath: 'status', itemErrorPath: 'error', receiptPath: 'documentNumber' };

export async function startSim(t: TestContext, opts: ErpSimOptions = {}): Promise<ErpSim> {
  const sim = new ErpSim(opts);
  await sim.start();
  t.after(() => sim.close());
  return sim;
}

export async function openSink(t: TestContext, cfg: Record<string, unknown> & { url: string }, metrics = new Metrics()): Promise<ErpHttpSink> {
  const sink = new ErpHttpSink('erp', erpHttpConfig({ response: simResponse, ...cfg }), { log: pino({ level: 'silent' }), metrics });
  await sink.open();
  t.after(() => sink.close());
  return sink;
}

let seq = 0;

export function confirmation(n: number, order = `PO${n % 3}`): EventDraft {
  return {
    type: 'production.confirmation',
    key: `seq-${n}`,
    orderingKey: `${order}/0010`,
    plant: '1000',
    occurredAt: Date.now(),
    source: { adapter: 'test', id: 'press-01', address: 'test' },
    payload: { order, operation: '0010', workCenter: 'PRESS-01', yield: 4, scrap: 0, unit: 'PC', final: false },
  };
}

export function batchOf(drafts: EventDraft[], key = `batch-${++seq}`): Batch {
  return {
    id: seq,
    key,
    attempt: 0,
    resend: false,
    events: drafts.map((d) => {
      const r = buildEvent(d, 'test');
      if (!r.ok) throw new Error(r.reason);
      return { seq: ++seq, idempotencyKey: r.event.idempotencyKey, orderingKey: r.event.orderingKey, correlationId: r.event.correlationId, type: r.event.type, occurredAt: Date.parse(r.event.occurredAt), appendedAt: Date.now(), body: JSON.stringify(r.event) };
    }),
  };
}

export const never = new AbortController().signal;

/** An erp-http sink config built in a test, with the schema's defaults (as the agent applies them at load). */
export function erpHttpConfig(partial: Record<string, unknown>): ErpHttpSinkConfig {
  return withSchemaDefaults(ErpHttpSinkConfig, { type: 'erp-http', ...partial });
}
