// TLS settings of a client connection (to a broker, an ERP, a JetStream server): one schema and one reading of it
// for every adapter, so they all name the same keys and resolve the key's passphrase the same way.
import { readFileSync } from 'node:fs';
import Type, { type Static } from 'typebox';
import { resolveSecret } from './secrets.ts';

export const TlsOptions = Type.Object(
  {
    ca: Type.Optional(Type.String({ description: 'PEM file of the CA certificate(s) to trust (that signed the server certificate)' })),
    cert: Type.Optional(Type.String({ description: 'PEM file of the client certificate (mutual TLS)' })),
    key: Type.Optional(Type.String({ description: 'PEM file of the client key' })),
    passphrase: Type.Optional(Type.String({ minLength: 1, description: 'Of an encrypted key: a value, or ${env:NAME} / ${file:PATH}' })),
    rejectUnauthorized: Type.Optional(Type.Boolean({ default: true, description: 'false turns certificate verification off (warned about)' })),
  },
  { additionalProperties: false },
);
export type TlsOptions = Static<typeof TlsOptions>;

/**
 * Node's TLS client options for these settings: files read, the passphrase resolved (`where` names the setting in
 * errors, e.g. "sinks.erp.tls"), verification on unless turned off.
 */
export function tlsClientOptions(tls: TlsOptions | undefined, where: string): { ca?: Buffer; cert?: Buffer; key?: Buffer; passphrase?: string; rejectUnauthorized: boolean } {
  const t = tls ?? {};
  const file = (p: string | undefined) => (p ? readFileSync(p) : undefined);
  const ca = file(t.ca);
  const cert = file(t.cert);
  const key = file(t.key);
  return {
    ...(ca && { ca }),
    ...(cert && { cert }),
    ...(key && { key }),
    ...(t.passphrase && { passphrase: resolveSecret(t.passphrase, `${where}.passphrase`) }),
    rejectUnauthorized: t.rejectUnauthorized ?? true,
  };
}
