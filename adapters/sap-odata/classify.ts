// The one place where SAP's answers become results (per changeset, and for the $batch request as a whole).
//   2xx                                   delivered; the receipt is the document number from the created entity
//   an SAP message code or text configured as transient (a lock held by another user, a posting period being
//   closed), 408 425 429 500 502 503 504  retry (Retry-After honoured)
//   401/403 on the whole request           retry naming the configuration (credentials, CSRF), never dead letters
//   3xx                                   retry naming the Location: the sink's url is wrong
//   any other 4xx of a changeset          rejected with SAP's message class/number and text (dead letter)
// SAP's error body: {"error":{"code":"<class>/<number>","message":{"lang","value"},"innererror":{...}}}.
import { excerpt, networkFailure, parseRetryAfter, type ItemResult } from '../../agent/adapter-kit.ts';

/** A result with hints only this sink reads (pacing, logs). */
export type Verdict = ItemResult & { overload?: boolean; config?: boolean };

export interface SapErrorTable {
  transient: string[];
  transientText: string[];
}

const RETRY = new Set([408, 425, 429, 500, 502, 503, 504]);
const OVERLOAD = new Set([429, 503]);

/** SAP's error message: its code and text, read from the OData v2 error body (JSON or the XML Gateway also sends). */
export function sapError(body: string): { code: string | undefined; text: string } {
  try {
    const e = (JSON.parse(body) as { error?: { code?: unknown; message?: { value?: unknown } | string } }).error;
    if (e) {
      const text = typeof e.message === 'string' ? e.message : String(e.message?.value ?? '');
      return { code: typeof e.code === 'string' ? e.code : undefined, text };
    }
  } catch {
    // not JSON: an XML error or a proxy's page; the excerpt says what it was
  }
  const code = /<code>([^<]*)<\/code>/.exec(body)?.[1];
  const text = /<message[^>]*>([^<]*)<\/message>/.exec(body)?.[1];
  return { code, text: text ?? excerpt(body) };
}

/** One changeset's answer (or a whole request's, when it failed as a whole). */
export function classifyAnswer(status: number, body: string, retryAfter: string | undefined, table: SapErrorTable, now = Date.now()): Verdict {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  const { code, text } = sapError(body);
  const said = `HTTP ${status}${code ? ` ${code}` : ''}: ${excerpt(text || body)}`;
  if (status >= 300 && status < 400) return { kind: 'retry', keepBackoff: true, config: true, error: `${said}; the endpoint moved: the sink's url needs fixing` };
  if (RETRY.has(status)) return { kind: 'retry', retryAfterMs: parseRetryAfter(retryAfter, now), overload: OVERLOAD.has(status), error: said };
  const lower = text.toLowerCase();
  if ((code && table.transient.includes(code)) || table.transientText.some((t) => lower.includes(t.toLowerCase()))) {
    return { kind: 'retry', error: `${said} (transient: tried again later)` };
  }
  return { kind: 'rejected', status, reason: said };
}

/** The $batch request itself was refused: credentials or CSRF are the sink's configuration, never the events'. */
export function classifyRequest(status: number, body: string, retryAfter: string | undefined, table: SapErrorTable, now = Date.now()): Verdict {
  if (status === 401 || status === 403) {
    return { kind: 'retry', keepBackoff: true, config: true, error: `HTTP ${status}: SAP refused the credentials or the CSRF token: ${excerpt(sapError(body).text || body)}` };
  }
  const v = classifyAnswer(status, body, retryAfter, table, now);
  // A $batch refused as a whole (400 on the envelope) is no single event's fault: retried, and readiness says so.
  return v.kind === 'rejected' ? { kind: 'retry', keepBackoff: true, error: `$batch refused: ${v.reason}` } : v;
}

/** No complete answer: the outcome is unknown (the request may have been executed). */
export function classifyFailure(err: unknown): Verdict {
  const f = networkFailure(err);
  return { kind: 'retry', overload: f.overload, error: f.error, ...(f.config && { keepBackoff: true, config: true }) };
}

/** The verdict as the kit's result, its hints left here. */
export function resultOf(v: Verdict, receipt?: string): ItemResult {
  if (v.kind === 'delivered') return { kind: 'delivered', ...(receipt !== undefined && { receipt }) };
  if (v.kind === 'rejected') return { kind: 'rejected', status: v.status, reason: v.reason };
  return { kind: 'retry', error: v.error, ...(v.retryAfterMs !== undefined && { retryAfterMs: v.retryAfterMs }), ...(v.keepBackoff && { keepBackoff: true }) };
}
