// The SAP S/4HANA OData v2 sink: a batch goes to SAP as one $batch per service, one changeset per event (a batch
// holds at most one event per ordering key, so no changeset of a key can be overtaken by the next one's), with the
// session's CSRF token and cookies. Each changeset's answer becomes that event's result (classify.ts), SAP's
// document number its receipt. Before a batch goes out again (a retry, a restart), events whose last outcome is
// unknown are looked up by the reference written into their document: one SAP booked is settled as delivered with
// its document number, never booked twice. It never throws for remote trouble: it returns an outcome.
import { createHash, randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import {
  compileJsonTemplate, compileTemplate, openAuth, outcomeOf, Pacing, readBounded, requestDeadline, scrub, tlsClientOptions,
  type Auth, type Batch, type ClaimedEvent, type Expr, type ItemResult, type Logger, type Metrics, type Outcome, type Scope, type Sink, type SinkContext, type SinkHealth,
} from '../../agent/adapter-kit.ts';
import { buildBatch, BatchAnswerError, parseBatchAnswer, type BatchRequest, type PartAnswer } from './batch.ts';
import { classifyAnswer, classifyFailure, classifyRequest, resultOf, type Verdict } from './classify.ts';
import type { SapODataSinkConfig } from './config.ts';
import { cookieHeader, takeCookies, tokenRequired, type CsrfSession } from './csrf.ts';
import { defaultRoutes, routeName, routeOf } from './entities.ts';

interface Compiled {
  service: string;
  entitySet: string;
  body: Expr;
  reference: Expr;
  referenceField: string;
  receipt: string[];
}

/** One event on its way: its route, its request, and where its result goes. */
interface Item {
  index: number;
  event: ClaimedEvent;
  route: Compiled;
  body: string;
  reference: string;
}

export class SapODataSink implements Sink {
  readonly name: string;
  /** A changeset of a key can fail while the next one books: one event per key per batch (the default). */
  readonly keepsKeyOrderInBatch = false;
  pacing!: Pacing;
  private readonly cfg: SapODataSinkConfig;
  private readonly log: Logger;
  private readonly metrics: Metrics | undefined;
  private dispatcher!: Agent;
  private auth!: Auth;
  private readonly routes = new Map<string, Compiled>();
  private readonly sessions = new Map<string, CsrfSession>();
  private readonly secrets = new Set<string>();
  /** Events whose last answer said for certain that SAP did not book them: no lookup before they go again. */
  private readonly notBooked = new Set<string>();

  constructor(name: string, cfg: SapODataSinkConfig, ctx: Pick<SinkContext, 'log'> & Partial<SinkContext>) {
    this.name = name;
    this.cfg = cfg;
    this.log = ctx.log;
    this.metrics = ctx.metrics;
  }

  async open(): Promise<void> {
    const c = this.cfg;
    const where = `sinks.${this.name}`;
    this.dispatcher = new Agent({ connections: c.connections, keepAliveTimeout: 30_000, connectTimeout: c.connectTimeoutMs, headersTimeout: c.timeoutMs, bodyTimeout: c.timeoutMs, connect: tlsClientOptions(c.tls, `${where}.tls`) });
    const { auth, secrets } = await openAuth(c.auth, this.dispatcher, c.url, where);
    this.auth = auth;
    for (const s of secrets) this.secrets.add(s);
    const types = new Set([...Object.keys(c.routes), ...Object.keys(defaultRoutes)]);
    for (const type of types) {
      const r = routeOf(type, c.routes[type]);
      if (!r) continue;
      const at = `${where}.routes.${type}`;
      this.routes.set(type, { service: r.service, entitySet: r.entitySet, body: compileJsonTemplate(r.body, `${at}.body`, { subject: 'event' }), reference: compileTemplate(r.reference.value, `${at}.reference`, { subject: 'event', asText: true }), referenceField: r.reference.field, receipt: r.receipt });
    }
    const p = c.protect;
    this.pacing = new Pacing({ maxConcurrency: c.connections, adaptive: true, maxRequestsPerSecond: p.maxRequestsPerSecond, breakerFailures: p.breakerFailures, breakerOpenMs: p.breakerOpenMs, breakerMaxOpenMs: p.breakerMaxOpenMs });
  }

  async close(): Promise<void> {
    await this.dispatcher?.close();
  }

  health(): SinkHealth {
    return { breaker: this.pacing.state, concurrencyLimit: this.pacing.limit, ...(this.pacing.openSince !== undefined && { breakerOpenSince: this.pacing.openSince }) };
  }

  async deliver(batch: Batch, signal: AbortSignal): Promise<Outcome> {
    const results: ItemResult[] = new Array<ItemResult>(batch.events.length);
    let items: Item[] = [];
    batch.events.forEach((event, index) => {
      try {
        const scope = JSON.parse(event.body) as Scope;
        const name = routeName(event.type, scope);
        const route = this.routes.get(name);
        if (!route) return void (results[index] = { kind: 'rejected', reason: `no SAP route for '${name}' in sink ${this.name}` });
        items.push({ index, event, route, body: JSON.stringify(route.body(scope)), reference: String(route.reference(scope)) });
      } catch (err) {
        results[index] = { kind: 'rejected', reason: `template: ${(err as Error).message}` };
      }
    });
    // The unknown-outcome check: before anything goes again, ask SAP whether it booked it already.
    if (batch.resend && this.cfg.lookup) items = await this.lookUp(items.filter((it) => !this.notBooked.has(it.event.idempotencyKey)), results, signal).then((found) => items.filter((it) => !found.has(it.index)));
    for (const [service, group] of groupBy(items, (it) => it.route.service)) {
      const requests: BatchRequest[] = group.map((it) => ({ method: 'POST', path: it.route.entitySet, body: it.body }));
      const answer = await this.batch(service, requests, this.requestId(batch.key, service), signal);
      group.forEach((it, i) => (results[it.index] = this.settleItem(it, answer, i)));
    }
    return outcomeOf(results);
  }

  /** One event's result from its changeset's answer; remembers what SAP certainly did not book. */
  private settleItem(it: Item, answer: { parts: PartAnswer[] } | { failure: Verdict }, i: number): ItemResult {
    if ('failure' in answer) return resultOf(answer.failure); // the whole request: outcome unknown, looked up next time
    const part = answer.parts[i];
    if (!part) return { kind: 'retry', error: `the $batch answer has no part for changeset ${i + 1}` };
    const v = classifyAnswer(part.status, part.body, part.headers['retry-after'], this.cfg.errors);
    if (v.kind === 'retry') this.remember(it.event.idempotencyKey); // a changeset answered: rolled back, not booked
    else this.notBooked.delete(it.event.idempotencyKey);
    return resultOf(v, v.kind === 'delivered' ? this.receiptOf(part.body, it.route.receipt) : undefined);
  }

  private remember(key: string): void {
    this.notBooked.add(key);
    if (this.notBooked.size > 100_000) this.notBooked.delete(this.notBooked.values().next().value!);
  }

  /** Looks each event up by its reference (one $batch of reads per service); returns the indexes found booked. */
  private async lookUp(items: Item[], results: ItemResult[], signal: AbortSignal): Promise<Set<number>> {
    const found = new Set<number>();
    for (const [service, group] of groupBy(items, (it) => it.route.service)) {
      const reads: BatchRequest[] = group.map((it) => ({ method: 'GET', path: `${it.route.entitySet}?$filter=${encodeURIComponent(`${it.route.referenceField} eq '${it.reference.replaceAll("'", "''")}'`)}&$select=${it.route.receipt.join(',')}&$top=1` }));
      const answer = await this.batch(service, reads, undefined, signal);
      if ('failure' in answer) {
        // Cannot look: send nothing that might be booked already; the batch waits and looks again.
        for (const it of group) (results[it.index] = { kind: 'retry', error: `unknown outcome, and the lookup failed: ${answer.failure.kind === 'retry' ? answer.failure.error : ''}` }, found.add(it.index));
        continue;
      }
      group.forEach((it, i) => {
        const part = answer.parts[i];
        const hit = part && part.status === 200 ? (JSON.parse(part.body) as { d?: { results?: Record<string, unknown>[] } }).d?.results?.[0] : undefined;
        if (hit) {
          results[it.index] = { kind: 'delivered', receipt: it.route.receipt.map((f) => String(hit[f] ?? '')).join('/') };
          found.add(it.index);
          this.count('lookup_found');
          this.log.warn({ idempotencyKey: it.event.idempotencyKey, receipt: results[it.index]!.kind === 'delivered' ? (results[it.index] as { receipt?: string }).receipt : undefined }, 'SAP had booked this event already (its answer was lost): settled as delivered, not sent again');
        } else if (!part || part.status !== 200) {
          results[it.index] = { kind: 'retry', error: `unknown outcome, and the lookup answered HTTP ${part?.status ?? 'nothing'}` };
          found.add(it.index);
        }
      });
    }
    return found;
  }

  /** SAP's RequestID for this batch's request to a service: the same on every retry and after a restart. */
  private requestId(batchKey: string, service: string): string | undefined {
    return this.cfg.requestId ? createHash('sha256').update(`${batchKey}/${service}`).digest('hex').slice(0, 32).toUpperCase() : undefined;
  }

  /** One $batch to a service, through pacing, auth and CSRF (a fresh token once on 403 Required, a fresh login once on 401). */
  private async batch(service: string, requests: BatchRequest[], requestId: string | undefined, signal: AbortSignal): Promise<{ parts: PartAnswer[] } | { failure: Verdict }> {
    const { body, contentType } = buildBatch(requests, randomUUID().replaceAll('-', ''));
    for (let attempt = 0; ; attempt++) {
      let release;
      try {
        release = await this.pacing.acquire(signal);
      } catch (err) {
        return { failure: classifyFailure(err) };
      }
      const started = performance.now();
      const deadline = requestDeadline(signal, this.cfg.timeoutMs);
      try {
        const auth = await this.auth.headers(signal);
        const session = await this.session(service, auth, deadline.signal);
        const res = await request(this.serviceUrl(service, '$batch'), {
          method: 'POST',
          dispatcher: this.dispatcher,
          headers: { ...auth, ...cookieHeader(session), 'x-csrf-token': session.token, 'content-type': contentType, accept: 'multipart/mixed', ...(requestId && { requestid: requestId, repeatabilitycreation: new Date().toUTCString() }) },
          body,
          signal: deadline.signal,
        });
        takeCookies(session.cookies, res.headers);
        const { bytes: raw, cut } = await readBounded(res.body, this.cfg.maxResponseBytes);
        if (cut) throw new BatchAnswerError(`$batch answer larger than ${this.cfg.maxResponseBytes} bytes (maxResponseBytes): outcome unknown`);
        if (tokenRequired(res.statusCode, res.headers) && attempt === 0) {
          release('neutral');
          this.sessions.delete(service);
          continue;
        }
        if (res.statusCode === 401 && attempt === 0 && this.auth.invalidate()) {
          release('neutral');
          continue;
        }
        if (res.statusCode !== 200 && res.statusCode !== 202) {
          const v = classifyRequest(res.statusCode, raw.toString('utf8'), header(res.headers['retry-after']), this.cfg.errors);
          release(v.kind === 'retry' && v.overload ? 'overload' : v.kind === 'retry' && !v.config ? 'failure' : 'neutral');
          this.count(`http_${res.statusCode}`, started);
          return { failure: { ...v, ...(v.kind === 'retry' && { error: scrub(v.error, this.secrets) }) } };
        }
        const parts = parseBatchAnswer(header(res.headers['content-type']), raw, this.cfg.maxResponseBytes);
        release('ok');
        this.count('ok', started);
        // SAP answered a RequestID it had seen from its own record: the batch was executed once, earlier.
        const repeated = header(res.headers.repeatabilityresult);
        if (repeated) this.count(`repeatability_${repeated.toLowerCase()}`);
        return { parts };
      } catch (err) {
        const v = err instanceof BatchAnswerError ? ({ kind: 'retry', error: err.message } as Verdict) : classifyFailure(err);
        release(v.kind === 'retry' && v.config ? 'neutral' : v.kind === 'retry' && v.overload ? 'overload' : 'failure');
        this.count('error', started);
        return { failure: v.kind === 'retry' ? { ...v, error: scrub(v.error, this.secrets) } : v };
      } finally {
        deadline.done();
      }
    }
  }

  /** The service's CSRF session: fetched once (GET of the service root with X-CSRF-Token: Fetch), then reused. */
  private async session(service: string, auth: Record<string, string>, signal: AbortSignal): Promise<CsrfSession> {
    const known = this.sessions.get(service);
    if (known) return known;
    const cookies = new Map<string, string>();
    const res = await request(this.serviceUrl(service, ''), { method: 'GET', dispatcher: this.dispatcher, headers: { ...auth, 'x-csrf-token': 'Fetch', accept: 'application/json' }, signal });
    await readBounded(res.body, 65_536);
    takeCookies(cookies, res.headers);
    const token = header(res.headers['x-csrf-token']);
    if (!token || token.toLowerCase() === 'required') throw Object.assign(new Error(`CSRF token fetch of ${service} answered HTTP ${res.statusCode} without a token`), { code: 'CSRF_FETCH' });
    const s = { token, cookies };
    this.secrets.add(token);
    this.sessions.set(service, s);
    return s;
  }

  private serviceUrl(service: string, path: string): string {
    const u = new URL(`${this.cfg.servicePath.replace(/\/?$/, '/')}${service}/${path}`, this.cfg.url);
    if (this.cfg.client) u.searchParams.set('sap-client', this.cfg.client);
    u.searchParams.set('sap-language', this.cfg.language);
    return u.toString();
  }

  private receiptOf(body: string, fields: string[]): string | undefined {
    try {
      const d = (JSON.parse(body) as { d?: Record<string, unknown> }).d;
      return d ? fields.map((f) => String(d[f] ?? '')).join('/') : undefined;
    } catch {
      return undefined;
    }
  }

  private count(outcome: string, started?: number): void {
    const m = this.metrics;
    if (!m) return;
    m.counter('plantsync_sink_requests_total', 'Requests to the sink by outcome', ['sink', 'outcome']).inc({ sink: this.name, outcome });
    if (started !== undefined) m.histogram('plantsync_sink_request_seconds', 'Request duration', ['sink']).observe({ sink: this.name }, (performance.now() - started) / 1000);
  }
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const group = m.get(k);
    if (group) group.push(it);
    else m.set(k, [it]);
  }
  return m;
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
