// Payload schemas per canonical event type: the fields an ERP posting needs. docs/events.md documents them with
// examples (a test parses those examples against these schemas). Payloads may carry extra fields (plant-specific
// ERP fields a body template can reference); the listed ones are checked.
import Type, { type TSchema } from 'typebox';

const Text = Type.String({ minLength: 1, maxLength: 256 });
const Quantity = Type.Number({ minimum: 0 });
const Time = Type.String({ format: 'date-time' });

export const ProductionConfirmation = Type.Object({
  order: Text,
  operation: Text,
  workCenter: Text,
  yield: Quantity,
  scrap: Quantity,
  unit: Text,
  labourTimeSec: Type.Optional(Quantity),
  machineTimeSec: Type.Optional(Quantity),
  setupTimeSec: Type.Optional(Quantity),
  final: Type.Boolean({ description: 'Final confirmation of the operation' }),
});

/** A movement booked in error is taken back by a reversal: the same movement with `reversal: true`. */
const Reversal = Type.Optional(Type.Boolean({ description: 'Takes back an earlier movement of the same quantity (SAP: 262 / 102 / 552)' }));

const Movement = {
  material: Text,
  quantity: Type.Number({ exclusiveMinimum: 0 }),
  unit: Text,
  batch: Type.Optional(Text),
  storageLocation: Type.Optional(Text),
  reversal: Reversal,
};

export const MaterialConsumption = Type.Object({ ...Movement, order: Text });
export const GoodsReceipt = Type.Object({ ...Movement, order: Type.Optional(Text) });

export const Scrap = Type.Object({
  quantity: Type.Number({ exclusiveMinimum: 0 }),
  unit: Text,
  reasonCode: Text,
  reasonText: Type.Optional(Type.String({ maxLength: 512 })),
  order: Type.Optional(Text),
  operation: Type.Optional(Text),
  material: Type.Optional(Text),
  reversal: Reversal,
});

export const MachineDowntime = Type.Object({
  machine: Text,
  state: Type.Union([Type.Literal('started'), Type.Literal('ended')]),
  start: Time,
  end: Type.Optional(Time),
  durationSec: Type.Optional(Quantity),
  reasonCode: Text,
  reasonText: Type.Optional(Type.String({ maxLength: 512 })),
});

export const QualityHold = Type.Object({
  lot: Type.Optional(Text),
  serial: Type.Optional(Text),
  characteristic: Text,
  decision: Type.Union(['hold', 'release', 'reject', 'rework'].map((d) => Type.Literal(d))),
  value: Type.Optional(Type.Union([Type.Number(), Type.String()])),
  limit: Type.Optional(Type.String()),
  order: Type.Optional(Text),
  material: Type.Optional(Text),
});

export const Telemetry = Type.Object({
  tag: Text,
  value: Type.Union([Type.Number(), Type.String(), Type.Boolean()]),
  unit: Type.Optional(Text),
});

/** What a source could not see: an interval or a counter step it cannot account for. Raised by sources themselves. */
export const SourceGap = Type.Object({
  source: Text,
  node: Type.Optional(Text),
  reason: Type.String({ minLength: 1, maxLength: 512 }),
  from: Type.Optional(Time),
  until: Type.Optional(Time),
  lastValue: Type.Optional(Type.Number()),
  value: Type.Optional(Type.Number()),
});

export const payloadSchemas = {
  'production.confirmation': ProductionConfirmation,
  'material.consumption': MaterialConsumption,
  'goods.receipt': GoodsReceipt,
  scrap: Scrap,
  'machine.downtime': MachineDowntime,
  'quality.hold': QualityHold,
  telemetry: Telemetry,
  'source.gap': SourceGap,
} satisfies Record<string, TSchema>;

export type EventType = keyof typeof payloadSchemas;
export const eventTypes = Object.keys(payloadSchemas) as EventType[];
/** Types whose events are telemetry class by default: they may be dropped oldest-first when the spool is full. */
export const telemetryTypes: ReadonlySet<string> = new Set(['telemetry']);
