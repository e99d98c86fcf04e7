// The one place where the JetStream sink decides what a publish's result means for its event. A PubAck, also one
// marked duplicate (the stream had it within its duplicate window), is delivered. What can never go (larger than the
// server's max_payload or the stream's max_msg_size) is rejected, with the reason. Everything else is retried: a
// stream that is full for now (discard: new), no stream for the subject (a configuration being fixed), a timeout,
// a lost connection, an error not known here; an event is never dropped for a reason that may pass.
import type { ItemResult } from '../../agent/adapter-kit.ts';

/** JetStream API error codes with a meaning here (nats-server's errors.json). */
const MESSAGE_TOO_LARGE = 10054; // JSStreamMessageExceedsMaximumErr
const STREAM_STORE_FAILED = 10077; // JSStreamStoreFailedF: "maximum messages/bytes exceeded" with discard: new

export interface PubResult {
  stream: string;
  seq: number;
  duplicate: boolean;
}

export function classifyAck(ack: PubResult): ItemResult {
  return { kind: 'delivered', receipt: `${ack.stream}#${ack.seq}` };
}

export function classifyError(err: unknown, subject: string): ItemResult {
  const e = err as Error & { code?: unknown; isNoResponders?: () => boolean };
  const text = e?.message ?? String(err);
  if (e?.name === 'InvalidArgumentError' && /max_payload/.test(text)) {
    return { kind: 'rejected', reason: `larger than the NATS server's max_payload (${text}); it can never be published` };
  }
  if (e?.code === MESSAGE_TOO_LARGE) return { kind: 'rejected', reason: `the stream refuses it: ${text}` };
  if (e?.code === STREAM_STORE_FAILED) return { kind: 'retry', error: `the stream is full for now (${text}); retried as relays consume` };
  if (e?.isNoResponders?.() || /no responders/i.test(text)) {
    return { kind: 'retry', error: `no stream captures subject '${subject}' (or JetStream is not available there): check the stream's subjects` };
  }
  return { kind: 'retry', error: `publishing to '${subject}': ${e?.name ?? 'Error'}: ${text}` };
}
