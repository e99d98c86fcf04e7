// What to configure for the simulated press line (sim.ts): the OPC UA source's nodes, one per trigger kind with
// read-on-trigger and the handshake, and the mapping rules a plant would write for them. Used by the demo and the
// tests; a starting point for a real press (adapters/opcua/README.md has a sample for a Siemens-style data block).
import type { ConfigInput } from '../../../agent/config.ts';
import type { OpcuaSourceConfig } from '../config.ts';
import type { PressLineSim } from './press-line.ts';

/** The source's nodes: every trigger kind on the simulated press, read-on-trigger and the handshake. */
export function pressNodes(sim: Pick<PressLineSim, 'nodeIds'>): OpcuaSourceConfig['nodes'] {
  const id = sim.nodeIds;
  return [
    { name: 'PRESS-01/parts', nodeId: id.parts, trigger: { kind: 'counter', rolloverAt: 2 ** 32 }, read: ['order', 'operation'] },
    { name: 'PRESS-01/state', nodeId: id.state, trigger: { kind: 'transition' } },
    { name: 'PRESS-01/hold', browsePath: '/1:PressLine/1:PRESS-01/1:QualityHold', trigger: { kind: 'rising' }, read: ['lot', 'material'] },
    { name: 'PRESS-01/release', nodeId: id.hold, trigger: { kind: 'falling' } },
    { name: 'PRESS-01/temperature', nodeId: id.temperature, trigger: { kind: 'threshold', above: 60, hysteresis: 5 } },
    { name: 'PRESS-01/order-change', nodeId: id.order, trigger: { kind: 'change' } },
    { name: 'PRESS-01/data-ready', nodeId: id.dataReady, trigger: { kind: 'rising' }, read: ['order', 'material', 'lot'], handshake: { ackNode: 'data-ack' } },
    { name: 'order', nodeId: id.order },
    { name: 'operation', nodeId: id.operation },
    { name: 'material', nodeId: id.material },
    { name: 'lot', nodeId: id.lot },
    { name: 'data-ack', nodeId: id.dataAck },
  ];
}

/** The rules a plant would write for those nodes: each event keyed by the reading's own identity (payload.key). */
export const pressMappings: ConfigInput['mappings'] = [
  { name: 'yield', topic: '{machine}/parts', emit: [{ type: 'production.confirmation', key: '{{payload.key}}', orderingKey: '{{payload.read.order}}/{{payload.read.operation}}', occurredAt: 'payload.ts', payload: { order: '{{payload.read.order}}', operation: '{{payload.read.operation}}', workCenter: '{{topic.machine}}', yield: '{{payload.delta}}', scrap: 0, unit: 'PC', final: false } }] },
  { name: 'down', topic: '{machine}/state', when: [{ path: 'payload.to', equals: 'DOWN' }], emit: [{ type: 'machine.downtime', key: '{{payload.key}}', orderingKey: '{{topic.machine}}/downtime', occurredAt: 'payload.ts', payload: { machine: '{{topic.machine}}', state: 'started', start: '{{payload.ts}}', reasonCode: 'PLC' } }] },
  { name: 'up', topic: '{machine}/state', when: [{ path: 'payload.from', equals: 'DOWN' }], emit: [{ type: 'machine.downtime', key: '{{payload.key}}', orderingKey: '{{topic.machine}}/downtime', occurredAt: 'payload.ts', payload: { machine: '{{topic.machine}}', state: 'ended', start: '{{payload.ts}}', end: '{{payload.ts}}', durationSec: '{{payload.durationSec}}', reasonCode: 'PLC' } }] },
  { name: 'other-state', topic: '{machine}/state', emit: [] },
  { name: 'hold', topic: '{machine}/hold', emit: [{ type: 'quality.hold', key: '{{payload.key}}', orderingKey: '{{payload.read.lot}}', occurredAt: 'payload.ts', payload: { lot: '{{payload.read.lot}}', material: '{{payload.read.material}}', characteristic: 'PLC hold bit', decision: 'hold' } }] },
  { name: 'release', topic: '{machine}/release', emit: [{ type: 'quality.hold', key: '{{payload.key}}', orderingKey: 'PRESS-01/holds', occurredAt: 'payload.ts', payload: { characteristic: 'PLC hold bit', decision: 'release' } }] },
  { name: 'hot', topic: '{machine}/temperature', emit: [{ type: 'telemetry', key: '{{payload.key}}', orderingKey: '{{topic.machine}}/temperature', occurredAt: 'payload.ts', payload: { tag: '{{topic.machine}}.OilTemperature.above', value: '{{payload.value}}', unit: 'C' } }] },
  { name: 'order', topic: '{machine}/order-change', emit: [{ type: 'telemetry', key: '{{payload.key}}', orderingKey: '{{topic.machine}}/order', occurredAt: 'payload.ts', payload: { tag: '{{topic.machine}}.Order', value: '{{payload.value}}' } }] },
  { name: 'receipt', topic: '{machine}/data-ready', emit: [{ type: 'goods.receipt', key: '{{payload.key}}', orderingKey: '{{payload.read.order}}/receipt', occurredAt: 'payload.ts', payload: { material: '{{payload.read.material}}', batch: '{{payload.read.lot}}', quantity: 1, unit: 'PAL', order: '{{payload.read.order}}' } }] },
] as ConfigInput['mappings'];
