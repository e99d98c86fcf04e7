// A protocol-faithful stand-in for SAP S/4HANA's OData v2 services (SAP Gateway), for tests, benchmarks and trying
// a config: CSRF tokens bound to a session cookie (and expiring), $batch in multipart/mixed with changesets that
// book all or nothing, SAP-shaped errors with message class/number, document numbers, $filter lookups, optional
// RequestID de-duplication, and faults: the answer dropped after the commit, slow answers, 429/503 with
// Retry-After. Message codes of simulated business errors are the simulator's own, not SAP's catalogue.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getMultipartBoundary, parseMultipart } from '@remix-run/multipart-parser';

export interface SapDocument {
  entitySet: string;
  reference: string;
  receipt: string;
  body: Record<string, unknown>;
  at: number;
}

export interface SapSimOptions {
  /** Basic auth the simulator demands (none when unset). */
  user?: string;
  password?: string;
  /** How long a CSRF token stays valid (default one hour). */
  csrfTtlMs?: number;
  /** De-duplicate by SAP's RequestID header, as a system with idempotent services enabled. */
  requestIdDedup?: boolean;
  /** Where to listen (default: any free port on loopback). */
  port?: number;
  host?: string;
}

type Fault = { kind: 'drop-after-commit' } | { kind: 'status'; status: number; retryAfterSec?: number } | { kind: 'slow'; ms: number };

const ENTITIES: Record<string, { reference: string; receipt: (n: number, body: Record<string, unknown>) => Record<string, string> }> = {
  ProdnOrdConf2: { reference: 'ConfirmationText', receipt: (n) => ({ ConfirmationGroup: String(1_000_000 + n), ConfirmationCount: '1' }) },
  A_MaterialDocumentHeader: { reference: 'MaterialDocumentHeaderText', receipt: (n) => ({ MaterialDocument: String(4_900_000_000 + n), MaterialDocumentYear: '2026' }) },
};

/** The yield of every production confirmation SAP booked, summed (what the demo checks against the press). */
export function confirmedYield(sim: SapSim): number {
  return sim.booked.reduce((n, d) => n + (d.entitySet === 'ProdnOrdConf2' ? Number(d.body.ConfirmationYieldQuantity) || 0 : 0), 0);
}

export class SapSim {
  url = '';
  readonly booked: SapDocument[] = [];
  readonly counters = { requests: 0, batches: 0, changesets: 0, booked: 0, bookedTwice: 0, rolledBack: 0, csrfRefused: 0, tokensIssued: 0, lookups: 0, answersDropped: 0, replayedByRequestId: 0 };
  private server: Server | undefined;
  private readonly tokens = new Map<string, { session: string; expiresAt: number }>();
  private readonly closed = new Map<string, string>();
  private readonly locks = new Map<string, number>();
  private readonly faults: Fault[] = [];
  private readonly requestIds = new Map<string, { type: string; body: string }>();
  private next = 1;
  private downUntil = 0;
  private readonly references = new Set<string>();
  private readonly opts: SapSimOptions;

