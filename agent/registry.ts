// The static list of adapters this build knows. Config validation and `config schema` are derived from it.
// Each adapter is held behind its own schema's check: the agent hands it a config only as the type its schema
// declares, checked here, so nothing casts a config to an adapter's type.
import type { Static, TObject } from 'typebox';
import { Compile } from 'typebox/compile';
import type { SinkAdapter, SinkContext, SourceAdapter } from './adapter.ts';
import type { Sink } from './sink.ts';
import type { Source } from './source.ts';
import { once } from './once.ts';
import { describeFirstError } from './schema-errors.ts';
import { mqttAdapter } from '../adapters/mqtt/index.ts';
import { memoryAdapter } from '../adapters/memory/index.ts';
import { erpHttpAdapter } from '../adapters/erp-http/index.ts';
import { jetStreamSinkAdapter, jetStreamSourceAdapter } from '../adapters/jetstream/index.ts';
import { opcuaAdapter } from '../adapters/opcua/index.ts';
import { sapODataAdapter } from '../adapters/sap-odata/index.ts';

/**
 * What the agent holds of an adapter: its schema, and functions that take a config only once the schema checked it.
 * Importing the registry loads schemas only; an adapter's implementation is imported when one is created.
 */
export interface Registered<Made, Ctx = undefined> {
  type: string;
  description: string;
  configSchema: TObject;
  /** Problems beyond the schema ("/json/path: reason"); none when the adapter has no such check. */
  check(raw: unknown): string[];
  /** Settings that work but weaken security ("/json/path: reason"). */
  warnings(raw: unknown): string[];
  /** Imports the adapter's implementation on first use, then makes one. */
  create(name: string, raw: unknown, ctx: Ctx): Promise<Made>;
}

/** A sink entry also holds the shared `delivery` block, which is the dispatcher's, not the adapter's. */
function ownSettings(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || !('delivery' in raw)) return raw;
  const { delivery: _delivery, ...own } = raw as Record<string, unknown>;
  return own;
}

/** The adapter's config, typed by its schema: checked here, so an adapter never sees a config its schema refuses. */
function typedBy<S extends TObject>(schema: S, type: string): (raw: unknown, name: string) => Static<S> {
  const validator = once(() => Compile(schema));
  return (raw, name) => {
    const own = ownSettings(raw);
    if (validator().Check(own)) return own;
    throw new Error(`${name}: config does not match the ${type} schema: ${describeFirstError(validator().Errors(own))}`);
  };
}

function holdSink<S extends TObject>(a: SinkAdapter<S>): Registered<Sink, SinkContext> {
  const typed = typedBy(a.configSchema, a.type);
  return {
    type: a.type,
    description: a.description,
    configSchema: a.configSchema,
    check: () => [],
    warnings: (raw) => a.warnings?.(typed(raw, a.type)) ?? [],
    create: (name, raw, ctx) => a.createSink(name, typed(raw, name), ctx),
  };
}

function holdSource<S extends TObject>(a: SourceAdapter<S>): Registered<Source> {
  const typed = typedBy(a.configSchema, a.type);
  return {
    type: a.type,
    description: a.description,
    configSchema: a.configSchema,
    check: (raw) => a.check?.(typed(raw, a.type)) ?? [],
    warnings: (raw) => a.warnings?.(typed(raw, a.type)) ?? [],
    create: (name, raw) => a.createSource(name, typed(raw, name)),
  };
}

export const sinkAdapters: ReadonlyMap<string, Registered<Sink, SinkContext>> = new Map([holdSink(memoryAdapter), holdSink(erpHttpAdapter), holdSink(sapODataAdapter), holdSink(jetStreamSinkAdapter)].map((a) => [a.type, a]));

export const sourceAdapters: ReadonlyMap<string, Registered<Source>> = new Map([holdSource(mqttAdapter), holdSource(opcuaAdapter), holdSource(jetStreamSourceAdapter)].map((a) => [a.type, a]));
