// The schemas an adapter's config.ts builds on, apart from the rest of the kit: a CLI verb that only validates a
// config (status, config validate, dlq) loads these and typebox, not the kit's runtime (metrics, pacing, HTTP).
// Adapters import this file or agent/adapter-kit.ts, which re-exports it (lint: adapters-use-the-kit).
import Type from 'typebox';

export { TlsOptions } from './tls.ts';

export const Secret = Type.String({ minLength: 1, description: 'A value, or ${env:NAME} / ${file:PATH} (resolved when the sink starts; never logged)' });

export const HttpAuth = Type.Union([
  Type.Object({ type: Type.Literal('none') }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('bearer'), token: Secret }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('basic'), user: Type.String({ minLength: 1 }), password: Secret }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('apiKey'), header: Type.String({ minLength: 1 }), value: Secret }, { additionalProperties: false }),
  Type.Object(
    {
      type: Type.Literal('oauth2'),
      tokenUrl: Type.String({ minLength: 1 }),
      clientId: Type.String({ minLength: 1 }),
      clientSecret: Secret,
      scope: Type.Optional(Type.String()),
      audience: Type.Optional(Type.String()),
      refreshBeforeSec: Type.Optional(Type.Integer({ minimum: 0, default: 60, description: 'Refresh the token this long before it expires' })),
    },
    { additionalProperties: false },
  ),
]);
