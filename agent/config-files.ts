// The config as central teams roll it out: one main file plus conf.d/*.json beside it, merged in name order.
// Objects merge key by key (a later file wins for a value); the top-level lists `routes` and `mappings` are joined,
// so a fragment can add a machine's mapping rules without repeating the others; any other list is replaced whole.
// An error names the file that set the offending part. The version hashes every file's name and content.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigError, forbiddenKey, validateConfig, type LoadedConfig } from './config.ts';
import { CREDENTIAL_HEADER, redactUrls } from './redact.ts';

const JOINED = new Set(['routes', 'mappings']);
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface LoadedConfigFiles extends LoadedConfig {
  /** Every file read, main first, in merge order. */
  files: string[];
  /** The file that set a JSON pointer's value (a conf.d fragment or the main file), for errors found later. */
  fileOf: (pointer: string) => string;
}

/** The conf.d folder of a main config file: beside it. */
export function confDir(mainPath: string): string {
  return join(dirname(mainPath), 'conf.d');
}

/** Fragments in name order; editor leftovers and hidden files are not config. */
function fragments(mainPath: string): string[] {
  let names: string[];
  try {
    names = readdirSync(confDir(mainPath));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ConfigError(`${confDir(mainPath)}: cannot read: ${(err as Error).message}`);
  }
  return names
    .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
    .sort()
    .map((n) => join(confDir(mainPath), n));
}

function readJson(path: string): { text: string; value: unknown } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
  const bad = forbiddenKey(value);
  if (bad) throw new ConfigError(`${path}: ${bad}: a key named '${bad.split('/').at(-1)}' is not allowed (config is data, never object internals)`);
  return { text, value };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Merges `src` into `dst`, recording for every JSON pointer it sets which file set it. */
function merge(dst: Record<string, unknown>, src: Record<string, unknown>, file: string, at: string, origins: Map<string, string>): void {
  for (const [k, v] of Object.entries(src)) {
    if (FORBIDDEN_KEYS.has(k)) continue; // refused when read (readJson); never assigned, whatever calls this
    const ptr = `${at}/${k}`;
    const old = dst[k];
    if (at === '' && JOINED.has(k) && Array.isArray(v) && Array.isArray(old)) {
      v.forEach((_, i) => origins.set(`${ptr}/${old.length + i}`, file));
      dst[k] = [...old, ...v];
    } else if (isObject(v) && isObject(old)) {
      merge(old, v, file, ptr, origins);
    } else {
      dst[k] = isObject(v) ? structuredClone(v) : v;
      origins.set(ptr, file);
    }
  }
}

/** Reads the main file and its conf.d fragments, merges and validates them. Throws ConfigError naming the file. */
export function loadConfigFiles(mainPath: string): LoadedConfigFiles {
  const files = [mainPath, ...fragments(mainPath)];
  const merged = Object.create(null) as Record<string, unknown>; // no prototype a key could reach
  const origins = new Map<string, string>();
  const hash = createHash('sha256');
  for (const f of files) {
    const { text, value } = readJson(f);
    if (!isObject(value)) throw new ConfigError(`${f}: /: must be a JSON object`);
    merge(merged, value, f, '', origins);
    hash.update(`${basename(f)}\0${text}\0`);
  }
  // The file to blame for a JSON pointer: the one that set the longest prefix of it. When other files set parts of
  // the same object (a fragment that changed an auth type the main file had filled in), they are named too.
  const fileOf = (pointer: string): string => {
    let blamed: string | undefined;
    let at = pointer;
    for (; at && !blamed; at = at.slice(0, at.lastIndexOf('/'))) blamed = origins.get(at);
    if (!blamed) return files.length === 1 ? mainPath : `${mainPath} (with ${confDir(mainPath)})`;
    const parent = pointer.slice(0, pointer.lastIndexOf('/'));
    const others = new Set([...origins].filter(([p, f]) => f !== blamed && p.startsWith(`${parent}/`)).map(([, f]) => f));
    return others.size ? `${blamed} (merged with ${[...others].join(', ')})` : blamed;
  };
  const config = validateConfig(merged, fileOf);
  const digest = hash.digest('hex').slice(0, 12);
  return { config, version: config.agent.label ? `${config.agent.label}+${digest}` : digest, files, fileOf };
}

const SECRET_KEYS = /^(password|passphrase|token|clientSecret|secret)$/i;

/**
 * The config with secrets masked, for `plantsync config show`. A `${env:...}`/`${file:...}` reference is shown
 * (it says where the secret comes from, not what it is); a literal secret becomes "***", and so does a header whose
 * name says key/token/secret/password/auth. Every other text loses URL credentials and key-like query values.
 */
export function maskSecrets(value: unknown, key = '', parent?: Record<string, unknown>, parentKey = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k, value, key)]));
  if (typeof value !== 'string' || /^\$\{(env|file):[^}]+\}$/.test(value)) return value;
  const secret = SECRET_KEYS.test(key) || (key === 'value' && parent?.type === 'apiKey') || (parentKey === 'headers' && CREDENTIAL_HEADER.test(key));
  return secret ? '***' : redactUrls(value);
}
