// One NATS connection for a JetStream sink or source: servers, credentials from secrets, TLS from the kit's one TLS
// schema; nats.js reconnects by itself for ever (a plant's link can be down for hours), and the adapter only
// reads its state. The stream is checked on every (re)connect: the error names what is wrong and how to fix it.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { connect, credsAuthenticator, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type StreamInfo } from '@nats-io/jetstream';
import { reconnectDelay, resolveSecret, tlsClientOptions } from '../../agent/adapter-kit.ts';
import type { NatsAuth } from './config.ts';
import type { TlsOptions } from '../../agent/kit-schemas.ts';

export interface NatsSettings {
  servers: string[];
  auth?: NatsAuth | undefined;
  tls?: TlsOptions | undefined;
  connectTimeoutMs: number;
}

/** nats.js options for these settings; `where` names the setting in errors ("sinks.backbone"). */
export function connectionOptions(s: NatsSettings, where: string, name: string): ConnectionOptions {
  const a = s.auth ?? { type: 'none' };
  const auth: Partial<ConnectionOptions> =
    a.type === 'token'
      ? { token: resolveSecret(a.token, `${where}.auth.token`) }
      : a.type === 'user'
        ? { user: a.user, pass: resolveSecret(a.password, `${where}.auth.password`) }
        : a.type === 'nkey'
          ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(resolveSecret(a.seed, `${where}.auth.seed`).trim())) }
          : a.type === 'creds'
            ? { authenticator: credsAuthenticator(readFileSync(a.file)) }
            : {};
  return {
    servers: s.servers,
    name,
    timeout: s.connectTimeoutMs,
    // A gateway offline for hours keeps trying: nats.js reconnects with this wait, without a limit.
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    // Without it nats.js builds an Error (a stack trace) per request up front, in case it times out: two per
    // publish, ~10 % of a publisher's CPU (session 6's profile). Our errors say what failed by their message.
    noAsyncTraces: true,
    ...auth,
    // tlsClientOptions' keys are Node's TLS options, which nats.js passes on to tls.connect.
    ...(s.tls && { tls: { ...tlsClientOptions(s.tls, `${where}.tls`), checkServerIdentity: serverIdentityCheck(s.servers) } as unknown as ConnectionOptions['tls'] }),
  };
}

/**
 * The server certificate's name check. nats.js upgrades the connection to TLS without a server name when the
 * server is given as an IP address (nats://10.20.0.5:4222, the usual way to a plant's backbone), and Node then
 * checks the certificate against "localhost": a certificate made for the server's address would be refused, one
 * that happens to name localhost accepted (nats-io/nats.js#303, still so in 3.4.0). So when Node asks about
 * "localhost", the certificate must name one of the configured servers' IP addresses (or localhost itself); any
 * other name is checked as Node checks it.
 */
export function serverIdentityCheck(servers: string[]): (host: string, cert: PeerCertificate) => Error | undefined {
  const ips = servers.map((u) => new URL(u.includes('://') ? u : `nats://${u}`).hostname.replace(/^\[|\]$/g, '')).filter((h) => isIP(h));
  return (host, cert) => {
    const err = checkServerIdentity(host, cert);
    if (!err || host !== 'localhost' || !ips.length) return err;
    return ips.some((ip) => !checkServerIdentity(ip, cert)) ? undefined : new Error(`the server certificate names none of ${ips.join(', ')} (${err.message})`);
  };
}

/**
 * Connects, trying again with backoff until it works or `stopped()` says to give up (then undefined). After the
 * first connection nats.js reconnects by itself; before it, a failed attempt is reported once per distinct error.
 */
export async function connectNats(s: NatsSettings, where: string, name: string, stopped: () => boolean, onError: (err: Error) => void): Promise<NatsConnection | undefined> {
  const opts = connectionOptions(s, where, name);
  for (let attempt = 1; !stopped(); attempt++) {
    try {
      const nc = await connect(opts);
      if (!stopped()) return nc;
      await nc.close();
      return undefined;
    } catch (err) {
      onError(err as Error);
      await pause(reconnectDelay(500, 30_000, attempt), stopped);
    }
  }
  return undefined;
}

/**
 * Checks the fleet's stream: it exists, keeps its messages on disk, de-duplicates, and does not silently drop what
 * nobody consumed yet. Returns the duplicate window (ms), or throws an error saying what to change.
 */
export async function checkStream(nc: NatsConnection, stream: string, subject: string): Promise<{ duplicateWindowMs: number; info: StreamInfo }> {
  const jsm = await jetstreamManager(nc);
  let info: StreamInfo;
  try {
    info = await jsm.streams.info(stream);
  } catch (err) {
    if ((err as { code?: number }).code === 10059) {
      throw new Error(`stream '${stream}' does not exist on ${nc.getServer()}: create it (docs/fleet.md), e.g. nats stream add ${stream} --subjects '${wildcardOf(subject)}' --storage file --dupe-window 2m`);
    }
    throw err;
  }
  const c = info.config;
  if (!c.subjects?.some((s) => covers(s, subject))) {
    throw new Error(`stream '${stream}' does not capture subject '${subject}' (its subjects: ${(c.subjects ?? []).join(', ') || 'none'})`);
  }
  if (c.storage !== 'file') throw new Error(`stream '${stream}' keeps messages in memory (storage ${c.storage}): a server restart would lose them; use file storage`);
  if (!c.duplicate_window) throw new Error(`stream '${stream}' has no duplicate window: a re-sent event would be stored twice`);
  const limited = (c.max_msgs ?? -1) > 0 || (c.max_bytes ?? -1) > 0 || (c.max_msgs_per_subject ?? -1) > 0;
  if (limited && c.discard !== 'new') {
    throw new Error(`stream '${stream}' has size limits with discard ${c.discard}: when full it deletes events no relay has consumed; use discard new (publishes then wait)`);
  }
  return { duplicateWindowMs: Math.floor(c.duplicate_window / 1e6), info };
}

/** Waits `ms`, or less when `stopped()` turns true meanwhile: a stop is not kept waiting by a backoff. */
export async function pause(ms: number, stopped: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (!stopped() && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
}

/** Whether a stream subject (with * and > wildcards) captures a concrete subject. */
export function covers(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

/** The subject with every token after the first replaced by a wildcard: a hint for creating the stream. */
function wildcardOf(subject: string): string {
  return `${subject.split('.')[0]}.>`;
}
