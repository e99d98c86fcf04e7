// The schemas of the admin requests that change what the agent owes (dead letters, rejected records, replays,
// taking a key out of the flow). Every request is checked before anything runs: an unknown action ("lsit") or an
// unknown field is a 400 that touches nothing. A typo must never be read as "all" (it once dropped every dead letter).
import Type, { type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { AdminRequestError } from './dlq-ops.ts';
import { describeFirstError } from './schema-errors.ts';

const Text = Type.String({ minLength: 1, maxLength: 2000 });
const Time = Type.Number({ minimum: 0 });
const Limit = Type.Integer({ minimum: 1, maximum: 1_000_000 });
const Common = { reason: Type.Optional(Type.String({ maxLength: 2000 })), actor: Type.Optional(Type.String({ maxLength: 200 })), dryRun: Type.Optional(Type.Boolean()) };

const DeadFilter = Type.Object(
  {
    sink: Type.Optional(Text),
    type: Type.Optional(Text),
    orderingKey: Type.Optional(Text),
    since: Type.Optional(Time),
    until: Type.Optional(Time),
    errorContains: Type.Optional(Text),
    seq: Type.Optional(Type.Integer({ minimum: 1 })),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
);

const RejectedFilter = Type.Object(
  {
    source: Type.Optional(Text),
    since: Type.Optional(Time),
    until: Type.Optional(Time),
    errorContains: Type.Optional(Text),
    id: Type.Optional(Type.Integer({ minimum: 1 })),
    afterId: Type.Optional(Type.Integer({ minimum: 0 })),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
);

const ListReplayDrop = Type.Union([Type.Literal('list'), Type.Literal('replay'), Type.Literal('drop')]);

export const DlqRequestSchema = Type.Object({ action: ListReplayDrop, filter: DeadFilter, ...Common }, { additionalProperties: false });
export const RejectedRequestSchema = Type.Object({ action: ListReplayDrop, filter: RejectedFilter, ...Common }, { additionalProperties: false });
export const ReplayRequestSchema = Type.Object({ sink: Text, since: Time, until: Type.Optional(Time), type: Type.Optional(Text), ...Common }, { additionalProperties: false });
export const KeysRequestSchema = Type.Object({ action: Type.Union([Type.Literal('list'), Type.Literal('evict')]), sink: Text, orderingKey: Type.Optional(Text), ...Common }, { additionalProperties: false });

export const AuditRequestSchema = Type.Object(
  { since: Type.Optional(Time), until: Type.Optional(Time), action: Type.Optional(Text), actor: Type.Optional(Text), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })) },
  { additionalProperties: false },
);
export type AuditRequest = Static<typeof AuditRequestSchema>;
export const ReportRequestSchema = Type.Object({ since: Time, until: Type.Optional(Time) }, { additionalProperties: false });
export const adminRequestSchemas: Record<string, TSchema> = { '/dlq': DlqRequestSchema, '/rejected': RejectedRequestSchema, '/replay': ReplayRequestSchema, '/keys': KeysRequestSchema, '/audit': AuditRequestSchema, '/report': ReportRequestSchema };

/**
 * A checker for one request shape: the request typed by its schema, or AdminRequestError naming the first wrong
 * field (before anything runs: a typo is a 400 that touches nothing).
 */
export function requestParser<S extends TSchema>(path: string, schema: S): (body: unknown) => Static<S> {
  const v = Compile(schema);
  return (body) => {
    if (v.Check(body)) return body;
    throw new AdminRequestError(`invalid ${path} request: ${describeFirstError(v.Errors(body))}`);
  };
}
