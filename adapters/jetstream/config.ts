// Config schemas of the NATS JetStream adapters: the sink a gateway publishes with, and the source a central relay
// consumes with. Both name the same server, stream and partitioning, so they share those settings.
import Type, { type Static } from 'typebox';
import { Secret, TlsOptions } from '../../agent/kit-schemas.ts';

export const NatsAuth = Type.Union([
  Type.Object({ type: Type.Literal('none') }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('token'), token: Secret }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('user'), user: Type.String({ minLength: 1 }), password: Secret }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('nkey'), seed: Secret }, { additionalProperties: false, description: 'NKey seed (SU...), a value or ${file:PATH}' }),
  Type.Object({ type: Type.Literal('creds'), file: Type.String({ minLength: 1, description: 'A .creds file (JWT and NKey seed), as nsc writes it' }) }, { additionalProperties: false }),
]);
export type NatsAuth = Static<typeof NatsAuth>;

const connection = {
  servers: Type.Array(Type.String({ pattern: '^(nats|tls)://', description: 'nats://host:4222' }), { minItems: 1 }),
  stream: Type.String({ minLength: 1, pattern: '^[^.*> ]+$', description: 'The stream holding the fleet\'s events (it must exist: plantsync never creates or changes it)' }),
  auth: Type.Optional(NatsAuth),
  tls: Type.Optional(TlsOptions),
  partitions: Type.Integer({
    minimum: 1,
    maximum: 4096,
    default: 16,
    description: 'How many partitions the ordering keys are hashed into: the same number on every gateway and relay of a fleet (changing it moves keys between partitions)',
  }),
  connectTimeoutMs: Type.Integer({ minimum: 100, default: 5000 }),
};

export const JetStreamSinkConfig = Type.Object(
  {
    type: Type.Literal('jetstream'),
    ...connection,
    subject: Type.String({
      minLength: 1,
      default: 'plantsync.{{plant}}.{{line}}.{{type}}.{{partition}}',
      description: 'Subject per event: {{plant}}, {{line}} ("-" when the event has none), {{type}}, {{partition}} (of its ordering key), {{source}}; a value\'s dots and spaces become "_"',
    }),
    publishTimeoutMs: Type.Integer({ minimum: 100, default: 10_000, description: 'Wait for the stream\'s acknowledgement (PubAck)' }),
  },
  { additionalProperties: false },
);
export type JetStreamSinkConfig = Static<typeof JetStreamSinkConfig>;

export const JetStreamSourceConfig = Type.Object(
  {
    type: Type.Literal('jetstream'),
    ...connection,
    take: Type.Optional(
      Type.Array(Type.Integer({ minimum: 0 }), {
        minItems: 1,
        uniqueItems: true,
        description: 'The partitions this relay consumes (default: all). A partition is consumed by one relay at a time (leases); docs/fleet.md says how to move one',
      }),
    ),
    filter: Type.String({ minLength: 1, default: 'plantsync.*.*.*.{{partition}}', description: 'Subject filter of one partition, matching the gateways\' subject template' }),
    consumerPrefix: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9_-]+$', default: 'plantsync-relay', description: 'Durable consumer per partition: <prefix>-p<partition>' }),
    leaseStream: Type.String({ minLength: 1, pattern: '^[^.*> ]+$', default: 'PLANTSYNC_LEASES', description: 'Stream of partition leases (created if missing): who consumes which partition' }),
    maxBatch: Type.Integer({ minimum: 1, maximum: 10_000, default: 500, description: 'Messages fetched and committed together at most' }),
    ackWaitSec: Type.Integer({ minimum: 5, default: 60, description: 'The stream redelivers a message not acknowledged within this (after a relay crash)' }),
  },
  { additionalProperties: false },
);
export type JetStreamSourceConfig = Static<typeof JetStreamSourceConfig>;
