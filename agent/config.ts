// The agent's configuration: a strict schema (unknown keys rejected, errors that name the file and JSON path),
// exportable as JSON Schema for central tooling. Each sink's settings are checked against its adapter's schema.
import { createHash } from 'node:crypto';
import Type, { type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { eventTypes } from './events.ts';
import type { Route } from '../spool/types.ts';
import { sinkAdapters, sourceAdapters } from './registry.ts';
import { describeFirstError } from './schema-errors.ts';
import { MappingRule } from './mapping/schema.ts';
import { Mapper, MappingError } from './mapping/mapper.ts';

const Backoff = Type.Object(
  {
    baseMs: Type.Optional(Type.Integer({ minimum: 1, default: 500 })),
    capMs: Type.Optional(Type.Integer({ minimum: 1, default: 60_000 })),
    maxRetryAfterMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, default: 3_600_000, description: 'Upper bound for a server-requested delay (Retry-After)' })),
  },
  { additionalProperties: false },
);

export const Delivery = Type.Object(
  {
    concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 256, default: 4, description: 'Batches in flight at once (never two for one ordering key)' })),
    maxEvents: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 500 })),
    maxBytes: Type.Optional(Type.Integer({ minimum: 1024, default: 1_048_576 })),
    lingerMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000, default: 0, description: 'New events wait up to this long to share a batch' })),
    backoff: Type.Optional(Backoff),
  },
  { additionalProperties: false },
);

const RouteSchema = Type.Object(
  {
    sink: Type.String({ minLength: 1 }),
    types: Type.Union([Type.Literal('*'), Type.Array(Type.Enum(eventTypes), { minItems: 1 })]),
    onReject: Type.Optional(Type.Union([Type.Literal('park'), Type.Literal('skip')], { default: 'park' })),
  },
  { additionalProperties: false },
);

const Objectives = Type.Object(
  {
    latencySeconds: Type.Optional(
      Type.Object(Object.fromEntries([...eventTypes, '*'].map((t) => [t, Type.Optional(Type.Number({ exclusiveMinimum: 0 }))])), {
        additionalProperties: false,
        description: 'Per event type ("*": every other type), the longest acceptable time from occurredAt to the sink acknowledging it',
      }),
    ),
    deadLetterWindowMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1440, default: 15, description: 'Dead letters that grew within this window make the agent not ready' })),
  },
  { additionalProperties: false },
);

const Base = Type.Object(
  {
    agent: Type.Object(
      {
        id: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9._-]+$', description: 'Stable id of this gateway' }),
        plant: Type.String({ minLength: 1, description: 'Plant code; namespaces every idempotency key' }),
        stateDir: Type.String({ minLength: 1, description: 'Holds spool.db (and the OPC UA PKI)' }),
        label: Type.Optional(Type.String({ description: 'Human label of this config version, e.g. a release tag' })),
      },
      { additionalProperties: false },
    ),
    spool: Type.Optional(
      Type.Object(
        {
          capBytes: Type.Optional(Type.Integer({ minimum: 1_048_576, default: 2 * 1024 ** 3 })),
          warnRatio: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.8 })),
          retentionHours: Type.Optional(Type.Number({ minimum: 0, default: 168, description: 'Keep delivered events (and their de-duplication) this long' })),
          commitWindowMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, default: 0 })),
          rejected: Type.Optional(
            Type.Object(
              {
                maxBytes: Type.Optional(Type.Integer({ minimum: 65_536, default: 64 * 1024 * 1024, description: 'Rejected records kept at most, in bytes (outside capBytes); the oldest are evicted' })),
                maxRecords: Type.Optional(Type.Integer({ minimum: 1, default: 100_000 })),
                retentionHours: Type.Optional(Type.Number({ minimum: 0, description: 'Rejected records older than this are deleted (default: retentionHours)' })),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    admin: Type.Optional(
      Type.Object(
        {
          host: Type.Optional(Type.String({ minLength: 1, default: '127.0.0.1', description: 'Address of the admin HTTP listener (/metrics, /healthz, /readyz, /status)' })),
          port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65_535, default: 9464, description: '0: any free port; the agent logs the one it got' })),
          enabled: Type.Optional(Type.Boolean({ default: true })),
        },
        { additionalProperties: false },
      ),
    ),
    sinks: Type.Record(Type.String({ pattern: '^[A-Za-z0-9._-]+$' }), Type.Object({ type: Type.String() })),
    routes: Type.Array(RouteSchema, { minItems: 1 }),
    sources: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9._-]+$' }), Type.Object({ type: Type.String() }))),
    objectives: Type.Optional(Objectives),
    readiness: Type.Optional(
      Type.Object(
        {
          breakerOpenSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, default: 300, description: 'A sink whose circuit breaker has not closed for this long makes the agent not ready' })),
          stallSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, default: 300, description: 'A sink with events waiting and nothing delivered for this long makes the agent not ready' })),
        },
        { additionalProperties: false },
      ),
    ),
    limits: Type.Optional(
      Type.Object(
        {
          maxPayloadDepth: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 64, description: 'A decoded payload nested deeper than this (objects, arrays) becomes a rejected record' })),
        },
        { additionalProperties: false },
      ),
    ),
    mappings: Type.Optional(Type.Array(MappingRule, { description: 'Rules that turn source messages into canonical events (docs/mapping.md)' })),
  },
  { additionalProperties: false },
);

