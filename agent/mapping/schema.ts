// Config schema of mapping rules (the `mappings` list of the agent config). docs/mapping.md explains them.
import Type, { type Static } from 'typebox';
import { eventTypes } from '../event-payloads.ts';

const Predicate = Type.Object(
  {
    path: Type.String({ minLength: 1, description: 'e.g. payload.kind, topic.line, props.shift' }),
    equals: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
    notEquals: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
    in: Type.Optional(Type.Array(Type.Union([Type.String(), Type.Number()]))),
    exists: Type.Optional(Type.Boolean()),
    gt: Type.Optional(Type.Number()),
    lt: Type.Optional(Type.Number()),
  },
  { additionalProperties: false },
);

const Field = Type.Union([
  Type.String({ description: 'A constant, or a template with {{expression}}; "{{expr}}" alone keeps the type' }),
  Type.Number(),
  Type.Boolean(),
  Type.Object(
    {
      expr: Type.String({ minLength: 1, description: 'Arithmetic over paths: payload.good - payload.rework' }),
      unit: Type.Optional(Type.Object({ from: Type.String(), to: Type.String() }, { additionalProperties: false })),
      round: Type.Optional(Type.Integer({ minimum: 0, maximum: 12, description: 'Decimal places' })),
    },
    { additionalProperties: false },
  ),
]);

export const Emit = Type.Object(
  {
    type: Type.Enum(eventTypes),
    key: Type.String({ minLength: 1, description: "Template of the message's own identity (sequence number, source timestamp)" }),
    orderingKey: Type.String({ minLength: 1, description: 'Template of the business key, e.g. {{payload.order}}/{{payload.op}}' }),
    occurredAt: Type.Optional(Type.String({ description: 'Expression for source time (RFC 3339 text or epoch ms); default: time received' })),
    correlationId: Type.Optional(Type.String()),
    plant: Type.Optional(Type.String({ description: "Template; default: the agent's plant" })),
    line: Type.Optional(Type.String()),
    workCenter: Type.Optional(Type.String()),
    priority: Type.Optional(Type.Union([Type.Literal('business'), Type.Literal('telemetry')])),
    payload: Type.Record(Type.String(), Field),
  },
  { additionalProperties: false },
);

export const MappingRule = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    source: Type.Optional(Type.String({ description: 'Source id this rule applies to; any when absent' })),
    topic: Type.Optional(Type.String({ description: 'Topic / address pattern with {named} segments, + and #' })),
    when: Type.Optional(Type.Array(Predicate)),
    emit: Type.Array(Emit, { description: 'Empty: matching messages are consumed without events (e.g. Sparkplug BIRTH)' }),
  },
  { additionalProperties: false },
);

export type MappingRule = Static<typeof MappingRule>;
export type Emit = Static<typeof Emit>;
export type Field = Static<typeof Field>;
export type Predicate = Static<typeof Predicate>;
