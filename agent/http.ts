// What every HTTP sink needs around a request, in the adapter kit: a deadline for the whole exchange, an answer
// read only up to a bound, Retry-After read as the server meant it, an excerpt of an answer for a dead letter or a
// log line, and what a failure that got no complete answer means. Classification of answers stays in each sink.

export const EXCERPT_BYTES = 512;

/**
 * Reads at most `limit` bytes of a body; `cut` says the rest was dropped (the connection is destroyed). `bytes` for
 * answers parsed as bytes (multipart), `text` as UTF-8 (with a note where it was cut).
 */
export async function readBounded(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number): Promise<{ text: string; bytes: Buffer; cut: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    size += c.length;
    if (size > limit) {
      body.destroy();
      const bytes = Buffer.concat(chunks);
      return { text: `${bytes.toString('utf8')}... (answer cut at ${limit} bytes)`, bytes, cut: true };
    }
    chunks.push(c);
  }
  const bytes = Buffer.concat(chunks);
  return { text: bytes.toString('utf8'), bytes, cut: false };
}

/**
 * The whole exchange's deadline, joined with the caller's signal, and released as soon as the exchange ends.
 * AbortSignal.any with AbortSignal.timeout kept every request's signals, timer and weak references alive until the
 * timer fired (30 s by default): thousands of live objects at a few hundred requests a second (heap snapshots of
 * the MQTT benchmark here), each copied by the young-generation GC before it could die.
 */
export function requestDeadline(outer: AbortSignal, ms: number): { signal: AbortSignal; done: () => void } {
  const ac = new AbortController();
  const onOuter = () => ac.abort(outer.reason);
  if (outer.aborted) onOuter();
  else outer.addEventListener('abort', onOuter, { once: true });
  const timer = setTimeout(() => ac.abort(Object.assign(new Error(`request timeout: no complete answer within ${ms} ms`), { name: 'TimeoutError', code: 'ETIMEDOUT' })), ms).unref();
  return {
    signal: ac.signal,
    done: () => {
      clearTimeout(timer);
      outer.removeEventListener('abort', onOuter);
    },
  };
}

/** Retry-After as delta-seconds or an HTTP date, in ms; undefined when absent or unreadable. No cap here. */
export function parseRetryAfter(v: string | undefined, now = Date.now()): number | undefined {
  if (!v) return undefined;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const at = Date.parse(t);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function excerpt(s: string): string {
  const clean = s.replace(/\s+/g, ' ').trim();
  return clean.length > EXCERPT_BYTES ? `${clean.slice(0, EXCERPT_BYTES)}... (${clean.length} chars)` : clean;
}

/**
 * A request that got no complete answer (connection refused or cut, a timeout, a request that could not be built):
 * always retried by the caller. `overload`: a timeout, which says the remote side is slow; `config`: undici refused
 * to build the request, which an event's own parts never cause (keys are encoded, URLs checked per event), so it is
 * the sink's own configuration (a header or token value) and must never move a circuit breaker.
 */
export function networkFailure(err: unknown): { error: string; overload: boolean; config: boolean } {
  const e = err as { code?: string; name?: string; message?: string };
  const what = e.code ?? e.name ?? 'error';
  if (e.code === 'UND_ERR_INVALID_ARG' || e.code === 'ERR_INVALID_URL' || e.code === 'ERR_INVALID_CHAR') {
    return { error: `request could not be built (check the sink's headers and auth): ${excerpt(e.message ?? String(err))}`, overload: false, config: true };
  }
  const timeout = /TIMEOUT|Timeout|AbortError/.test(what) || /timeout/i.test(e.message ?? '');
  return { error: `${what}: ${excerpt(e.message ?? String(err))}`, overload: timeout, config: false };
}