  constructor(opts: SapSimOptions = {}) {
    this.opts = opts;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res).catch((err: unknown) => (res.headersSent ? res.destroy() : this.send(res, 500, { error: { code: 'SIM/500', message: { lang: 'en', value: String(err) } } }))));
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((r) => this.server!.listen(this.opts.port ?? 0, host, r));
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${(this.server!.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  /** Every CSRF token issued so far stops being valid (as when the session times out). */
  expireTokens(): void {
    this.tokens.clear();
  }

  /** Postings to this order are refused for good (a closed order), with this message. */
  closeOrder(order: string, message = `Order ${order} is already closed`): void {
    this.closed.set(order, message);
  }

  /** The next `times` postings to this order find it locked by another user. */
  lockOrder(order: string, times: number): void {
    this.locks.set(order, times);
  }

  /** SAP is down for a while: every request is answered 503 (the demo's outage). */
  unavailableFor(ms: number): void {
    this.downUntil = Date.now() + ms;
  }

  /** Faults for the next $batch requests, one each, in order. */
  fault(...f: Fault[]): void {
    this.faults.push(...f);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.requests++;
    if (Date.now() < this.downUntil) return this.send(res, 503, { error: { code: '/IWFND/CM_BEC/026', message: { lang: 'en', value: 'Service unavailable' } } });
    if (this.opts.user && req.headers.authorization !== `Basic ${Buffer.from(`${this.opts.user}:${this.opts.password}`).toString('base64')}`) {
      return this.send(res, 401, { error: { code: '/IWFND/CM_CONSUMER/401', message: { lang: 'en', value: 'Logon failed' } } });
    }
    const url = new URL(req.url ?? '/', this.url);
    if (url.pathname === '/_sim/counters') return this.send(res, 200, this.counters);
    const m = /^\/sap\/opu\/odata\/sap\/([A-Z0-9_]+)\/(.*)$/.exec(url.pathname);
    if (!m) return this.send(res, 404, { error: { code: 'SIM/404', message: { lang: 'en', value: 'no such service' } } });
    if (req.method === 'GET' && m[2] === '' && String(req.headers['x-csrf-token']).toLowerCase() === 'fetch') {
      const session = /SAP_SESSIONID_S4H_100=([^;]+)/.exec(String(req.headers.cookie ?? ''))?.[1] ?? randomUUID();
      const token = randomUUID().replaceAll('-', '').slice(0, 24);
      this.tokens.set(token, { session, expiresAt: Date.now() + (this.opts.csrfTtlMs ?? 3_600_000) });
      this.counters.tokensIssued++;
      res.setHeader('set-cookie', [`SAP_SESSIONID_S4H_100=${session}; path=/; HttpOnly`, 'sap-usercontext=sap-client=100; path=/']);
      res.setHeader('x-csrf-token', token);
      return this.send(res, 200, { d: { EntitySets: Object.keys(ENTITIES) } });
    }
    if (req.method === 'GET') return this.send(res, 200, this.query(m[2]!, url.searchParams));
    if (req.method !== 'POST' || m[2] !== '$batch') return this.send(res, 405, { error: { code: 'SIM/405', message: { lang: 'en', value: 'only $batch is modelled' } } });
    const known = this.tokens.get(String(req.headers['x-csrf-token'] ?? ''));
    const session = /SAP_SESSIONID_S4H_100=([^;]+)/.exec(String(req.headers.cookie ?? ''))?.[1];
    if (!known || known.session !== session || known.expiresAt < Date.now()) {
      this.counters.csrfRefused++;
      res.setHeader('x-csrf-token', 'Required');
      return this.send(res, 403, { error: { code: '/IWFND/CM_CSRF/000', message: { lang: 'en', value: 'CSRF token validation failed' } } });
    }
    const body = await read(req);
    this.counters.batches++;
    const fault = this.faults.shift();
    if (fault?.kind === 'status') {
      if (fault.retryAfterSec !== undefined) res.setHeader('retry-after', String(fault.retryAfterSec));
      return this.send(res, fault.status, { error: { code: '/IWFND/CM_BEC/026', message: { lang: 'en', value: 'Service temporarily unavailable' } } });
    }
    if (fault?.kind === 'slow') await new Promise((r) => setTimeout(r, fault.ms));
    const requestId = this.opts.requestIdDedup ? String(req.headers.requestid ?? '') : '';
    const replay = requestId ? this.requestIds.get(requestId) : undefined;
    if (replay) {
      this.counters.replayedByRequestId++;
      res.setHeader('repeatabilityresult', 'accepted');
      res.writeHead(202, { 'content-type': replay.type }).end(replay.body);
      return;
    }
    const answer = this.runBatch(String(req.headers['content-type'] ?? ''), body);
    if (requestId) this.requestIds.set(requestId, answer);
    if (fault?.kind === 'drop-after-commit') {
      this.counters.answersDropped++;
      req.socket.destroy(); // booked, and the answer never arrives
      return;
    }
    res.writeHead(202, { 'content-type': answer.type }).end(answer.body);
  }

  /** Runs each part: a changeset books all or nothing; a GET is a lookup. */
  private runBatch(contentType: string, body: Buffer): { type: string; body: string } {
    const boundary = getMultipartBoundary(contentType) ?? '';
    const out = `batchresponse_${randomUUID()}`;
    const parts: string[] = [];
    for (const part of parseMultipart(body, { boundary, maxFileSize: 64 * 1024 * 1024, maxTotalSize: 256 * 1024 * 1024 })) {
      const inner = getMultipartBoundary(part.headers['content-type'] ?? '');
      if (!inner) {
        this.counters.lookups++;
        const path = request(part.text).path;
        const u = new URL(path, 'http://x/');
        parts.push(http(200, this.query(u.pathname.slice(1), u.searchParams)));
        continue;
      }
      this.counters.changesets++;
      const ops = [...parseMultipart(part.bytes, { boundary: inner })].map((p) => request(p.text));
      const made: SapDocument[] = [];
      let failed: string | undefined;
      for (const op of ops) {
        const r = this.book(op.path, op.body);
        if ('error' in r) {
          failed = http(r.status, { error: { code: r.code, message: { lang: 'en', value: r.error } } });
          break;
        }
        made.push(r.doc);
      }
      if (failed) {
        this.counters.rolledBack += made.length; // all or nothing: what this changeset booked is undone
        parts.push(failed);
        continue;
      }
      for (const d of made) {
        if (d.reference && this.references.has(d.reference)) this.counters.bookedTwice++;
        this.references.add(d.reference);
        this.booked.push(d);
        this.counters.booked++;
      }
      const cs = `changesetresponse_${randomUUID()}`;
      parts.push(`Content-Type: multipart/mixed; boundary=${cs}\r\n\r\n${made.map((d) => `--${cs}\r\n${http(201, { d: { ...d.body, ...JSON.parse(d.receipt) } })}`).join('\r\n')}\r\n--${cs}--`);
    }
    return { type: `multipart/mixed; boundary=${out}`, body: `${parts.map((p) => `--${out}\r\n${p}\r\n`).join('')}--${out}--\r\n` };
  }

  private book(entitySet: string, raw: string): { doc: SapDocument } | { status: number; code: string; error: string } {
    const entity = ENTITIES[entitySet];
    if (!entity) return { status: 404, code: 'SIM/404', error: `Resource ${entitySet} not found` };
    const body = JSON.parse(raw) as Record<string, unknown>;
    const items = (body.to_MaterialDocumentItem as Record<string, unknown>[] | undefined) ?? [];
    const order = String(body.OrderID ?? items[0]?.ManufacturingOrder ?? '');
    const closed = this.closed.get(order);
    if (closed) return { status: 400, code: 'SIMCO/101', error: closed };
    const lock = this.locks.get(order) ?? 0;
    if (lock > 0) {
      this.locks.set(order, lock - 1);
      return { status: 400, code: 'SIMCO/207', error: `Order ${order} is currently being processed by user PLANNER01` };
    }
    const n = this.next++;
    return { doc: { entitySet, reference: String(body[entity.reference] ?? ''), receipt: JSON.stringify(entity.receipt(n, body)), body, at: Date.now() } };
  }

  /** GET EntitySet?$filter=Field eq 'value'&$select=...&$top=1 */
  private query(entitySet: string, q: URLSearchParams): { d: { results: Record<string, unknown>[] } } {
    const f = /^(\w+) eq '((?:[^']|'')*)'$/.exec(q.get('$filter') ?? '');
    const hits = this.booked.filter((d) => d.entitySet === entitySet && (!f || String(d.body[f[1]!] ?? '') === f[2]!.replaceAll("''", "'")));
    return { d: { results: hits.slice(0, Number(q.get('$top') ?? hits.length)).map((d) => ({ ...d.body, ...JSON.parse(d.receipt) })) } };
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}

function http(status: number, body: unknown): string {
  const text = JSON.stringify(body);
  return `Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nHTTP/1.1 ${status} ${status < 300 ? 'OK' : 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
}

/** An application/http part's content: "POST EntitySet HTTP/1.1", headers, a blank line, the body. */
function request(text: string): { path: string; body: string } {
  const split = text.search(/\r?\n\r?\n/);
  const line = text.split(/\r?\n/)[0] ?? '';
  return { path: line.split(' ')[1] ?? '', body: split >= 0 ? text.slice(split).replace(/^\r?\n\r?\n/, '') : '' };
}

async function read(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
