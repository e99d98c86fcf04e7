// Config schema of the MQTT source.
import Type, { type Static } from 'typebox';
import { TlsOptions } from '../../agent/kit-schemas.ts';

export const MqttSourceConfig = Type.Object(
  {
    type: Type.Literal('mqtt'),
    url: Type.String({ pattern: '^(mqtt|mqtts|ws|wss)://[^\\s/?#]+', description: 'mqtt://host:1883, mqtts://host:8883, ws://host/mqtt, wss://...' }),
    protocolVersion: Type.Union([Type.Literal(4), Type.Literal(5)], { default: 5, description: '4 = MQTT 3.1.1, 5 = MQTT 5' }),
    clientId: Type.Optional(Type.String({ minLength: 1, description: 'Default: plantsync-<agent id>-<source name>, stable across restarts' })),
    clean: Type.Boolean({ default: false, description: 'false: a persistent session, so the broker keeps messages while the agent is away' }),
    sessionExpirySec: Type.Integer({ minimum: 0, default: 604_800, description: 'MQTT 5: how long the broker keeps the session' }),
    receiveMaximum: Type.Integer({ minimum: 1, maximum: 65_535, default: 1000, description: 'MQTT 5: unacknowledged QoS 1/2 messages the broker may send at once (commit group size)' }),
    username: Type.Optional(Type.String()),
    password: Type.Optional(Type.String({ description: 'A value, or ${env:NAME} / ${file:PATH}' })),
    tls: Type.Optional(TlsOptions),
    subscriptions: Type.Array(
      Type.Object(
        {
          topic: Type.String({ minLength: 1, description: 'Filter with + and #, or $share/group/filter' }),
          qos: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)], { default: 1 })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
    decode: Type.Union([Type.Literal('json'), Type.Literal('text'), Type.Literal('number'), Type.Literal('sparkplug')], { default: 'json', description: 'sparkplug: Sparkplug B protobuf on spBv1.0/... topics' }),
    maxPayloadBytes: Type.Integer({ minimum: 1, default: 262_144, description: 'Larger messages become rejected records' }),
    maxBatch: Type.Integer({ minimum: 1, maximum: 100_000, default: 2000, description: 'Messages committed together at most' }),
    maxInFlight: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 5000,
      description: 'Messages held in memory at most, taken in but not yet committed and acknowledged; beyond it the source stops reading from the broker (TCP back-pressure) until commits catch up',
    }),
    keepaliveSec: Type.Integer({ minimum: 1, default: 30 }),
    reconnectMinMs: Type.Integer({ minimum: 10, default: 1000 }),
    reconnectMaxMs: Type.Integer({ minimum: 10, default: 30_000 }),
  },
  { additionalProperties: false },
);
export type MqttSourceConfig = Static<typeof MqttSourceConfig>;
