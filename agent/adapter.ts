// What an adapter folder exports to the registry. Adding an adapter: copy a sibling folder under adapters/, change
// its config schema and source or sink, and list it in agent/registry.ts (docs/ADDING-AN-ADAPTER.md).
import type { TObject } from 'typebox';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import type { Sink } from './sink.ts';
import type { Source } from './source.ts';

export interface SinkContext {
  log: Logger;
  stateDir: string;
  metrics: Metrics;
}

export interface SourceAdapter<C = unknown> {
  type: string;
  description: string;
  configSchema: TObject;
  /** Checks the schema cannot express (references between fields); returns problems as "/json/path: reason". */
  check?(config: C): string[];
  /** Settings that work but weaken security (TLS verification off, a password in clear): "/json/path: reason". */
  warnings?(config: C): string[];
  createSource(name: string, config: C): Source;
}

export interface SinkAdapter<C = unknown> {
  type: string;
  description: string;
  /** Strict schema of the adapter's own settings (its `type` literal included). */
  configSchema: TObject;
  /** Settings that work but weaken security (TLS verification off, a password in clear): "/json/path: reason". */
  warnings?(config: C): string[];
  createSink(name: string, config: C, ctx: SinkContext): Sink;
}
