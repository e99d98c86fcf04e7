// OData v2 $batch (multipart/mixed) as SAP Gateway speaks it: one changeset per event (all or nothing, executed in
// the order sent), and the answer read part by part. The outer answer is 202 even when changesets failed: each
// changeset answers with its own HTTP response (a failed one with a single error response instead of a changeset).
// Multipart framing is parsed by @remix-run/multipart-parser; the HTTP message inside each part is read here.
import { getMultipartBoundary, parseMultipart } from '@remix-run/multipart-parser';

export interface BatchRequest {
  method: 'POST' | 'GET';
  /** Relative to the service root, e.g. "ProdnOrdConf2". */
  path: string;
  body?: string;
}

export interface PartAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const CRLF = '\r\n';

/**
 * A $batch body, one part per request, in order: a POST in a changeset of its own (one unit of work), a GET as a
 * plain retrieve part (reads may not stand in changesets). `id` makes the boundaries unique.
 */
export function buildBatch(requests: BatchRequest[], id: string): { body: string; contentType: string } {
  const batch = `batch_${id}`;
  const out: string[] = [];
  requests.forEach((r, i) => {
    const http = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary', `Content-ID: ${i + 1}`, '', `${r.method} ${r.path} HTTP/1.1`, 'Accept: application/json'];
    if (r.method === 'GET') {
      out.push(`--${batch}`, ...http, '', '');
      return;
    }
    const changeset = `changeset_${id}_${i}`;
    const body = r.body ?? '';
    out.push(`--${batch}`, `Content-Type: multipart/mixed; boundary=${changeset}`, '', `--${changeset}`, ...http);
    out.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, '', body, `--${changeset}--`, '');
  });
  out.push(`--${batch}--`, '');
  return { body: out.join(CRLF), contentType: `multipart/mixed; boundary=${batch}` };
}

export class BatchAnswerError extends Error {
  override readonly name = 'BatchAnswerError';
}

/**
 * The answer's parts, one per changeset, in order. Throws BatchAnswerError when the answer is not a readable
 * multipart/mixed (the caller treats that as an unknown outcome, not as a rejection).
 */
export function parseBatchAnswer(contentType: string | undefined, body: Uint8Array, maxBytes: number): PartAnswer[] {
  const boundary = contentType && /^multipart\/mixed/i.test(contentType) ? getMultipartBoundary(contentType) : null;
  if (!boundary) throw new BatchAnswerError(`$batch answer is ${contentType ?? 'without a content type'}, not multipart/mixed`);
  const out: PartAnswer[] = [];
  try {
    for (const part of parseMultipart(body, { boundary, maxFileSize: maxBytes, maxTotalSize: maxBytes })) {
      const type = part.headers['content-type'] ?? '';
      const inner = /^multipart\/mixed/i.test(type) ? getMultipartBoundary(type) : null;
      if (inner) {
        // A changeset that went through: its responses, one per request in it (one here). The first failing one
        // speaks for the changeset, else the first.
        const answers = [...parseMultipart(part.bytes, { boundary: inner, maxFileSize: maxBytes, maxTotalSize: maxBytes })].map((p) => readHttp(p.text));
        out.push(answers.find((a) => a.status >= 300) ?? answers[0] ?? { status: 500, headers: {}, body: 'empty changeset answer' });
      } else out.push(readHttp(part.text));
    }
  } catch (err) {
    if (err instanceof BatchAnswerError) throw err;
    throw new BatchAnswerError(`$batch answer cannot be read: ${(err as Error).message}`);
  }
  return out;
}

/** An application/http part: "HTTP/1.1 201 Created", headers, a blank line, the body. */
function readHttp(text: string): PartAnswer {
  const split = text.indexOf('\r\n\r\n') >= 0 ? text.indexOf('\r\n\r\n') : text.indexOf('\n\n');
  const head = (split >= 0 ? text.slice(0, split) : text).split(/\r?\n/);
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '');
  if (!status) throw new BatchAnswerError(`a $batch part is not an HTTP response: ${JSON.stringify((head[0] ?? '').slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const c = line.indexOf(':');
    if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  const body = split >= 0 ? text.slice(split + (text.startsWith('\r\n\r\n', split) ? 4 : 2)) : '';
  return { status: Number(status[1]), headers, body };
}
