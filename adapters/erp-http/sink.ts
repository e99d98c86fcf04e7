// The ERP HTTP sink: one request per batch (mode batch) or one per event along per-type routes (mode routes),
// over a keep-alive undici pool, with idempotency keys, auth, TLS, pacing, and every answer classified in
// classify.ts. It never throws for remote trouble: it returns an outcome for the dispatcher to settle.
import { Agent, request } from 'undici';
import { tlsClientOptions, type SinkContext, type Logger, type Metrics, resolveSecret, type Batch, type ClaimedEvent, type ItemResult, type Outcome, outcomeOf, sequencedJson, type Sink, type SinkHealth, compilePath, compileJsonTemplate, compileTemplate, type Expr, type Getter, type Scope, Pacing, CREDENTIAL_HEADER, scrub, openAuth, type Auth, readBounded, requestDeadline } from '../../agent/adapter-kit.ts';
import { classifyError, classifyStatus, classifyUnusable, resultOf, type ClassifyOptions, type Verdict } from './classify.ts';
import type { ErpHttpSinkConfig } from './config.ts';
import { matchItems, unexpectedType } from './answer.ts';

interface Answer {
  status: number;
  body: string;
  retryAfter: string | undefined;
  csrfRequired: boolean;
  contentType: string | undefined;
  location: string | undefined;
}

/** Why a 2xx answer cannot be used (undefined: it can); such an answer is retried with backoff, never believed. */
type Usable = (body: string) => string | undefined;

interface CompiledRoute {
  method: string;
  url: Expr;
  body: Expr;
}

const BREAKER_GAUGE = { closed: 0, 'half-open': 1, open: 2 } as const;

export class ErpHttpSink implements Sink {
  readonly name: string;
  /** Routes mode sends a key's events one by one and stops at its first failure; batch mode only when configured. */
  readonly keepsKeyOrderInBatch: boolean;
  pacing!: Pacing;
  private readonly cfg: ErpHttpSinkConfig;
  private readonly log: Logger;
  private readonly metrics: Metrics | undefined;
  private dispatcher!: Agent;
  private auth!: Auth;
  private headers: Record<string, string> = {};
  private csrf: Record<string, string> | undefined;
  private readonly routes = new Map<string, CompiledRoute>();
  private readonly classifyOpts: ClassifyOptions;
  private readonly items: { list?: Getter; status?: Getter; error?: Getter; receipt?: Getter; key?: Getter };
  private lastRedirectLog = 0;

  constructor(name: string, cfg: ErpHttpSinkConfig, ctx: Pick<SinkContext, 'log'> & Partial<SinkContext>) {
    this.name = name;
    this.cfg = cfg;
    this.keepsKeyOrderInBatch = cfg.mode === 'routes' || cfg.keyOrderInBatch === true;
    this.log = ctx.log;
    this.metrics = ctx.metrics;
    const r = cfg.response;
    this.classifyOpts = { duplicateStatus: r.duplicateStatus, duplicateBodyMatch: r.duplicateBodyMatch };
    this.items = {
      ...(r.itemsPath && { list: compilePath(r.itemsPath) }),
      ...(r.itemStatusPath && { status: compilePath(r.itemStatusPath) }),
      ...(r.itemErrorPath && { error: compilePath(r.itemErrorPath) }),
      ...(r.receiptPath && { receipt: compilePath(r.receiptPath) }),
      key: compilePath(r.itemKeyPath),
    };
  }

