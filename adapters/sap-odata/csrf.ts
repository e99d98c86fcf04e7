// SAP Gateway's CSRF protection: a modifying request (every $batch) needs a token bound to the session, fetched with
// a GET "X-CSRF-Token: Fetch" of the service root, and sent back together with every cookie that came with it (no
// cookie name is assumed). An expired token is answered 403 "X-CSRF-Token: Required": the caller drops the session
// and fetches a new one once. One session per service; cookies are updated from every answer.
import type { IncomingHttpHeaders } from 'node:http';

export interface CsrfSession {
  token: string;
  cookies: Map<string, string>;
}

export function cookieHeader(s: CsrfSession | undefined): Record<string, string> {
  if (!s || s.cookies.size === 0) return {};
  return { cookie: [...s.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
}

/** Keeps every cookie an answer sets (the session, the load balancer's), by name, latest value winning. */
export function takeCookies(into: Map<string, string>, headers: IncomingHttpHeaders): void {
  const set = headers['set-cookie'];
  for (const c of Array.isArray(set) ? set : set ? [set] : []) {
    const pair = c.split(';')[0]!;
    const eq = pair.indexOf('=');
    if (eq > 0) into.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
}

/** The answer says the token is no longer valid (SAP: 403 with X-CSRF-Token: Required). */
export function tokenRequired(status: number, headers: IncomingHttpHeaders): boolean {
  return status === 403 && String(headers['x-csrf-token'] ?? '').toLowerCase() === 'required';
}
