// Config schema of the ERP HTTP sink.
import Type, { type Static } from 'typebox';
import { HttpAuth, Secret, TlsOptions } from '../../agent/kit-schemas.ts';

const Route = Type.Object(
  {
    method: Type.Optional(Type.Union(['POST', 'PUT', 'PATCH'].map((m) => Type.Literal(m)), { default: 'POST' })),
    url: Type.String({ minLength: 1, description: 'URL or path (joined to `url`), with {{field}} placeholders' }),
    body: Type.Record(Type.String(), Type.Unknown(), { description: 'JSON body template: "{{payload.order}}" keeps the value\'s type; "{{x | string}}" converts' }),
  },
  { additionalProperties: false },
);

export const ErpHttpSinkConfig = Type.Object(
  {
    type: Type.Literal('erp-http'),
    url: Type.String({ minLength: 1, description: 'Batch endpoint (mode batch), or the base URL for route paths' }),
    mode: Type.Union([Type.Literal('batch'), Type.Literal('routes')], { default: 'batch' }),
    keyOrderInBatch: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Mode batch: true only if the receiver books a request\'s events of one ordering key in order and stops at the key\'s first failure (or books them atomically); then one request may carry several events of a key. Default: at most one per key',
      }),
    ),
    routes: Type.Optional(Type.Record(Type.String(), Route, { description: 'Per event type (mode routes)' })),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    csrf: Type.Optional(
      Type.Object(
        { fetchUrl: Type.String({ minLength: 1, description: 'URL or path fetched with "x-csrf-token: Fetch" (SAP Gateway OData services)' }) },
        { additionalProperties: false },
      ),
    ),
    auth: Type.Optional(HttpAuth),
    tls: Type.Optional(TlsOptions),
    timeoutMs: Type.Integer({ minimum: 100, default: 30_000, description: 'Whole request, headers and body' }),
    connectTimeoutMs: Type.Integer({ minimum: 100, default: 10_000 }),
    connections: Type.Integer({ minimum: 1, maximum: 256, default: 8, description: 'Keep-alive connections to the ERP' }),
    maxResponseBytes: Type.Integer({ minimum: 1024, default: 1_048_576 }),
    response: Type.Object(
      {
        itemsPath: Type.Optional(Type.String({ description: 'Array of per-event results in the answer (e.g. "results")' })),
        itemKeyPath: Type.String({ default: 'idempotencyKey', description: 'The event\'s idempotency key in each result: results are matched to events by it' }),
        matchItemsBy: Type.Union([Type.Literal('key'), Type.Literal('position')], { default: 'key', description: 'position: results in request order (only for an ERP that echoes no key)' }),
        contentType: Type.String({ default: 'application/json', description: 'A 2xx answer with a body of another content type (an HTML login page from a proxy) is retried, never believed; "" accepts any' }),
        itemStatusPath: Type.Optional(Type.String({ description: 'HTTP-like status per item (e.g. "status")' })),
        itemErrorPath: Type.Optional(Type.String({ description: 'Error text per item; present means rejected unless the status says otherwise' })),
        receiptPath: Type.Optional(Type.String({ description: 'ERP document number: per item with itemsPath, else in the whole answer (e.g. "d.ConfirmationGroup")' })),
        duplicateStatus: Type.Array(Type.Integer(), { default: [409] }),
        duplicateBodyMatch: Type.Optional(Type.String({ description: 'Text in a 4xx answer meaning "already posted": counted as delivered' })),
      },
      { default: {}, additionalProperties: false },
    ),
    protect: Type.Object(
      {
        maxRequestsPerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
        breakerFailures: Type.Integer({ minimum: 1, default: 5, description: 'Consecutive failed requests that open the breaker' }),
        breakerOpenMs: Type.Integer({ minimum: 10, default: 5_000, description: 'First open period; doubles while probes fail' }),
        breakerMaxOpenMs: Type.Integer({ minimum: 10, default: 120_000 }),
        adaptiveConcurrency: Type.Boolean({ default: true, description: 'AIMD: halve concurrency on 429/503/timeouts, grow it back by one per round' }),
      },
      { default: {}, additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
/** The sink's settings with the schema's defaults in place (the agent applies them at load). */
export type ErpHttpSinkConfig = Static<typeof ErpHttpSinkConfig>;
