// The agent's configuration: a strict schema (unknown keys rejected, errors that name the file and JSON path),
// exportable as JSON Schema for central tooling. Each sink's settings are checked against its adapter's schema.
import { createHash } from 'node:crypto';
import Type, { type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { eventTypes } from './events.ts';
import { defaultBackoff } from './backoff.ts';
import type { Route } from '../spool/types.ts';
import { sinkAdapters, sourceAdapters } from './registry.ts';
import { describeFirstError } from './schema-errors.ts';
import { once } from './once.ts';
import { MappingRule } from './mapping/schema.ts';
import { Mapper, MappingError } from './mapping/mapper.ts';

const Backoff = Type.Object(
  {
    baseMs: Type.Integer({ minimum: 1, default: defaultBackoff.baseMs }),
    capMs: Type.Integer({ minimum: 1, default: defaultBackoff.capMs }),
    maxRetryAfterMs: Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, default: defaultBackoff.maxRetryAfterMs, description: 'Upper bound for a server-requested delay (Retry-After)' }),
  },
  { default: {}, additionalProperties: false },
);

export const Delivery = Type.Object(
  {
    concurrency: Type.Integer({ minimum: 1, maximum: 256, default: 4, description: 'Batches in flight at once (never two for one ordering key)' }),
    maxEvents: Type.Integer({ minimum: 1, maximum: 100_000, default: 500 }),
    maxBytes: Type.Integer({ minimum: 1024, default: 1_048_576 }),
    lingerMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 0, description: 'New events wait up to this long to share a batch' }),
    backoff: Backoff,
  },
  { default: {}, additionalProperties: false },
);

const RouteSchema = Type.Object(
  {
    sink: Type.String({ minLength: 1 }),
    types: Type.Union([Type.Literal('*'), Type.Array(Type.Enum(eventTypes), { minItems: 1 })]),
    onReject: Type.Union([Type.Literal('park'), Type.Literal('skip')], { default: 'park' }),
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
    deadLetterWindowMinutes: Type.Integer({ minimum: 1, maximum: 1440, default: 15, description: 'Dead letters that grew within this window make the agent not ready' }),
  },
  { default: {}, additionalProperties: false },
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
    spool: Type.Object(
      {
        capBytes: Type.Integer({ minimum: 1_048_576, default: 2 * 1024 ** 3 }),
        warnRatio: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.8 }),
        retentionHours: Type.Number({ minimum: 0, default: 168, description: 'Keep delivered events (and their de-duplication) this long' }),
        commitWindowMs: Type.Integer({ minimum: 0, maximum: 100, default: 0 }),
        historyDays: Type.Integer({ minimum: 1, maximum: 3660, default: 400, description: 'Keep the hourly history (plantsync report, the status page) this many days; minute figures are kept 48 hours' }),
        rejected: Type.Object(
          {
            maxBytes: Type.Integer({ minimum: 65_536, default: 64 * 1024 * 1024, description: 'Rejected records kept at most, in bytes (outside capBytes); the oldest are evicted' }),
            maxRecords: Type.Integer({ minimum: 1, default: 100_000 }),
            retentionHours: Type.Optional(Type.Number({ minimum: 0, description: 'Rejected records older than this are deleted (default: retentionHours)' })),
          },
          { default: {}, additionalProperties: false },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    admin: Type.Object(
      {
        host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Address of the admin HTTP listener (/metrics, /healthz, /readyz, /status)' }),
        port: Type.Integer({ minimum: 0, maximum: 65_535, default: 9464, description: '0: any free port; the agent logs the one it got' }),
        enabled: Type.Boolean({ default: true }),
      },
      { default: {}, additionalProperties: false },
    ),
    sinks: Type.Record(Type.String({ pattern: '^[A-Za-z0-9._-]+$' }), Type.Object({ type: Type.String() })),
    routes: Type.Array(RouteSchema, { minItems: 1 }),
    sources: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9._-]+$' }), Type.Object({ type: Type.String() }))),
    objectives: Objectives,
    readiness: Type.Object(
      {
        breakerOpenSeconds: Type.Number({ exclusiveMinimum: 0, default: 300, description: 'A sink whose circuit breaker has not closed for this long makes the agent not ready' }),
        stallSeconds: Type.Number({ exclusiveMinimum: 0, default: 300, description: 'A sink with events waiting and nothing delivered for this long makes the agent not ready' }),
      },
      { default: {}, additionalProperties: false },
    ),
    limits: Type.Object(
      {
        maxPayloadDepth: Type.Integer({ minimum: 1, maximum: 1000, default: 64, description: 'A decoded payload nested deeper than this (objects, arrays) becomes a rejected record' }),
      },
      { default: {}, additionalProperties: false },
    ),
    mappings: Type.Optional(Type.Array(MappingRule, { description: 'Rules that turn source messages into canonical events (docs/mapping.md)' })),
  },
  { additionalProperties: false },
);

/**
 * The configuration as the agent runs on it: every schema default in place (withDefaults), so no code repeats a
 * default. Fields with a default are required here and optional in a file (the exported JSON Schema says so).
 */
