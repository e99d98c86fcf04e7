// A simulated MQTT machine for the demo: a welding robot that publishes one QoS 1 message per weld cycle (its own
// sequence number, source time, the order it works on and the wire it used) and now and then publishes the same
// cycle again, as a machine does after a lost acknowledgement. With it: the source config and the mapping rule that
// turn its cycles into material consumptions.
import { connectAsync, type MqttClient } from 'mqtt';
import type { ConfigInput } from '../../../agent/config.ts';
import type { MqttSourceConfig } from '../config.ts';
import { brokerAddress } from '../source.ts';

export const ROBOT_TOPIC = 'plants/1000/lines/L1/machines/ROBOT-01/cycle';

export class WeldingRobotSim {
  published = 0;
  resent = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly client: MqttClient;
  private last: string | undefined;

  private constructor(client: MqttClient) {
    this.client = client;
  }

  static async start(url: string, cyclesPerSecond: number, order: () => string): Promise<WeldingRobotSim> {
    const sim = new WeldingRobotSim(await connectAsync({ ...brokerAddress(url), clientId: 'demo-robot-01' })); // not url.parse (brokerAddress)
    sim.timer = setInterval(() => sim.cycle(order()), 1000 / cyclesPerSecond);
    return sim;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.client.endAsync();
  }

  private cycle(order: string): void {
    const msg = JSON.stringify({ seq: ++this.seq, ts: new Date().toISOString(), order, wire: 'WIRE-SG2-1.2', wire_g: 30 + (this.seq % 7) });
    void this.client.publishAsync(ROBOT_TOPIC, msg, { qos: 1 }).then(() => this.published++);
    if (this.last && this.seq % 40 === 0) {
      void this.client.publishAsync(ROBOT_TOPIC, this.last, { qos: 1 }).then(() => this.resent++);
    }
    this.last = msg;
  }
}

export function robotSource(url: string): Partial<MqttSourceConfig> & { type: 'mqtt'; url: string } {
  return { type: 'mqtt', url, protocolVersion: 4, subscriptions: [{ topic: 'plants/1000/lines/+/machines/+/cycle', qos: 1 }] };
}

export const robotMappings: ConfigInput['mappings'] = [
  {
    name: 'weld-wire',
    topic: 'plants/{plant}/lines/{line}/machines/{machine}/cycle',
    emit: [
      {
        type: 'material.consumption',
        key: '{{topic.machine}}/{{payload.seq}}',
        orderingKey: '{{payload.order}}/wire',
        occurredAt: 'payload.ts',
        line: '{{topic.line}}',
        workCenter: '{{topic.machine}}',
        payload: { order: '{{payload.order}}', material: '{{payload.wire}}', quantity: { expr: 'payload.wire_g', unit: { from: 'g', to: 'kg' }, round: 3 }, unit: 'KG' },
      },
    ],
  },
] as ConfigInput['mappings'];
