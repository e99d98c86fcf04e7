// MQTT QoS 1 through Mosquitto (127.0.0.1:1883, or MQTT_URL): a bare mqtt.js subscriber beside plantsync
// (source -> mapping -> durable spool -> ERP HTTP sink -> erp-sim), measured in the same run, and plantsync's
// latency from publish to the ERP's acknowledgement at paced rates.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { Agent } from '../../agent/agent.ts';
import type { AgentConfig } from '../../agent/config.ts';
import { ErpSim } from '../../adapters/erp-http/erp-sim.ts';
import type { Figure } from './report.ts';

const URL = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';

async function publishBurst(pub: MqttClient, topic: string, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, from + n - i) }, (_, k) => pub.publishAsync(topic, JSON.stringify({ seq: i + k, t: Date.now(), order: `PO${(i + k) % 20}` }), { qos: 1 })));
  }
}

async function waitFor(fn: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

async function bareRate(pub: MqttClient, n: number): Promise<number> {
  const topic = `plantsync-bench/bare/${process.pid}`;
  const sub = await connectAsync(URL, { protocolVersion: 5, clean: true, properties: { receiveMaximum: 1000 } });
  let got = 0;
  sub.on('message', () => got++);
  await sub.subscribeAsync(topic, { qos: 1 });
  const t0 = performance.now();
  await publishBurst(pub, topic, 0, n);
  await waitFor(() => got >= n, 60_000);
  const rate = got / ((performance.now() - t0) / 1000);
  await sub.endAsync();
  return rate;
}

export async function mqttBenchmarks(n = 50_000): Promise<Figure[]> {
  let pub: MqttClient;
  try {
    pub = await connectAsync(URL, { protocolVersion: 5, connectTimeout: 2000, reconnectPeriod: 0 });
  } catch {
    console.log(`mqtt: no broker at ${URL}; skipped`);
    return [];
  }
  const dir = mkdtempSync(join(tmpdir(), 'plantsync-mqtt-bench-'));
  const sim = new ErpSim();
  await sim.start();
  const topic = `plantsync-bench/agent/${process.pid}/PRESS-01`;
  const config = {
    agent: { id: `bench-${process.pid}`, plant: '1000', stateDir: dir },
    sources: { hall: { type: 'mqtt', url: URL, protocolVersion: 5, clean: true, subscriptions: [{ topic: `plantsync-bench/agent/${process.pid}/+`, qos: 1 }] } },
    sinks: { erp: { type: 'erp-http', url: `${sim.url}/batch`, response: { itemsPath: 'results', itemStatusPath: 'status', itemErrorPath: 'error', receiptPath: 'documentNumber' }, delivery: { concurrency: 4, maxEvents: 500 } } },
    routes: [{ sink: 'erp', types: '*' }],
    mappings: [{ name: 'cycle', topic: 'plantsync-bench/agent/+/{machine}', emit: [{ type: 'production.confirmation', key: '{{payload.seq}}', orderingKey: '{{payload.order}}/0010', occurredAt: 'payload.t', payload: { order: '{{payload.order}}', operation: '0010', workCenter: '{{topic.machine}}', yield: 1, scrap: 0, unit: 'PC', final: false } }] }],
  } as unknown as AgentConfig;
  const agent = new Agent({ config, configVersion: 'bench', log: pino({ level: 'silent' }) });
  try {
    const bare = await bareRate(pub, n);
    await agent.start();
    await waitFor(() => agent.sources.get('hall')!.status().connected, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    await publishBurst(pub, topic, 0, n);
    await waitFor(() => sim.counters.accepted >= n, 120_000);
    const rate = sim.counters.accepted / ((performance.now() - t0) / 1000);
    const figures: Figure[] = [
      { name: 'mqtt: bare mqtt.js QoS 1 subscriber through Mosquitto', value: bare, unit: 'messages/s' },
      { name: 'mqtt: plantsync QoS 1 -> mapping -> spool (FULL) -> erp-sim, ack after commit', value: rate, unit: 'messages/s' },
      { name: 'mqtt: plantsync / bare subscriber', value: rate / bare, unit: 'x', target: '>= 0.8' },
    ];
    for (const perSecond of [1000, 10_000]) {
      const from = sim.counters.accepted;
      const count = perSecond * 3;
      const sent = new Map<number, number>();
      const tick = 10;
      for (let i = 0; i < count; i += (perSecond * tick) / 1000) {
        const started = Date.now();
        const k = (perSecond * tick) / 1000;
        for (let j = 0; j < k; j++) {
          const seq = n + perSecond * 10 + i + j;
          sent.set(seq, Date.now());
          void pub.publishAsync(topic, JSON.stringify({ seq, t: Date.now(), order: `PO${seq % 20}` }), { qos: 1 });
        }
        await new Promise((r) => setTimeout(r, Math.max(0, tick - (Date.now() - started))));
      }
      await waitFor(() => sim.counters.accepted >= from + count, 60_000);
      const lat = sim.booked.slice(from).map((b) => b.at - (sent.get(Number(b.idempotencyKey.split('/').pop())) ?? b.at)).sort((a, b) => a - b);
      figures.push({ name: `mqtt: p99 publish -> ERP acknowledgement at ${perSecond} messages/s`, value: lat[Math.floor(lat.length * 0.99)] ?? NaN, unit: 'ms', target: perSecond === 1000 ? '<= 10' : '<= 50' });
    }
    return figures;
  } finally {
    await agent.stop(2000).catch(() => {});
    await pub.endAsync();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
