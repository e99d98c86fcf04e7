// A config built in code (a test, a benchmark, a CLI verb) completed the way the agent completes a config file at
// load: the schema's defaults applied, then checked, so code never repeats a default the schema declares.
import type { Static, TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { describeFirstError } from './schema-errors.ts';

/** `partial` with `schema`'s defaults in place (a copy); throws naming the first problem by its JSON path. */
export function withSchemaDefaults<S extends TSchema>(schema: S, partial: unknown, where = 'config'): Static<S> {
  const value: unknown = Value.Default(schema, structuredClone(partial));
  if (Value.Check(schema, value)) return value;
  throw new Error(`${where}: ${describeFirstError(Value.Errors(schema, value))}`);
}
