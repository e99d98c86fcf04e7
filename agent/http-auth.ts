// Authentication for HTTP sinks, in the adapter kit: its config schema and the headers it puts on a request.
// bearer, basic (an SAP communication user), API key, OAuth2 client credentials: the token is cached, refreshed
// before it expires (one refresh at a time however many requests wait), and dropped on a 401 so the sink can
// refresh and retry once. Secrets are resolved when the sink opens (${env:...}, ${file:...}) and never logged.
import type { Static } from 'typebox';
import type { Dispatcher } from 'undici';
import { readBounded } from './http.ts';
import { resolveSecret } from './secrets.ts';
import type { HttpAuth } from './kit-schemas.ts';

/** A token answer is a few hundred bytes; 64 KiB leaves room for large JWTs. */
const TOKEN_ANSWER_LIMIT = 65_536;

export type AuthConfig = Static<typeof HttpAuth>;

export interface Auth {
  headers(signal: AbortSignal): Promise<Record<string, string>>;
  /** The ERP answered 401: forget cached credentials. Returns true when a retry with fresh ones makes sense. */
  invalidate(): boolean;
}

export function createAuth(cfg: AuthConfig | undefined, dispatcher: Dispatcher, baseUrl: string): Auth {
  switch (cfg?.type ?? 'none') {
    case 'none':
      return { headers: async () => ({}), invalidate: () => false };
    case 'bearer':
      return fixed({ authorization: `Bearer ${(cfg as { token: string }).token}` });
    case 'basic': {
      const c = cfg as { user: string; password: string };
      return fixed({ authorization: `Basic ${Buffer.from(`${c.user}:${c.password}`).toString('base64')}` });
    }
    case 'apiKey': {
      const c = cfg as { header: string; value: string };
      return fixed({ [c.header.toLowerCase()]: c.value });
    }
    default:
      return new OAuth2(cfg as Extract<AuthConfig, { type: 'oauth2' }>, dispatcher, baseUrl);
  }
}

function fixed(h: Record<string, string>): Auth {
  return { headers: async () => h, invalidate: () => false };
}

class OAuth2 implements Auth {
  private token: string | undefined;
  private refreshAt = 0;
  private pending: Promise<string> | undefined;
  private readonly cfg: Extract<AuthConfig, { type: 'oauth2' }>;
  private readonly dispatcher: Dispatcher;
  private readonly url: string;

  constructor(cfg: Extract<AuthConfig, { type: 'oauth2' }>, dispatcher: Dispatcher, baseUrl: string) {
    this.cfg = cfg;
    this.dispatcher = dispatcher;
    this.url = new URL(cfg.tokenUrl, baseUrl).toString();
  }

  async headers(signal: AbortSignal): Promise<Record<string, string>> {
    if (!this.token || Date.now() >= this.refreshAt) {
      this.pending ??= this.fetchToken(signal).finally(() => (this.pending = undefined));
      this.token = await this.pending;
    }
    return { authorization: `Bearer ${this.token}` };
  }

  invalidate(): boolean {
    this.token = undefined;
    return true;
  }

  private async fetchToken(signal: AbortSignal): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: this.cfg.clientId, client_secret: this.cfg.clientSecret });
    if (this.cfg.scope) form.set('scope', this.cfg.scope);
    if (this.cfg.audience) form.set('audience', this.cfg.audience);
    const { request } = await import('undici'); // loaded with the sink that fetches tokens, not with the schema
    const res = await request(this.url, {
      method: 'POST',
      dispatcher: this.dispatcher,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      signal,
    });
    // Bounded: a token endpoint answering 300 MB once took the agent to 1.16 GB of memory.
    const { text, cut } = await readBounded(res.body, TOKEN_ANSWER_LIMIT);
    if (cut) throw Object.assign(new Error(`token endpoint answer is larger than ${TOKEN_ANSWER_LIMIT} bytes`), { code: 'OAUTH_TOKEN' });
    if (res.statusCode !== 200) throw Object.assign(new Error(`token endpoint answered HTTP ${res.statusCode}`), { code: 'OAUTH_TOKEN' });
    let doc: { access_token?: unknown; expires_in?: unknown };
    try {
      doc = JSON.parse(text) as typeof doc;
    } catch {
      throw Object.assign(new Error('token endpoint answered with a body that is not JSON'), { code: 'OAUTH_TOKEN' });
    }
    if (typeof doc.access_token !== 'string') throw Object.assign(new Error('token endpoint answer has no access_token'), { code: 'OAUTH_TOKEN' });
    const ttl = typeof doc.expires_in === 'number' ? doc.expires_in : 3600;
    this.refreshAt = Date.now() + Math.max(0, ttl - (this.cfg.refreshBeforeSec ?? 60)) * 1000;
    return doc.access_token;
  }
}

/**
 * The sink's auth with its secrets resolved (named by their config path when missing), checked at start: a
 * credential no request could carry (not printable ASCII) is refused here, by name. `secrets` are the values to
 * scrub from anything the remote side echoes.
 */
export async function openAuth(cfg: AuthConfig | undefined, dispatcher: Dispatcher, baseUrl: string, where: string): Promise<{ auth: Auth; secrets: string[] }> {
  const resolved = cfg && (Object.fromEntries(Object.entries(cfg).map(([k, v]) => [k, typeof v === 'string' && k !== 'type' ? resolveSecret(v, `${where}.auth.${k}`) : v])) as AuthConfig);
  const auth = createAuth(resolved, dispatcher, baseUrl);
  if (resolved && resolved.type !== 'oauth2') {
    for (const v of Object.values(await auth.headers(new AbortController().signal))) {
      if (!/^[\t\x20-\x7e]*$/.test(v)) throw new Error(`${where}.auth: the credential is not printable ASCII, so no request could carry it`);
    }
  }
  const secrets = Object.entries(resolved ?? {}).flatMap(([k, v]) => (k !== 'type' && typeof v === 'string' && /token|password|value|secret/i.test(k) ? [v] : []));
  return { auth, secrets };
}
