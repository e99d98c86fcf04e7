// What the demo prints while it runs: one progress line a second (the press's state, what was spooled, what the ERP
// booked per kind of event), a line when the ERP goes down, answers again and the breaker opens or closes, and each
// kind of agent warning once, as a sentence, never a JSON log line in the middle of the progress.
import { Writable } from 'node:stream';

/** A log destination that prints each distinct warning or error once, and counts the repeats. */
export function warningsOnce(print: (line: string) => void): Writable & { repeats: () => number } {
  const seen = new Map<string, number>();
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        let l: { level?: number; msg?: string; error?: string; err?: { message?: string } | string };
        try {
          l = JSON.parse(line) as typeof l;
        } catch {
          continue;
        }
        if ((l.level ?? 0) < 40 || !l.msg) continue;
        const n = seen.get(l.msg) ?? 0;
        seen.set(l.msg, n + 1);
        const why = l.error ?? (typeof l.err === 'string' ? l.err : l.err?.message);
        if (!n) print(`-- agent ${(l.level ?? 0) >= 50 ? 'error' : 'warning'}: ${l.msg}${why ? ` (${why})` : ''}`);
      }
      done();
    },
  });
  return Object.assign(w, { repeats: () => [...seen.values()].reduce((a, n) => a + n - 1, 0) });
}

const KINDS: [string, string][] = [
  ['production.confirmation', 'confirmations'],
  ['material.consumption', 'consumptions'],
  ['machine.downtime', 'downtime starts/ends'],
  ['quality.hold', 'holds/releases'],
  ['goods.receipt', 'goods receipts'],
];

/** "612 confirmations, 240 consumptions, 4 downtime starts/ends, ..." of what the sinks delivered. */
export function bookedByKind(byType: ReadonlyMap<string, number>): string {
  return KINDS.map(([type, label]) => `${byType.get(type) ?? 0} ${label}`).join(', ');
}

/** The press as an operator names it: running, down, held (quality hold), or not reachable over OPC UA. */
export function pressState(connected: boolean, state: unknown, hold: unknown): string {
  if (!connected) return 'OPC UA NOT CONNECTED';
  if (hold === true) return 'HELD';
  return state === 'DOWN' ? 'DOWN' : 'running';
}

/** Says when the sink's breaker opens and closes, and when the ERP answers again after an outage. */
export class SinkWatch {
  private breaker: 'open' | 'closed' = 'closed';
  private outageAt: number | undefined;
  private readonly print: (line: string) => void;
  private readonly t: () => string;

  constructor(print: (line: string) => void, t: () => string) {
    this.print = print;
    this.t = t;
  }

  outageStarted(at: number): void {
    this.outageAt = at;
  }

  check(s: { breaker: string; lastSuccessAt?: number | undefined; pending: number; held: number }): void {
    // Opened and closed, once each per outage: the half-open probes between (every few seconds while the ERP is
    // down) would repeat for as long as it is.
    if (s.breaker === 'open' && this.breaker === 'closed') {
      this.print(`-- t=${this.t()}s breaker opened: requests wait instead of hammering the ERP (one probe now and then)`);
      this.breaker = 'open';
    } else if (s.breaker === 'closed' && this.breaker === 'open') {
      this.print(`-- t=${this.t()}s breaker closed: deliveries flow again`);
      this.breaker = 'closed';
    }
    if (this.outageAt !== undefined && s.lastSuccessAt !== undefined && s.lastSuccessAt > this.outageAt) {
      this.print(`-- t=${this.t()}s the ERP answers again: ${s.pending + s.held} events waiting drain, paced`);
      this.outageAt = undefined;
    }
  }
}
