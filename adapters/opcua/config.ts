// Config schema of the OPC UA source.
import Type, { type Static } from 'typebox';

const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);

export const Trigger = Type.Union(
  [
    Type.Object({ kind: Type.Literal('change') }, { additionalProperties: false, description: 'Every change of value' }),
    Type.Object({ kind: Type.Literal('rising') }, { additionalProperties: false, description: 'A boolean going true' }),
    Type.Object({ kind: Type.Literal('falling') }, { additionalProperties: false, description: 'A boolean going false' }),
    Type.Object(
      {
        kind: Type.Literal('counter'),
        rolloverAt: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'The counter wraps to 0 on reaching this (e.g. 65536); without it a decrease is a reset' })),
        maxDelta: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'A larger step is not posted but raised as source.gap' })),
      },
      { additionalProperties: false, description: 'Emits the increment; handles rollover and reset' },
    ),
    Type.Object(
      {
        kind: Type.Literal('transition'),
        from: Type.Optional(Type.Array(Scalar, { description: 'Fire only when leaving one of these values' })),
        to: Type.Optional(Type.Array(Scalar, { description: 'Fire only when entering one of these values' })),
      },
      { additionalProperties: false, description: 'A state change, with how long the previous state lasted' },
    ),
    Type.Object(
      {
        kind: Type.Literal('threshold'),
        above: Type.Optional(Type.Number()),
        below: Type.Optional(Type.Number()),
        hysteresis: Type.Optional(Type.Number({ minimum: 0, default: 0, description: 'The value must come back this far before the trigger re-arms' })),
      },
      { additionalProperties: false, description: 'Crossing a limit' },
    ),
  ],
  { description: 'When a change of this node becomes a record for the mapping rules' },
);
export type Trigger = Static<typeof Trigger>;

export const NodeConfig = Type.Object(
  {
    name: Type.String({ minLength: 1, pattern: '^[^#+]+$', description: 'The record address the mapping rules match (e.g. PRESS-01/parts)' }),
    nodeId: Type.Optional(Type.String({ minLength: 1, description: 'ns=2;s=Press01.Parts' })),
    browsePath: Type.Optional(Type.String({ minLength: 1, description: 'From the Objects folder: /2:PressLine/2:PRESS-01/2:Parts' })),
    samplingIntervalMs: Type.Optional(Type.Number({ minimum: 0, default: 100 })),
    queueSize: Type.Optional(Type.Integer({ minimum: 1, default: 100, description: 'Values kept at the server between publishes (discardOldest=false)' })),
    deadband: Type.Optional(
      Type.Object({ type: Type.Union([Type.Literal('absolute'), Type.Literal('percent')]), value: Type.Number({ minimum: 0 }) }, { additionalProperties: false }),
    ),
    trigger: Type.Optional(Trigger),
    read: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Names of other nodes read in one call when this one fires (order, operation, material...)' })),
    handshake: Type.Optional(
      Type.Object(
        {
          ackNode: Type.String({ minLength: 1, description: 'Name of the node written once the record is committed' }),
          value: Type.Optional(Scalar),
        },
        { additionalProperties: false, description: 'Acknowledge to the PLC after the spool commit (default value: true)' },
      ),
    ),
  },
  { additionalProperties: false },
);
export type NodeConfig = Static<typeof NodeConfig>;

export const EventConfig = Type.Object(
  {
    name: Type.String({ minLength: 1, pattern: '^[^#+]+$', description: 'The record address the mapping rules match (e.g. PRESS-01/alarms)' }),
    notifier: Type.Optional(Type.String({ minLength: 1, default: 'i=2253', description: 'Node id of the event notifier (default: the Server object)' })),
    fields: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        default: ['EventId', 'EventType', 'SourceName', 'Time', 'Message', 'Severity'],
        description: 'Event fields by browse path (e.g. ActiveState/Id); EventId and Time are always added',
      }),
    ),
    minSeverity: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Drop events below this severity' })),
  },
  { additionalProperties: false, description: 'OPC UA events (alarms and conditions) from a notifier' },
);
export type EventConfig = Static<typeof EventConfig>;

export const OpcuaSourceConfig = Type.Object(
  {
    type: Type.Literal('opcua'),
    endpoint: Type.String({ pattern: '^opc\\.tcp://', description: 'opc.tcp://plc-01:4840' }),
    securityMode: Type.Union([Type.Literal('None'), Type.Literal('Sign'), Type.Literal('SignAndEncrypt')], { default: 'None' }),
    securityPolicy: Type.Union([Type.Literal('None'), Type.Literal('Basic256Sha256'), Type.Literal('Aes128_Sha256_RsaOaep'), Type.Literal('Aes256_Sha256_RsaPss')], { default: 'None' }),
    identity: Type.Optional(
      Type.Union([
        Type.Object({ type: Type.Literal('anonymous') }, { additionalProperties: false }),
        Type.Object({ type: Type.Literal('username'), username: Type.String({ minLength: 1 }), password: Type.String({ description: 'A value, or ${env:NAME} / ${file:PATH}' }) }, { additionalProperties: false }),
        Type.Object({ type: Type.Literal('certificate'), certificate: Type.String({ description: 'PEM file' }), privateKey: Type.String({ description: 'PEM file' }) }, { additionalProperties: false }),
      ]),
    ),
    publishingIntervalMs: Type.Number({ minimum: 10, default: 500 }),
    keepAliveCount: Type.Integer({ minimum: 1, default: 2, description: 'Publishing intervals without data before the server sends a keep-alive' }),
    staleAfterMs: Type.Optional(Type.Integer({ minimum: 100, description: 'No data or keep-alive for this long: the session is rebuilt. Default: 3 keep-alive periods, at least 2 s' })),
    transportTimeoutMs: Type.Integer({ minimum: 500, default: 5000 }),
    maxInFlight: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 20_000,
      description: 'Values held in memory at most, taken in but not yet committed; beyond it the source turns the subscription\'s publishing off (the server keeps values in its monitored-item queues, queueSize each) until commits catch up',
    }),
    reconnectMinMs: Type.Integer({ minimum: 10, default: 500 }),
    reconnectMaxMs: Type.Integer({ minimum: 10, default: 30_000 }),
    nodes: Type.Array(NodeConfig),
    events: Type.Optional(Type.Array(EventConfig)),
  },
  { additionalProperties: false },
);
export type OpcuaSourceConfig = Static<typeof OpcuaSourceConfig>;