export type AgentConfig = Static<typeof Base> & { sinks: Record<string, SinkConfig> };

/**
 * A config as someone writes it (a test, the demo, a file before load): what has a default may be left out. The
 * agent runs on withDefaults() of it.
 */
export type ConfigInput = Pick<AgentConfig, 'agent' | 'sources' | 'mappings'> & {
  spool?: Partial<Omit<AgentConfig['spool'], 'rejected'>> & { rejected?: Partial<AgentConfig['spool']['rejected']> };
  admin?: Partial<AgentConfig['admin']>;
  objectives?: Partial<AgentConfig['objectives']>;
  readiness?: Partial<AgentConfig['readiness']>;
  limits?: Partial<AgentConfig['limits']>;
  routes: (Omit<AgentConfig['routes'][number], 'onReject'> & { onReject?: 'park' | 'skip' })[];
  sinks: Record<string, { type: string } & Record<string, unknown>>;
};

/** The config's routes as the spool takes them. */
export function spoolRoutes(cfg: AgentConfig): Route[] {
  return cfg.routes.map((r): Route => ({ sink: r.sink, types: r.types, onReject: r.onReject }));
}
/** A sink's entry: its adapter's settings (typed by the adapter, checked against its schema) and the shared delivery. */
export type SinkConfig = { type: string; delivery: Static<typeof Delivery> } & Record<string, unknown>;
export type SourceConfig = { type: string } & Record<string, unknown>;

/** The schema of one sink entry for a given adapter: its own settings plus the shared `delivery` block. */
function sinkSchema(adapterSchema: TSchema & { properties: Record<string, TSchema> }): TSchema {
  return Type.Object({ ...adapterSchema.properties, delivery: Delivery }, { additionalProperties: false });
}

/**
 * A copy of the config with every schema default applied: the agent's own settings, each sink's (delivery
 * included) and each source's, by its adapter's schema. Whoever builds a config (a file, a test, the demo), the
 * agent runs on the same complete values. Unknown adapter types are left as they are (validation names them).
 */
export function withDefaults(raw: ConfigInput | unknown): AgentConfig {
  const cfg = Value.Default(Base, structuredClone(raw)) as AgentConfig;
  if (cfg === null || typeof cfg !== 'object') return cfg;
  for (const [name, sink] of Object.entries(cfg.sinks ?? {})) {
    const a = sinkAdapters.get(sink?.type);
    if (a) cfg.sinks[name] = Value.Default(sinkSchema(a.configSchema), sink) as SinkConfig;
  }
  for (const [name, source] of Object.entries(cfg.sources ?? {})) {
    const a = sourceAdapters.get(source?.type);
    if (a) cfg.sources![name] = Value.Default(a.configSchema, source) as SourceConfig;
  }
  return cfg;
}

/** JSON Schema for config files: a property with a default may be left out, so it is not listed as required. */
function defaultedOptional(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(defaultedOptional);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = defaultedOptional(v);
  const props = out.properties as Record<string, { default?: unknown }> | undefined;
  if (Array.isArray(out.required) && props) {
    const left = (out.required as string[]).filter((k) => props[k]?.default === undefined);
    if (left.length) out.required = left;
    else delete out.required;
  }
  return out;
}

const baseValidator = once(() => Compile(Base));
const sinkValidators = new Map([...sinkAdapters].map(([t, a]) => [t, once(() => Compile(sinkSchema(a.configSchema)))]));
const sourceValidators = new Map([...sourceAdapters].map(([t, a]) => [t, once(() => Compile(a.configSchema))]));

/** The whole configuration as JSON Schema (`plantsync config schema`). */
export function configJsonSchema(): unknown {
  const sinkVariants = [...sinkAdapters.values()].map((a) => sinkSchema(a.configSchema));
  return defaultedOptional({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'plantsync configuration',
    ...Base,
    properties: {
      ...Base.properties,
      sinks: { type: 'object', additionalProperties: { anyOf: sinkVariants } },
      sources: { type: 'object', additionalProperties: { anyOf: [...sourceAdapters.values()].map((a) => a.configSchema) } },
    },
  });
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
  const cfg = withDefaults(raw);
  if (!baseValidator().Check(cfg)) fail(describeFirstError(baseValidator().Errors(cfg)));
  for (const [name, sink] of Object.entries(cfg.sinks)) {
    const v = sinkValidators.get(sink.type)?.();
    if (!v) fail(`/sinks/${name}/type: unknown sink type '${sink.type}' (known: ${[...sinkAdapters.keys()].join(', ')})`);
    else if (!v.Check(sink)) fail(describeFirstError(v.Errors(sink), `/sinks/${name}`));
  }
  for (const [name, source] of Object.entries(cfg.sources ?? {})) {
    const v = sourceValidators.get(source.type)?.();
    if (!v) fail(`/sources/${name}/type: unknown source type '${source.type}' (known: ${[...sourceAdapters.keys()].join(', ')})`);
    else if (!v.Check(source)) fail(describeFirstError(v.Errors(source), `/sources/${name}`));
    const [problem] = sourceAdapters.get(source.type)!.check(source);
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
