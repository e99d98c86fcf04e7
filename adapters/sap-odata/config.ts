// Config schema of the SAP S/4HANA OData v2 sink. Routes say which SAP entity each canonical event type becomes;
// entities.ts has the defaults (confirmations, goods issue 261, goods receipt 101, scrap 551), which a route in the
// config replaces field by field.
import Type, { type Static } from 'typebox';
import { HttpAuth, TlsOptions } from '../../agent/kit-schemas.ts';

export const SapRoute = Type.Object(
  {
    service: Type.String({ minLength: 1, description: 'OData service, e.g. API_PROD_ORDER_CONFIRMATION_2_SRV' }),
    entitySet: Type.String({ minLength: 1, description: 'Entity set the event is created in, e.g. ProdnOrdConf2' }),
    body: Type.Record(Type.String(), Type.Unknown(), { description: 'JSON body template (docs/mapping.md templates, filters sapDate, flag, string)' }),
    /** The unknown-outcome check: our reference written into the document, and how to find it again. */
    reference: Type.Object(
      {
        field: Type.String({ minLength: 1, description: 'A text or reference field of the entity that carries our reference, e.g. ConfirmationText' }),
        value: Type.String({ minLength: 1, description: 'Template of the reference (at most the field\'s length), e.g. "PS {{id}}"' }),
      },
      { additionalProperties: false },
    ),
    /** Fields of the created entity that make the SAP document number, joined with '/'. */
    receipt: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  },
  { additionalProperties: false },
);
export type SapRoute = Static<typeof SapRoute>;

export const SapODataSinkConfig = Type.Object(
  {
    type: Type.Literal('sap-odata'),
    url: Type.String({ minLength: 1, description: 'The system, e.g. https://s4.example.com:44300 (services under /sap/opu/odata/sap/)' }),
    servicePath: Type.String({ default: '/sap/opu/odata/sap/', description: 'Where the OData v2 services live' }),
    client: Type.Optional(Type.String({ pattern: '^[0-9]{3}$', description: 'SAP client (sap-client), e.g. "100"' })),
    language: Type.String({ minLength: 1, maxLength: 2, default: 'EN', description: 'sap-language of messages in answers' }),
    auth: Type.Optional(HttpAuth),
    tls: Type.Optional(TlsOptions),
    timeoutMs: Type.Integer({ minimum: 100, default: 60_000, description: 'Whole request, headers and body' }),
    connectTimeoutMs: Type.Integer({ minimum: 100, default: 10_000 }),
    connections: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
    maxResponseBytes: Type.Integer({ minimum: 1024, default: 16 * 1024 * 1024 }),
    routes: Type.Record(Type.String(), Type.Partial(SapRoute), { default: {}, description: 'Per event type, over the defaults of entities.ts' }),
    requestId: Type.Boolean({ default: false, description: 'Send SAP RequestID / RepeatabilityCreation (only where the administrator enabled idempotent services)' }),
    lookup: Type.Boolean({ default: true, description: 'Before an event whose outcome is unknown goes again, look it up by its reference (off only where RequestID de-duplication covers every case)' }),
    errors: Type.Object(
      {
        transient: Type.Array(Type.String({ minLength: 1 }), {
          default: ['M3/897', 'M7/053'],
          description: 'SAP message codes (class/number) that mean "try again later" (M3/897 material locked by a user, M7/053 posting period)',
        }),
        transientText: Type.Array(Type.String({ minLength: 1 }), {
          default: ['locked', 'gesperrt', 'currently being processed', 'wird gerade bearbeitet'],
          description: 'Message texts (case-insensitive parts) that mean an enqueue lock held by someone else: try again later',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    protect: Type.Object(
      {
        breakerFailures: Type.Integer({ minimum: 1, default: 5 }),
        breakerOpenMs: Type.Integer({ minimum: 10, default: 5_000 }),
        breakerMaxOpenMs: Type.Integer({ minimum: 10, default: 120_000 }),
        maxRequestsPerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
      },
      { default: {}, additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
/** The sink's settings with the schema's defaults in place (the agent applies them at load). */
export type SapODataSinkConfig = Static<typeof SapODataSinkConfig>;
