// A simulated press line that produces realistic shop-floor events for the demo: production orders run through
// blanking (0010) and pressing (0020); every cycle confirms yield, consumes coil, and samples press force;
// now and then a part is scrapped, the press goes down and comes back, or quality puts a lot on hold. Each event
// carries the machine's own sequence number as its key, so a resend is recognised as the same message.
// (Later issues replace this producer with simulated OPC UA and MQTT machines.)
import type { EventDraft } from '../events.ts';

interface Order {
  order: string;
  material: string;
  coil: string;
  lot: string;
  target: number;
  done: Record<string, number>;
}

const OPERATIONS = [
  { op: '0010', workCenter: 'BLANK-01' },
  { op: '0020', workCenter: 'PRESS-01' },
];

export class PressLine {
  private seq = 0;
  private orderNo = 1_000_451;
  private current: Order;
  private downSince: Date | undefined;
  private readonly plant: string;
  private readonly line: string;
  private readonly random: () => number;

  constructor(plant = '1000', line = 'L1', random: () => number = Math.random) {
    this.plant = plant;
    this.line = line;
    this.random = random;
    this.current = this.newOrder();
  }

  /** One machine cycle's worth of events (empty while the press is down). */
  cycle(now = new Date()): EventDraft[] {
    const out: EventDraft[] = [];
    if (this.downSince) {
      if (this.random() < 0.2) {
        out.push(this.downtime('ended', now));
        this.downSince = undefined;
      }
      return out;
    }
    if (this.random() < 0.01) {
      this.downSince = now;
      out.push(this.downtime('started', now));
      return out;
    }
    const o = this.current;
    for (const { op, workCenter } of OPERATIONS) {
      const scrap = this.random() < 0.05 ? 1 : 0;
      const good = 4 - scrap;
      o.done[op] = (o.done[op] ?? 0) + good;
      const final = op === '0020' && o.done[op]! >= o.target;
      out.push(this.draft('production.confirmation', `${o.order}/${op}`, now, {
        order: o.order, operation: op, workCenter, yield: good, scrap, unit: 'PC',
        machineTimeSec: 12, labourTimeSec: 12, final,
      }));
      if (scrap) {
        out.push(this.draft('scrap', `${o.order}/${op}`, now, {
          order: o.order, operation: op, material: o.material, quantity: scrap, unit: 'PC', reasonCode: 'SC-CRACK', reasonText: 'Edge crack',
        }));
      }
    }
    out.push(this.draft('material.consumption', `${o.order}/${o.coil}`, now, {
      material: o.coil, quantity: 8.4, unit: 'KG', batch: `C${o.order.slice(-3)}`, storageLocation: 'RM01', order: o.order,
    }));
    out.push(this.draft('telemetry', `${this.line}/PRESS-01/force`, now, { tag: 'PRESS-01.Force', value: Math.round(2400 + this.random() * 80), unit: 'kN' }));
    if (this.random() < 0.003) {
      out.push(this.draft('quality.hold', `${o.order}/${o.lot}`, now, {
        lot: o.lot, characteristic: 'Flatness', decision: 'hold', value: 0.42, limit: '<= 0.30 mm', order: o.order, material: o.material,
      }));
    }
    if (o.done['0020']! >= o.target) {
      out.push(this.draft('goods.receipt', `${o.order}/GR`, now, {
        material: o.material, quantity: o.done['0020']!, unit: 'PC', batch: o.lot, storageLocation: 'FG01', order: o.order,
      }));
      this.current = this.newOrder();
    }
    return out;
  }

  private newOrder(): Order {
    const order = String(this.orderNo++);
    return { order, material: 'BRKT-4711', coil: 'COIL-DC04-1.5', lot: `L${order}`, target: 200, done: {} };
  }

  private downtime(state: 'started' | 'ended', now: Date): EventDraft {
    const start = this.downSince ?? now;
    return this.draft('machine.downtime', `${this.line}/PRESS-01/downtime`, now, {
      machine: 'PRESS-01', state, start: start.toISOString(),
      ...(state === 'ended' && { end: now.toISOString(), durationSec: (now.getTime() - start.getTime()) / 1000 }),
      reasonCode: 'DT-DIE', reasonText: 'Die change',
    });
  }

  private draft(type: EventDraft['type'], orderingKey: string, now: Date, payload: Record<string, unknown>): EventDraft {
    return {
      type,
      key: `seq-${String(++this.seq).padStart(10, '0')}`,
      orderingKey,
      plant: this.plant,
      line: this.line,
      workCenter: typeof payload.workCenter === 'string' ? payload.workCenter : 'PRESS-01',
      occurredAt: now,
      source: { adapter: 'demo', id: 'press-line-sim', address: `sim://${this.line}` },
      payload,
    };
  }
}
