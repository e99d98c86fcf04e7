// Duplicates beyond the stream's duplicate window. The stream de-duplicates a publish by its Nats-Msg-Id only within
// that window (2 minutes by default), and a batch of ours can go out again hours after its first send: the PubAck
// was lost, then the plant's link was down, or the agent was killed and restarted. So before such an event is sent
// again, the stream is asked whether it already holds it: an ordered, headers-only consumer reads the event's
// subject from the event's append time (less a margin for clock steps) to the end, looking for its Nats-Msg-Id.
// Only resent batches whose events are older than the window pay for this, so it is rare and bounded by one
// subject's traffic since the first send.
import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import type { ClaimedEvent } from '../../agent/adapter-kit.ts';

/** Clock steps and the time between append and first send are covered by starting the search this much earlier. */
const MARGIN_MS = 5 * 60_000;

export class ResendCheck {
  private readonly js: JetStreamClient;
  private readonly stream: string;

  constructor(js: JetStreamClient, stream: string) {
    this.js = js;
    this.stream = stream;
  }

  /**
   * Whether an event needs the search: its first send was after its append, so an event appended less than half
   * the window ago is certainly within it, and the stream recognises its Nats-Msg-Id itself.
   */
  static needed(e: ClaimedEvent, duplicateWindowMs: number, now: number): boolean {
    return now - e.appendedAt > duplicateWindowMs / 2;
  }

  /** Idempotency keys of these events (each with its subject) that the stream already holds. */
  async stored(events: { e: ClaimedEvent; subject: string }[]): Promise<Set<string>> {
    const found = new Set<string>();
    const bySubject = new Map<string, { keys: Set<string>; from: number }>();
    for (const { e, subject } of events) {
      const s = bySubject.get(subject) ?? { keys: new Set<string>(), from: e.appendedAt };
      s.keys.add(e.idempotencyKey);
      s.from = Math.min(s.from, e.appendedAt);
      bySubject.set(subject, s);
    }
    for (const [subject, { keys, from }] of bySubject) {
      const consumer = await this.js.consumers.get(this.stream, {
        filter_subjects: subject,
        deliver_policy: DeliverPolicy.StartTime,
        opt_start_time: new Date(from - MARGIN_MS).toISOString(),
        headers_only: true,
      });
      try {
        while (keys.size > 0) {
          const m = await consumer.next({ expires: 2000 });
          if (!m) break; // nothing (more) on this subject since then
          const id = m.headers?.get('Nats-Msg-Id');
          if (id && keys.delete(id)) found.add(id);
          if (m.info.pending === 0) break; // the end of the subject as the stream holds it now
        }
      } finally {
        await consumer.delete().catch(() => {});
      }
    }
    return found;
  }
}
