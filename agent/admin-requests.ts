// The schemas of the admin requests that change what the agent owes (dead letters, rejected records, replays,
// taking a key out of the flow). Every request is checked before anything runs: an unknown action ("lsit") or an
// unknown field is a 400 that touches nothing. A typo must never be read as "all" (it once dropped every dead letter).
import Type, { type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { AdminRequestError } from './dlq-ops.ts';
import { describeFirstError } from './schema-errors.ts';

const Text = Type.String({ minLength: 1, maxLength: 2000 });
const Time = Type.Number({ minimum: 0 });
const Limit = Type.Integer({ minimum: 1, maximum: 1_000_000 });
const Common = { reason: Type.Optional(Type.String({ maxLength: 2000 })), actor: Type.Optional(Type.String({ maxLength: 200 })), dryRun: Type.Optional(Type.Boolean()) };
const action = (names: string[]) => Type.Union(names.map((n) => Type.Literal(n)));

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

export const adminRequestSchemas: Record<string, TSchema> = {
  '/dlq': Type.Object({ action: action(['list', 'replay', 'drop']), filter: DeadFilter, ...Common }, { additionalProperties: false }),
  '/rejected': Type.Object({ action: action(['list', 'replay', 'drop']), filter: RejectedFilter, ...Common }, { additionalProperties: false }),
  '/replay': Type.Object({ sink: Text, since: Time, until: Type.Optional(Time), type: Type.Optional(Text), ...Common }, { additionalProperties: false }),
  '/keys': Type.Object({ action: action(['list', 'evict']), sink: Text, orderingKey: Type.Optional(Text), ...Common }, { additionalProperties: false }),
};

const validators = new Map(Object.entries(adminRequestSchemas).map(([path, s]) => [path, Compile(s)]));

/** Throws AdminRequestError naming the first wrong field when `body` is not a valid request for `path`. */
export function checkAdminRequest(path: string, body: unknown): void {
  const v = validators.get(path);
  if (!v) throw new AdminRequestError(`no admin operation ${path}`);
  if (!v.Check(body)) throw new AdminRequestError(`invalid ${path} request: ${describeFirstError(v.Errors(body))}`);
}