  async open(): Promise<void> {
    const c = this.cfg;
    const where = `sinks.${this.name}`;
    const secret = (v: string, path: string) => resolveSecret(v, `${where}.${path}`);
    this.dispatcher = new Agent({
      connections: c.connections,
      keepAliveTimeout: 30_000,
      connectTimeout: c.connectTimeoutMs,
      headersTimeout: c.timeoutMs,
      bodyTimeout: c.timeoutMs,
      connect: tlsClientOptions(c.tls, `${where}.tls`),
    });
    const { auth, secrets } = await openAuth(c.auth, this.dispatcher, c.url, where);
    this.auth = auth;
    for (const v of secrets) this.secrets.add(v);
    this.headers = Object.fromEntries(Object.entries(c.headers ?? {}).map(([k, v]) => [k.toLowerCase(), secret(v, `headers.${k}`)]));
    this.remember(this.headers);
    // A header no request could carry is the sink's configuration problem: refused here, at start, by name, rather
    // than found on every request (where it would dead-letter every event or retry for ever).
    for (const [k, v] of Object.entries(this.headers)) {
      if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(k) || !/^[\t\x20-\x7e]*$/.test(v)) throw new Error(`${where}.headers.${k}: not a valid HTTP header (a name of letters, digits and -, a value of printable ASCII)`);
    }
    for (const [type, r] of Object.entries(c.routes ?? {})) {
      this.routes.set(type, {
        method: r.method ?? 'POST',
        url: compileTemplate(r.url, `${where}.routes.${type}.url`, { encode: encodeURIComponent, subject: 'event', asText: true }),
        body: compileJsonTemplate(r.body, `${where}.routes.${type}.body`, { subject: 'event' }),
      });
    }
    const p = c.protect;
    this.pacing = new Pacing({
      maxConcurrency: c.connections,
      adaptive: p.adaptiveConcurrency,
      maxRequestsPerSecond: p.maxRequestsPerSecond,
      breakerFailures: p.breakerFailures,
      breakerOpenMs: p.breakerOpenMs,
      breakerMaxOpenMs: p.breakerMaxOpenMs,
    });
    this.pacing.onStateChange = (s) => {
      this.metrics?.gauge('plantsync_sink_breaker_state', 'Circuit breaker: 0 closed, 1 half-open, 2 open', ['sink']).set({ sink: this.name }, BREAKER_GAUGE[s]);
      this.log[s === 'open' ? 'warn' : 'info']({ breaker: s, concurrencyLimit: this.pacing.limit }, `circuit breaker ${s}`);
    };
  }

  async close(): Promise<void> {
    await this.dispatcher?.close();
  }

  health(): SinkHealth {
    return { breaker: this.pacing.state, concurrencyLimit: this.pacing.limit, ...(this.pacing.openSince !== undefined && { breakerOpenSince: this.pacing.openSince }) };
  }

  deliver(batch: Batch, signal: AbortSignal): Promise<Outcome> {
    return this.cfg.mode === 'batch' ? this.deliverBatch(batch, signal) : this.deliverEach(batch, signal);
  }

  /** One POST holding every event, under the batch's idempotency key. */
  private async deliverBatch(batch: Batch, signal: AbortSignal): Promise<Outcome> {
    const body = `{"batchKey":${JSON.stringify(batch.key)},"events":[${batch.events.map(sequencedJson).join(',')}]}`;
    const first = batch.events[0]!;
    let items: unknown[] = [];
    // With per-event results, an answer without them is not a delivery: it goes again, with backoff.
    const usable: Usable | undefined = this.items.list && ((text) => {
      const r = this.readItems(text, batch.events.map((e) => e.idempotencyKey));
      if (!r.ok) return r.error;
      items = r.items;
      return undefined;
    });
    const answer = await this.send('POST', this.cfg.url, body, { 'idempotency-key': batch.key, 'x-correlation-id': batch.key, 'x-plantsync-ordering-key': headerValue(first.orderingKey) }, signal, usable);
    const v = answer.verdict;
    if (v.kind !== 'delivered') return resultOf(v);
    if (!this.items.list) {
      const receipt = this.receiptOf(answer.body);
      return { kind: 'delivered', receipts: batch.events.map(() => receipt) };
    }
    return this.itemResults(items);
  }

  /** The answer's per-event results, paired with the events (answer.ts): by idempotency key unless configured so. */
  private readItems(text: string, keys: string[]): { ok: true; items: unknown[] } | { ok: false; error: string } {
    let list: unknown;
    try {
      list = this.items.list!(JSON.parse(text));
    } catch {
      list = undefined;
    }
    if (!Array.isArray(list)) return { ok: false, error: `answer has no per-event results at '${this.cfg.response.itemsPath}'` };
    return matchItems(list as unknown[], keys, this.cfg.response.matchItemsBy, this.items.key);
  }

  /** Per-event results classified like HTTP statuses; an event the answer says nothing about goes again. */
  private itemResults(items: unknown[]): Outcome {
    const results = items.map((item): ItemResult => {
      if (item === undefined) return { kind: 'retry', error: 'the answer has no result for this event (matched by idempotency key)' };
      const err = this.items.error?.(item);
      const status = Number(this.items.status?.(item) ?? (err ? 422 : 200));
      const v = classifyStatus(status, typeof err === 'string' ? err : JSON.stringify(err ?? ''), undefined, this.classifyOpts);
      return v.kind === 'delivered' ? { kind: 'delivered', receipt: this.str(this.items.receipt?.(item)) } : resultOf(v);
    });
    return outcomeOf(results);
  }

  /** One request per event along its type's route; a key stops at its first failure so it stays in order. */
  private async deliverEach(batch: Batch, signal: AbortSignal): Promise<Outcome> {
    const results: ItemResult[] = [];
    const stoppedKeys = new Set<string>();
    let halt: string | undefined;
    for (const e of batch.events) {
      if (halt || stoppedKeys.has(e.orderingKey)) {
        results.push({ kind: 'retry', error: halt ?? 'an earlier event of this ordering key did not go through' });
        continue;
      }
      const route = this.routes.get(e.type);
      if (!route) {
        results.push({ kind: 'rejected', reason: `no route for event type '${e.type}' in sink ${this.name}` });
        stoppedKeys.add(e.orderingKey);
        continue;
      }
      let url: string;
      let body: string;
      try {
        const event: Scope = { ...(JSON.parse(e.body) as object), sequence: e.seq };
        url = new URL(String(route.url(event)), this.cfg.url).toString();
        body = JSON.stringify(route.body(event));
      } catch (err) {
        results.push({ kind: 'rejected', reason: `template: ${(err as Error).message}` });
        stoppedKeys.add(e.orderingKey);
        continue;
      }
      const answer = await this.send(route.method, url, body, eventHeaders(e), signal);
      const v = answer.verdict;
      if (v.kind === 'delivered') results.push({ kind: 'delivered', receipt: this.receiptOf(answer.body) });
      else {
        results.push(resultOf(v));
        if (v.kind === 'rejected') stoppedKeys.add(e.orderingKey);
        else halt = v.error; // the ERP is struggling: leave the rest of the batch for the retry instead of pressing on
      }
    }
    return outcomeOf(results);
  }

  /** Sends one request through pacing and auth (one refresh-and-retry on 401) and classifies the answer. */
  /**
   * Sends one request and classifies the answer; the verdict's text never carries our credentials: an ERP (or a
   * proxy) that echoes our Authorization or API key has them cut out before they reach the log, a dead letter or
   * /status.
   */
  private async send(method: string, url: string, body: string, extra: Record<string, string>, signal: AbortSignal, usable?: Usable): Promise<{ verdict: Verdict; body: string }> {
    const r = await this.exchange(method, url, body, extra, signal, usable);
    const v = r.verdict;
    if (v.kind === 'retry') v.error = scrub(v.error, this.secrets);
    else if (v.kind === 'rejected') v.reason = scrub(v.reason, this.secrets);
    return r;
  }

  /** Secret values this sink sends (auth, credential headers, the current OAuth2 and CSRF tokens). */
  private readonly secrets = new Set<string>();

  private remember(headers: Record<string, string>): void {
    for (const [k, v] of Object.entries(headers)) if (CREDENTIAL_HEADER.test(k) || k === 'x-csrf-token') this.secrets.add(v);
    if (this.secrets.size > 64) this.secrets.delete(this.secrets.values().next().value!); // tokens rotate; keep it small
  }

  private async exchange(method: string, url: string, body: string, extra: Record<string, string>, signal: AbortSignal, usable?: Usable): Promise<{ verdict: Verdict; body: string }> {
    for (let attempt = 0; ; attempt++) {
      let release;
      try {
        release = await this.pacing.acquire(signal);
      } catch (err) {
        return { verdict: classifyError(err), body: '' };
      }
      const started = performance.now();
      let answer: Answer;
      const deadline = requestDeadline(signal, this.cfg.timeoutMs);
      try {
        const auth = await this.auth.headers(signal);
        const csrf = this.cfg.csrf ? await this.csrfHeaders(auth, signal) : {};
        this.remember(auth);
        this.remember(csrf);
        const res = await request(url, {
          method: method as 'POST',
          dispatcher: this.dispatcher,
          headers: { 'content-type': 'application/json', accept: 'application/json', ...this.headers, ...auth, ...csrf, ...extra },
          body,
          signal: deadline.signal,
        });
        const { text } = await readBounded(res.body, this.cfg.maxResponseBytes);
        const h = (name: string) => {
          const v = res.headers[name];
          return Array.isArray(v) ? v[0] : v;
        };
        answer = { status: res.statusCode, body: text, retryAfter: h('retry-after'), csrfRequired: String(h('x-csrf-token') ?? '').toLowerCase() === 'required', contentType: h('content-type'), location: h('location') };
      } catch (err) {
        const v = classifyError(err);
        // A request that could not even be built says nothing about the ERP: it never moves the breaker.
        release(v.kind === 'retry' && v.config ? 'neutral' : v.kind === 'retry' && v.overload ? 'overload' : 'failure');
        this.count('error', started);
        return { verdict: v, body: '' };
      } finally {
        deadline.done();
      }
      if (answer.status === 401 && attempt === 0 && this.auth.invalidate()) {
        release('neutral');
        continue; // the token expired or was revoked: fetch a fresh one and try once more
      }
      if (answer.status === 403 && answer.csrfRequired && attempt === 0 && this.cfg.csrf) {
        release('neutral');
        this.csrf = undefined;
        continue; // the CSRF token's session ended: fetch a new one and try once more
      }
      let v = classifyStatus(answer.status, answer.body, answer.retryAfter, this.classifyOpts, Date.now(), answer.location);
      if (v.kind === 'delivered' && !v.duplicate) {
        // A 2xx is believed only when it is the ERP's answer: the expected content type, and usable per-event results.
        const why = unexpectedType(answer.contentType, answer.body, this.cfg.response.contentType) ?? usable?.(answer.body);
        if (why) v = classifyUnusable(answer.status, why, answer.body);
      }
      if (v.kind === 'retry' && v.redirect) this.logRedirect(v.error);
      release(v.kind === 'delivered' ? 'ok' : v.kind === 'rejected' ? 'neutral' : v.overload ? 'overload' : 'failure');
      this.count(v.kind === 'delivered' ? (v.duplicate ? 'duplicate' : 'delivered') : v.kind, started);
      return { verdict: v, body: answer.body };
    }
  }

  /**
   * SAP Gateway (OData v2) refuses a POST without a CSRF token bound to a session cookie: fetch both once with a
   * GET "x-csrf-token: Fetch", reuse them, and fetch again when the ERP answers 403 "x-csrf-token: Required".
   */
  private async csrfHeaders(auth: Record<string, string>, signal: AbortSignal): Promise<Record<string, string>> {
    if (!this.csrf) {
      const res = await request(new URL(this.cfg.csrf!.fetchUrl, this.cfg.url).toString(), {
        method: 'GET',
        dispatcher: this.dispatcher,
        headers: { ...this.headers, ...auth, 'x-csrf-token': 'Fetch', accept: 'application/json' },
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.cfg.timeoutMs)]),
      });
      await res.body.dump();
      const token = res.headers['x-csrf-token'];
      if (typeof token !== 'string' || !token) throw Object.assign(new Error(`CSRF fetch answered HTTP ${res.statusCode} without a token`), { code: 'CSRF_FETCH' });
      const setCookie = res.headers['set-cookie'];
      const cookies = (Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []).map((c) => c.split(';')[0]).join('; ');
      this.csrf = { 'x-csrf-token': token, ...(cookies && { cookie: cookies }) };
    }
    return this.csrf;
  }

  /** A moved endpoint is the sink's configuration problem: said loudly (at most once a minute), never a dead letter. */
  private logRedirect(error: string): void {
    if (Date.now() - this.lastRedirectLog < 60_000) return;
    this.lastRedirectLog = Date.now();
    this.log.error({ error: scrub(error, this.secrets) }, `the ERP endpoint answers with a redirect: fix sinks.${this.name}.url; events wait in the spool`);
  }

  private count(outcome: string, started: number): void {
    const m = this.metrics;
    if (!m) return;
    m.counter('plantsync_sink_requests_total', 'Requests to the sink by outcome', ['sink', 'outcome']).inc({ sink: this.name, outcome });
    m.histogram('plantsync_sink_request_seconds', 'Request duration', ['sink']).observe({ sink: this.name }, (performance.now() - started) / 1000);
    m.gauge('plantsync_sink_concurrency_limit', 'Adaptive concurrency limit (AIMD)', ['sink']).set({ sink: this.name }, this.pacing.limit);
  }

  private receiptOf(body: string): string | undefined {
    if (!this.items.receipt || this.items.list) return undefined;
    try {
      return this.str(this.items.receipt(JSON.parse(body)));
    } catch {
      return undefined;
    }
  }

  private str(v: unknown): string | undefined {
    return v === undefined || v === null ? undefined : String(v);
  }
}

/**
 * A header value every HTTP stack accepts, whatever script a business key is written in: printable ASCII other
 * than '%' goes as it is; anything else (Cyrillic, Chinese, umlauts, CR/LF, '%', spaces) is percent-encoded as
 * UTF-8 (RFC 3986). An encoded value always holds a '%' and a literal one never does, so two keys never share a
 * header value, and CR/LF can never start a header of their own. The body carries every key exactly as it is.
 */
export function headerValue(s: string): string {
  return /^[\x21-\x24\x26-\x7e]*$/.test(s) ? s : encodeURIComponent(s);
}

function eventHeaders(e: ClaimedEvent): Record<string, string> {
  return {
    'idempotency-key': headerValue(e.idempotencyKey),
    'x-correlation-id': headerValue(e.correlationId),
    'x-plantsync-ordering-key': headerValue(e.orderingKey),
    'x-plantsync-sequence': String(e.seq),
    'x-plantsync-event-type': e.type,
  };
}
