// The adapter kit: everything an adapter (source or sink) may use from the agent, in one place. Adapters import this
// file, their own folder and their protocol library, nothing else of ours (`npm run lint` enforces it), so the agent
// can change its insides without touching them, and a new adapter starts from a short, stable list.
//
// - contracts: what a source or sink is and what it exchanges with the agent
// - secrets: ${env:...} / ${file:...} references, resolved where a component starts
// - backoff: the one retry delay (capped exponential, full jitter) for sinks, reconnects and commit retries
// - pacing: circuit breaker, adaptive concurrency and a rate cap for a remote side that must not be flooded
// - paths and templates: the path reader (answers) and the one template engine (URLs, bodies), as mappings use
// - payloads: exact JSON parsing (integers beyond 2^53 stay exact)
// - redaction: credentials cut out of any text that leaves the agent
// - TLS: one schema for a client connection's TLS settings and one reading of it
// - config: a config built in code completed with its schema's defaults, as the agent does at load; where in the
//   state directory an adapter keeps its certificates
// - HTTP: a request's deadline, a bounded answer, Retry-After, excerpts, what a failure without an answer means;
//   auth (its schema; bearer, basic, API key, OAuth2 client credentials) with secrets resolved and checked
export type { SinkAdapter, SourceAdapter, SinkContext } from './adapter.ts';
export type { Batch, ClaimedEvent, ItemResult, Outcome, Sink, SinkHealth } from './sink.ts';
export { outcomeOf, sequencedJson } from './sink.ts';
export type { CanonicalInput, IngestResult, Source, SourceContext, SourceMessage, SourceStatus } from './source.ts';
export type { EventDraft } from './events.ts';
export type { Logger } from './log.ts';
export { Metrics } from './metrics.ts';
export { resolveSecret } from './secrets.ts';
export { commitRetryPause, defaultBackoff, MAX_TIMER_MS, reconnectDelay, retryDelay, type BackoffPolicy } from './backoff.ts';
export { Pacing, type BreakerState, type PacingOptions } from './pacing.ts';
export { compilePath, type Getter } from './mapping/expr.ts';
export { compileJsonTemplate, compileTemplate, type Expr, type Scope } from './template.ts';
export { parseJsonExact } from './payload.ts';
export { CREDENTIAL_HEADER, redactUrls, scrub } from './redact.ts';
export { TlsOptions, tlsClientOptions } from './tls.ts';
export { withSchemaDefaults } from './schema-defaults.ts';
export { pkiDir } from './state-paths.ts';
export { EXCERPT_BYTES, excerpt, networkFailure, parseRetryAfter, readBounded, requestDeadline } from './http.ts';
export { openAuth, type Auth, type AuthConfig } from './http-auth.ts';
export { HttpAuth, Secret } from './kit-schemas.ts';
