// Test certificates made with openssl (on every machine here): a CA, a server certificate for 127.0.0.1 and a
// client certificate, for TLS tests of any adapter (ERP HTTPS with mTLS, MQTT over TLS with client certificates).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Certificates = Record<'ca' | 'serverKey' | 'serverCert' | 'clientKey' | 'clientCert', string>;

/**
 * Makes the files in `dir` and returns their paths; `name` tells CAs of separate calls apart; `serverNames` the
 * server certificate's subjectAltName (127.0.0.1 and localhost unless given).
 */
export function makeCertificates(dir: string, name = 'plantsync test CA', serverNames = 'IP:127.0.0.1,DNS:localhost'): Certificates {
  const f = (n: string) => join(dir, n);
  // node-opcua, once loaded, leaves OPENSSL_CONF set to the string "undefined", which openssl then tries to open.
  const env = { ...process.env };
  if (env.OPENSSL_CONF === 'undefined') delete env.OPENSSL_CONF;
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe', env });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', `/CN=${name}`);
  for (const [who, cn, ext] of [['server', '127.0.0.1', `subjectAltName=${serverNames}`], ['client', 'gw-01', 'extendedKeyUsage=clientAuth']] as const) {
    writeFileSync(f(`${who}.ext`), `${ext}\n`);
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`), '-subj', `/CN=${cn}`);
    ssl('x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${who}.pem`), '-days', '2', '-extfile', f(`${who}.ext`));
  }
  return { ca: f('ca.pem'), serverKey: f('server.key'), serverCert: f('server.pem'), clientKey: f('client.key'), clientCert: f('client.pem') };
}

/** A self-signed certificate for a user (an OPC UA X.509 user identity): key usage for signing, made with openssl. */
export function makeUserCertificate(dir: string, cn: string): { cert: string; key: string } {
  const env = { ...process.env };
  if (env.OPENSSL_CONF === 'undefined') delete env.OPENSSL_CONF;
  const cert = join(dir, `${cn}.pem`);
  const key = join(dir, `${cn}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`,
    '-addext', 'keyUsage=critical,digitalSignature,nonRepudiation,keyEncipherment,dataEncipherment', '-addext', 'extendedKeyUsage=clientAuth',
    '-addext', `subjectAltName=URI:urn:plantsync:user:${cn}`], { stdio: 'pipe', env });
  return { cert, key };
}
