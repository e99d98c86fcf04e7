// Payload decoders. A payload that cannot be decoded is not an error of the agent: it becomes a rejected record
// with a reason that says where it broke.
import { parseJsonExact } from '../../agent/adapter-kit.ts';
export type Decoded = { ok: true; value: unknown } | { ok: false; reason: string };

export function decode(payload: Buffer, as: 'json' | 'text' | 'number'): Decoded {
  const text = payload.toString('utf8');
  if (as === 'text') return { ok: true, value: text };
  if (as === 'number') {
    const n = Number(text.trim());
    return text.trim() !== '' && Number.isFinite(n) ? { ok: true, value: n } : { ok: false, reason: `not a number: ${JSON.stringify(text.slice(0, 40))}` };
  }
  try {
    return { ok: true, value: parseJsonExact(text) };
  } catch (err) {
    return { ok: false, reason: `malformed JSON: ${(err as Error).message}` };
  }
}
