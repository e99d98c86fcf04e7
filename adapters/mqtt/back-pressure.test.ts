// The MQTT source holds at most maxInFlight messages in memory: while commits cannot keep up (here: the spool is full
// and refuses them) it stops reading from the broker, which keeps the rest. Nothing is lost: after a restart with
// room in the spool every message becomes its event, once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { Agent } from '../../agent/agent.ts';
import { spoolOf } from '../../agent/inspect.ts';
import { SpoolFullError } from '../../spool/types.ts';
import { tempDir, until } from '../../test/helpers.ts';
import { config } from './sim/test-kit.ts';
import { startBroker, uniquePrefix } from './sim/test-broker.ts';

const MESSAGES = 2000;
const MAX_IN_FLIGHT = 300;

test('a full spool: the source holds at most maxInFlight messages and stops reading; after a restart with room every message is one event', async (t) => {
  const broker = await startBroker(t);
  const prefix = uniquePrefix();
  const dir = tempDir(t);
  const cfg = (capBytes: number) => {
    const c = config(dir, broker, prefix, [`${prefix}/machines/+/count`], { maxInFlight: MAX_IN_FLIGHT, maxBatch: 100, receiveMaximum: 65_535 });
    c.spool = { capBytes };
    c.admin = { enabled: false };
    return c;
  };
  const first = new Agent({ config: cfg(1_048_576), configVersion: 'small', log: pino({ level: 'silent' }) });
  await first.start();
  // Fill the spool to its cap with business events of another source: from now on commits are refused.
  for (let i = 0; ; i++) {
    try {
      await first.ingest(Array.from({ length: 50 }, (_, k) => ({ type: 'scrap' as const, key: `fill-${i}-${k}`, orderingKey: `Заказ-${i}`, plant: '1000', occurredAt: Date.now(), source: { adapter: 'test', id: 'filler', address: 'x' }, payload: { quantity: 1, unit: 'ST', reasonCode: 'R1', reasonText: 'Ausschuss '.repeat(40) } })));
    } catch (err) {
      if (err instanceof SpoolFullError) break;
      throw err;
    }
  }
  await until(() => first.sources.get('hall2')!.status().connected, 'source connected');
  await new Promise((r) => setTimeout(r, 200));
  const pub = await connectAsync(broker.url, { protocolVersion: broker.protocolVersion });
  t.after(() => pub.endAsync());
  for (let i = 0; i < MESSAGES; i += 100) await Promise.all(Array.from({ length: 100 }, (_, k) => pub.publishAsync(`${prefix}/machines/PRESS-07/count`, JSON.stringify({ seq: i + k + 1, order: '订单-2002', good: 1 }), { qos: 1 })));
  await until(() => (first.sources.get('hall2')!.status().held ?? 0) >= MAX_IN_FLIGHT, () => `the source holds maxInFlight (${JSON.stringify(first.sources.get('hall2')!.status())})`);
  await new Promise((r) => setTimeout(r, 500));
  const st = first.sources.get('hall2')!.status();
  assert.ok(st.held! <= MAX_IN_FLIGHT + 1, `held ${st.held} <= maxInFlight (+ the one whose go-ahead waits)`);
  assert.ok(st.received <= MAX_IN_FLIGHT + 1, `it stopped reading: ${st.received} taken of ${MESSAGES} published`);
  await first.stop(1000);

  const second = new Agent({ config: cfg(64 * 1024 * 1024), configVersion: 'roomy', log: pino({ level: 'silent' }) });
  await second.start();
  t.after(() => second.stop(1000));
  const events = () => spoolOf(second).db.prepare("SELECT count(*) FROM events WHERE idem LIKE '1000/hall2/PRESS-07/%'").pluck().get() as number;
  await until(() => events() === MESSAGES, () => `every message became its event (${events()} of ${MESSAGES})`, 30_000);
});
