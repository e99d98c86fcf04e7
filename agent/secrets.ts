// ${env:NAME} and ${file:PATH} references, so secrets live in the environment or in files (credentials
// directories, mounted secrets), never in the config file itself. Resolved when a component starts.
import { readFileSync } from 'node:fs';

const REF = /\$\{(env|file):([^}]+)\}/g;

export class SecretError extends Error {
  override readonly name = 'SecretError';
  /** Where the reference is: a JSON pointer (/sinks/erp/auth/password) or a setting's name (sinks.erp.tls.passphrase). */
  readonly where: string;
  constructor(message: string, where: string) {
    super(message);
    this.where = where;
  }
}

/** Replaces every reference in a string; throws SecretError naming `where` when one cannot be resolved. */
export function resolveSecret(value: string, where: string): string {
  return value.replace(REF, (_, kind: string, ref: string) => {
    if (kind === 'env') {
      const v = process.env[ref];
      if (v === undefined) throw new SecretError(`${where}: environment variable ${ref} is not set`, where);
      return v;
    }
    try {
      return readFileSync(ref, 'utf8').trim();
    } catch (err) {
      throw new SecretError(`${where}: cannot read secret file ${ref}: ${(err as Error).message}`, where);
    }
  });
}

/**
 * Resolves every reference in a config once, without keeping the values: a missing variable or unreadable file is
 * found before anything starts (or a reload stops anything), named by its JSON path. Throws SecretError.
 */
export function checkSecrets(config: unknown, where = ''): void {
  if (typeof config === 'string') {
    if (config.includes('${')) resolveSecret(config, where || '/');
  } else if (Array.isArray(config)) {
    config.forEach((v, i) => checkSecrets(v, `${where}/${i}`));
  } else if (config && typeof config === 'object') {
    for (const [k, v] of Object.entries(config)) if (k !== 'mappings') checkSecrets(v, `${where}/${k}`);
  }
}
