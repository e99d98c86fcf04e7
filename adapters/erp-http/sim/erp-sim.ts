// The reference ERP receiver (`plantsync erp-sim`; also used by tests, benchmarks and the demo). It stands in for
// an ERP's HTTP API: it accepts the batch shape and single-event (templated) posts, de-duplicates by idempotency key
// and answers a duplicate as a real ERP would (per item: status 409 with the original document number; a single
// post: HTTP 409), checks per-key order, issues document numbers, and injects faults on command or on a schedule.
// Its counters are readable over HTTP (GET /_sim/counters), so any test can assert "exactly once, in order".
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export type SimFault =
  | { mode: 'down' } // connections are reset
  | { mode: 'status'; status: number; retryAfter?: string; body?: string; headers?: Record<string, string> }
  | { mode: 'reorder' } // batch results in reverse order (items still carry their idempotency keys)
  | { mode: 'slow'; latencyMs: number }
  | { mode: 'garbage' }; // 200 with a body that is not JSON

export interface ScheduledFault {
  atMs: number;
  forMs: number;
  fault: SimFault;
}

export interface ErpSimOptions {
  /**
   * How the batch endpoint books a request's items: 'independent' (default, like SAP's $batch changesets: each item
   * on its own), or 'stop-at-failure' (an order-aware integration: after an item of a key fails, the key's later
   * items in the request are refused with 424). Only with the second may a sink set keyOrderInBatch.
   */
  keyOrder?: 'independent' | 'stop-at-failure';
  host?: string;
  port?: number;
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer; requestCert?: boolean };
  /** When set, every post needs a bearer token from POST /oauth/token (client credentials). */
  oauth?: { clientId: string; clientSecret: string; ttlSec: number };
  /** Static credentials accepted instead: a bearer token, basic user:password, or an API key header. */
  bearer?: string;
  basic?: { user: string; password: string };
  apiKey?: { header: string; value: string };
  schedule?: ScheduledFault[];
  /** Require SAP Gateway's CSRF protection: a token fetched by GET "x-csrf-token: Fetch", bound to a cookie. */
  csrf?: boolean;
  /** Largest request body accepted (413 beyond). */
  maxBodyBytes?: number;
}

export interface SimCounters {
  requests: number;
  batches: number;
  received: number;
  accepted: number;
  duplicates: number;
  outOfOrder: number;
  rejected: number;
  faults: number;
  unauthorized: number;
  tokensIssued: number;
  csrfRefused: number;
}

interface Item {
  occurredAt?: number | undefined;
  /** The config version that made the event (batch mode only). */
  mappingVersion?: string | undefined;
  idempotencyKey: string;
  orderingKey: string;
  sequence: number | undefined;
  type: string;
  /** A production confirmation's yield (batch mode), summed into `totals`. */
  yield?: number | undefined;
}

interface ItemResult {
  idempotencyKey: string;
  status: number;
  documentNumber?: string;
  error?: string;
}

export class ErpSim {
  readonly counters: SimCounters = { requests: 0, batches: 0, received: 0, accepted: 0, duplicates: 0, outOfOrder: 0, rejected: 0, faults: 0, unauthorized: 0, tokensIssued: 0, csrfRefused: 0 };
  /** Accepted events in arrival order. */
  /** What was booked, summed: the yield of every production confirmation (batch mode). */
  readonly totals = { confirmedYield: 0 };
  readonly booked: { idempotencyKey: string; orderingKey: string; sequence: number | undefined; documentNumber: string; at: number; occurredAt: number | undefined; mappingVersion?: string | undefined }[] = [];
  /** Arrival time of every request, for pacing assertions. */
  readonly requestTimes: number[] = [];
  private readonly docs = new Map<string, string>();
  private readonly lastSeq = new Map<string, number>();
  private readonly rejections = new Map<string, { status: number; reason: string }>();
  private readonly tokens = new Map<string, number>();
  private readonly csrfTokens = new Map<string, string>();
  private readonly transient = new Map<string, { times: number; status: number }>();
  private fault: SimFault | undefined;
  private faultUntil = Infinity;
  private nextDoc = 4_900_000_000;
  private server: Server | undefined;
  /** Headers of the last requests (at most 1,000), for tests that check what went over the wire. */
  readonly requestHeaders: IncomingMessage['headers'][] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly opts: ErpSimOptions;

  constructor(opts: ErpSimOptions = {}) {
    this.opts = opts;
  }