export type AgentConfig = Static<typeof Base> & { sinks: Record<string, SinkConfig> };

/** The config's routes as the spool takes them. */
export function spoolRoutes(cfg: AgentConfig): Route[] {
  return cfg.routes.map((r): Route => ({ sink: r.sink, types: r.types, onReject: r.onReject ?? 'park' }));
}
export type SinkConfig = { type: string; delivery?: Static<typeof Delivery> } & Record<string, unknown>;

/** The schema of one sink entry for a given adapter: its own settings plus the shared `delivery` block. */
function sinkSchema(adapterSchema: TSchema & { properties: Record<string, TSchema> }): TSchema {
  return Type.Object({ ...adapterSchema.properties, delivery: Type.Optional(Delivery) }, { additionalProperties: false });
}

const baseValidator = Compile(Base);
const sinkValidators = new Map([...sinkAdapters].map(([t, a]) => [t, Compile(sinkSchema(a.configSchema))]));
const sourceValidators = new Map([...sourceAdapters].map(([t, a]) => [t, Compile(a.configSchema)]));

/** The whole configuration as JSON Schema (`plantsync config schema`). */
export function configJsonSchema(): unknown {
  const sinkVariants = [...sinkAdapters.values()].map((a) => sinkSchema(a.configSchema));
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'plantsync configuration',
    ...Base,
    properties: {
      ...Base.properties,
      sinks: { type: 'object', additionalProperties: { anyOf: sinkVariants } },
      sources: { type: 'object', additionalProperties: { anyOf: [...sourceAdapters.values()].map((a) => a.configSchema) } },
    },
  };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface LoadedConfig {
  config: AgentConfig;
  /** Content hash, plus the label when set: stamped on every event as mappingVersion. */
  version: string;
}

/**
 * The JSON pointer of the first key named __proto__, constructor or prototype, if any. Such a key in a config file
 * once passed validation, was hidden by `config show`, polluted Object.prototype in the merge and crashed the agent.
 */
export function forbiddenKey(value: unknown): string | undefined {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length) {
    const [v, at] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    for (const [k, child] of Object.entries(v)) {
      const ptr = `${at}/${k}`;
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') return ptr;
      stack.push([child, ptr]);
    }
  }
  return undefined;
}

export function parseConfig(text: string, where: string): LoadedConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${where}: not valid JSON: ${(err as Error).message}`);
  }
  const bad = forbiddenKey(raw);
  if (bad) throw new ConfigError(`${where}: ${bad}: a key named '${bad.split('/').at(-1)}' is not allowed (config is data, never object internals)`);
  const config = validateConfig(raw, where);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
  return { config, version: config.agent.label ? `${config.agent.label}+${hash}` : hash };
}

/**
 * Checks a parsed config. `where` names the file in errors; for a config merged from several files it is a
 * function from the offending JSON pointer to the file that set it.
 */
export function validateConfig(raw: unknown, where: string | ((pointer: string) => string)): AgentConfig {
  // `detail` is "<JSON pointer>: <reason>", as every message below and describeFirstError make it.
  const fail = (detail: string): never => {
    const file = typeof where === 'string' ? where : where(detail.slice(0, detail.indexOf(':')));
    throw new ConfigError(`${file}: ${detail}`);
  };
  if (!baseValidator.Check(raw)) fail(describeFirstError(baseValidator.Errors(raw)));
  const cfg = raw as AgentConfig;
  for (const [name, sink] of Object.entries(cfg.sinks)) {
    const v = sinkValidators.get(sink.type);
    if (!v) fail(`/sinks/${name}/type: unknown sink type '${sink.type}' (known: ${[...sinkAdapters.keys()].join(', ')})`);
    else if (!v.Check(sink)) fail(describeFirstError(v.Errors(sink), `/sinks/${name}`));
  }
  for (const [name, source] of Object.entries(cfg.sources ?? {})) {
    const v = sourceValidators.get(source.type);
    if (!v) fail(`/sources/${name}/type: unknown source type '${source.type}' (known: ${[...sourceAdapters.keys()].join(', ')})`);
    else if (!v.Check(source)) fail(describeFirstError(v.Errors(source), `/sources/${name}`));
    const [problem] = sourceAdapters.get(source.type)!.check?.(source as never) ?? [];
    if (problem) fail(`/sources/${name}${problem}`);
  }
  cfg.routes.forEach((r, i) => {
    if (!cfg.sinks[r.sink]) fail(`/routes/${i}/sink: no sink named '${r.sink}' in /sinks`);
  });
  try {
    new Mapper(cfg.mappings ?? [], { plant: cfg.agent.plant }); // expressions, templates and patterns compile now
  } catch (err) {
    if (err instanceof MappingError) fail(err.message);
    throw err;
  }
  return cfg;
}
