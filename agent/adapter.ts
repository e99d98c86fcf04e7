// What an adapter folder exports to the registry. Adding an adapter: copy a sibling folder under adapters/, change
// its config schema and source or sink, and list it in agent/registry.ts (docs/ADDING-AN-ADAPTER.md). The adapter
// object and its schema are light (validation, `config schema`, warnings); its source or sink is imported only when
// one is created, so node-opcua is loaded by an agent that reads OPC UA, and by no CLI verb that does not.
import type { Static, TObject } from 'typebox';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import type { Sink } from './sink.ts';
import type { Source } from './source.ts';

export interface SinkContext {
  log: Logger;
  stateDir: string;
  metrics: Metrics;
}

/** A source adapter; its functions take the config typed by its own schema (S), with the schema's defaults applied. */
export interface SourceAdapter<S extends TObject = TObject, C = Static<S>> {
  type: string;
  description: string;
  configSchema: S;
  /** Checks the schema cannot express (references between fields); returns problems as "/json/path: reason". */
  check?(config: C): string[];
  /** Settings that work but weaken security (TLS verification off, a password in clear): "/json/path: reason". */
  warnings?(config: C): string[];
  /** Loads the source's implementation (and its protocol library) only now: a config without it never pays for it. */
  createSource(name: string, config: C): Promise<Source>;
}

/** A sink adapter; its functions take the config typed by its own schema (S), with the schema's defaults applied. */
export interface SinkAdapter<S extends TObject = TObject, C = Static<S>> {
  type: string;
  description: string;
  /** Strict schema of the adapter's own settings (its `type` literal included). */
  configSchema: S;
  /** Settings that work but weaken security (TLS verification off, a password in clear): "/json/path: reason". */
  warnings?(config: C): string[];
  /** Loads the sink's implementation (and its protocol library) only now: a config without it never pays for it. */
  createSink(name: string, config: C, ctx: SinkContext): Promise<Sink>;
}