  async start(): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      if (this.requestHeaders.push(req.headers) > 1000) this.requestHeaders.shift();
      void this.handle(req, res);
    };
    const t = this.opts.tls;
    this.server = t ? createHttps({ key: t.key, cert: t.cert, ca: t.ca, requestCert: t.requestCert, rejectUnauthorized: t.requestCert ?? false }, handler) : createHttp(handler);
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server!.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', resolve));
    for (const s of this.opts.schedule ?? []) {
      this.timers.push(setTimeout(() => this.setFault(s.fault, s.forMs), s.atMs));
    }
    return this.url;
  }

  get url(): string {
    const a = this.server!.address() as AddressInfo;
    return `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${a.port}`;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((r) => this.server!.close(r));
  }

  /** Injects a fault for `forMs` (default: until cleared with setFault(undefined)). */
  setFault(fault: SimFault | undefined, forMs = Infinity): void {
    this.fault = fault;
    this.faultUntil = Date.now() + forMs;
  }

  /** Rejects this event (by idempotency key) whenever it comes: a partial result inside a batch. */
  reject(idempotencyKey: string, status = 422, reason = 'rejected by erp-sim'): void {
    this.rejections.set(idempotencyKey, { status, reason });
  }

  /** Stops rejecting this event (or every event, without a key); returns how many rules were cleared. */
  accept(idempotencyKey?: string): number {
    if (idempotencyKey !== undefined) return this.rejections.delete(idempotencyKey) ? 1 : 0;
    const n = this.rejections.size;
    this.rejections.clear();
    return n;
  }

  /** Answers this event with a transient per-item failure (default 503) the next `times` times it comes. */
  failItem(idempotencyKey: string, times: number, status = 503): void {
    this.transient.set(idempotencyKey, { times, status });
  }

  revokeTokens(): void {
    this.tokens.clear();
    this.csrfTokens.clear();
  }

  private activeFault(): SimFault | undefined {
    if (this.fault && Date.now() >= this.faultUntil) this.fault = undefined;
    return this.fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    if (url.pathname.startsWith('/_sim/')) return this.control(url.pathname, req, res);
    this.counters.requests++;
    this.requestTimes.push(Date.now());
    const fault = this.activeFault();
    if (fault?.mode === 'down') {
      this.counters.faults++;
      req.socket.destroy();
      return;
    }
    let body: string;
    try {
      body = await readBody(req, this.opts.maxBodyBytes ?? 64 * 1024 * 1024);
    } catch {
      return send(res, 413, { error: 'request body too large' });
    }
    if (url.pathname === '/oauth/token') return this.token(body, res);
    if (!this.authorized(req)) {
      this.counters.unauthorized++;
      return send(res, 401, { error: 'invalid or expired token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    if (this.opts.csrf) {
      if (req.method === 'GET' && header(req, 'x-csrf-token')?.toLowerCase() === 'fetch') {
        const session = randomBytes(8).toString('hex');
        const token = randomBytes(12).toString('base64url');
        this.csrfTokens.set(session, token);
        return send(res, 200, {}, { 'x-csrf-token': token, 'set-cookie': `SAP_SESSIONID_SIM=${session}; path=/; HttpOnly` });
      }
      const session = /SAP_SESSIONID_SIM=(\w+)/.exec(header(req, 'cookie') ?? '')?.[1];
      if (!session || this.csrfTokens.get(session) !== header(req, 'x-csrf-token')) {
        this.counters.csrfRefused++;
        return send(res, 403, { error: 'CSRF token validation failed' }, { 'x-csrf-token': 'Required' });
      }
    }
    if (fault?.mode === 'slow') await new Promise((r) => setTimeout(r, fault.latencyMs));
    if (fault?.mode === 'status') {
      this.counters.faults++;
      res.writeHead(fault.status, { 'content-type': 'application/json', ...(fault.retryAfter && { 'retry-after': fault.retryAfter }), ...fault.headers });
      res.end(fault.body ?? JSON.stringify({ error: `erp-sim fault ${fault.status}` }));
      return;
    }
    if (fault?.mode === 'garbage') {
      this.counters.faults++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>proxy error</html>');
      return;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch {
      return send(res, 400, { error: 'body is not JSON' });
    }
    const events = (doc as { events?: unknown }).events;
    if (Array.isArray(events)) {
      this.counters.batches++;
      const failed = new Set<string>();
      const results = events.map((e) => {
        const item = itemOf(e);
        if (this.opts.keyOrder === 'stop-at-failure' && failed.has(item.orderingKey)) {
          return { idempotencyKey: item.idempotencyKey, status: 424, error: 'an earlier item of this ordering key failed' };
        }
        const r = this.book(item);
        if (r.status >= 400 && r.status !== 409) failed.add(item.orderingKey);
        return r;
      });
      if (fault?.mode === 'reorder') results.reverse();
      return send(res, 200, { results });
    }
    // A single templated post: identity and order come from the headers every plantsync request carries.
    const item: Item = {
      idempotencyKey: header(req, 'idempotency-key') ?? '',
      orderingKey: header(req, 'x-plantsync-ordering-key') ?? '',
      sequence: Number(header(req, 'x-plantsync-sequence')) || undefined,
      type: header(req, 'x-plantsync-event-type') ?? '',
    };
    if (!item.idempotencyKey) return send(res, 400, { error: 'Idempotency-Key header missing' });
    const r = this.book(item);
    send(res, r.status, r.status >= 400 && r.status !== 409 ? { error: r.error } : { documentNumber: r.documentNumber, ...(r.status === 409 && { error: 'duplicate' }) });
  }

  private book(item: Item): ItemResult {
    this.counters.received++;
    const known = this.docs.get(item.idempotencyKey);
    if (known) {
      this.counters.duplicates++;
      return { idempotencyKey: item.idempotencyKey, status: 409, documentNumber: known, error: 'duplicate' };
    }
    const tr = this.transient.get(item.idempotencyKey);
    if (tr && tr.times > 0) {
      tr.times--;
      this.counters.faults++;
      return { idempotencyKey: item.idempotencyKey, status: tr.status, error: 'temporarily locked' };
    }
    const rej = this.rejections.get(item.idempotencyKey);
    if (rej) {
      this.counters.rejected++;
      return { idempotencyKey: item.idempotencyKey, status: rej.status, error: rej.reason };
    }
    if (item.sequence !== undefined) {
      const last = this.lastSeq.get(item.orderingKey);
      if (last !== undefined && item.sequence < last) this.counters.outOfOrder++;
      this.lastSeq.set(item.orderingKey, item.sequence);
    }
    const documentNumber = String(this.nextDoc++);
    this.docs.set(item.idempotencyKey, documentNumber);
    this.counters.accepted++;
    if (item.type === 'production.confirmation') this.totals.confirmedYield += item.yield ?? 0;
    this.booked.push({ idempotencyKey: item.idempotencyKey, orderingKey: item.orderingKey, sequence: item.sequence, documentNumber, at: Date.now(), occurredAt: item.occurredAt, mappingVersion: item.mappingVersion });
    return { idempotencyKey: item.idempotencyKey, status: 201, documentNumber };
  }

  private token(body: string, res: ServerResponse): void {
    const o = this.opts.oauth;
    const form = new URLSearchParams(body);
    if (!o || form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== o.clientId || form.get('client_secret') !== o.clientSecret) {
      return send(res, 401, { error: 'invalid_client' });
    }
    const token = randomBytes(16).toString('hex');
    this.tokens.set(token, Date.now() + o.ttlSec * 1000);
    this.counters.tokensIssued++;
    send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: o.ttlSec });
  }

  private authorized(req: IncomingMessage): boolean {
    const auth = header(req, 'authorization') ?? '';
    const { oauth, bearer, basic, apiKey } = this.opts;
    if (!oauth && !bearer && !basic && !apiKey) return true;
    if (oauth && auth.startsWith('Bearer ') && (this.tokens.get(auth.slice(7)) ?? 0) > Date.now()) return true;
    if (bearer && auth === `Bearer ${bearer}`) return true;
    if (basic && auth === `Basic ${Buffer.from(`${basic.user}:${basic.password}`).toString('base64')}`) return true;
    if (apiKey && header(req, apiKey.header) === apiKey.value) return true;
    return false;
  }

  private async control(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (path === '/_sim/counters') return send(res, 200, this.counters);
    if (path === '/_sim/latencies') {
      // Booking time minus source time (ms) of every booked event with a source time, for latency benchmarks.
      return send(res, 200, this.booked.flatMap((b) => (b.occurredAt === undefined ? [] : [b.at - b.occurredAt])));
    }
    const body = JSON.parse((await readBody(req, 1024 * 1024)) || '{}') as Record<string, unknown>;
    if (path === '/_sim/fault') {
      this.setFault(body.mode ? (body as SimFault) : undefined, typeof body.forMs === 'number' ? body.forMs : Infinity);
      return send(res, 200, { fault: this.fault ?? null });
    }
    if (path === '/_sim/reject' && typeof body.idempotencyKey === 'string') {
      this.reject(body.idempotencyKey, Number(body.status ?? 422), String(body.reason ?? 'rejected by erp-sim'));
      return send(res, 200, { ok: true });
    }
    // Clears reject rules: one event's, or all of them ({}), so a dead letter's replay can succeed (the runbook).
    if (path === '/_sim/accept') {
      const cleared = this.accept(typeof body.idempotencyKey === 'string' ? body.idempotencyKey : undefined);
      return send(res, 200, { cleared });
    }
    if (path === '/_sim/revoke-tokens') {
      this.revokeTokens();
      return send(res, 200, { ok: true });
    }
    send(res, 404, { error: `unknown control ${path}` });
  }
}

function itemOf(e: unknown): Item {
  const o = (e ?? {}) as Record<string, unknown>;
  return {
    idempotencyKey: String(o.idempotencyKey ?? ''),
    orderingKey: String(o.orderingKey ?? ''),
    sequence: typeof o.sequence === 'number' ? o.sequence : undefined,
    type: String(o.type ?? ''),
    occurredAt: typeof o.occurredAt === 'string' ? Date.parse(o.occurredAt) : undefined,
    mappingVersion: typeof o.mappingVersion === 'string' ? o.mappingVersion : undefined,
    yield: Number((o.payload as { yield?: unknown } | undefined)?.yield) || 0,
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  // plantsync percent-encodes header values outside printable ASCII (and any with '%'): see headerValue in sink.ts.
  return s?.includes('%') ? decodeURIComponent(s) : s;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new Error('too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
