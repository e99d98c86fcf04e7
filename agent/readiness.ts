// When the agent must not call itself READY: whenever it cannot commit or cannot deliver. Each problem is one line
// naming what and since when, shown by /readyz, `plantsync status` and the log. A supervisor or load balancer
// trusting "ready" must never be told so while postings pile up unseen.

export interface ReadinessSettings {
  /** A sink whose breaker has not closed for this long is not ready (default 300 s). */
  breakerOpenSeconds: number;
  /** A sink with work waiting and no delivery for this long is not ready (default 300 s). */
  stallSeconds: number;
}

export interface ReadinessInput {
  now: number;
  settings: ReadinessSettings;
  /** Commits refused for a reason other than a full spool (an I/O error, a failed flush), since when. */
  commitFailing: { since: number; error: string } | undefined;
  /** The spool refuses business events at its cap (back-pressure): sources stop acknowledging. */
  spoolFull: { usedBytes: number; capBytes: number } | undefined;
  sinks: {
    name: string;
    startedAt: number;
    lastSuccessAt: number | undefined;
    /** Events it could send now and batches out or waiting to retry (not events parked behind a dead letter, which wait for a person). */
    workWaiting: number;
    breakerOpenSince: number | undefined;
    spoolFailingSince: number | undefined;
    spoolError: string | undefined;
  }[];
}

const ago = (now: number, t: number) => `${Math.round((now - t) / 1000)} s`;

export function readinessProblems(i: ReadinessInput): string[] {
  const out: string[] = [];
  if (i.commitFailing) out.push(`spool commits failing for ${ago(i.now, i.commitFailing.since)}: ${i.commitFailing.error}`);
  if (i.spoolFull) out.push(`spool full (${i.spoolFull.usedBytes} of ${i.spoolFull.capBytes} bytes): business events are refused and stay upstream`);
  for (const s of i.sinks) {
    if (s.spoolFailingSince !== undefined) out.push(`sink '${s.name}': spool ${s.spoolError ?? 'failing'} (for ${ago(i.now, s.spoolFailingSince)})`);
    if (s.breakerOpenSince !== undefined && i.now - s.breakerOpenSince >= i.settings.breakerOpenSeconds * 1000) {
      out.push(`sink '${s.name}': circuit breaker open for ${ago(i.now, s.breakerOpenSince)}`);
    }
    const lastProgress = Math.max(s.lastSuccessAt ?? 0, s.startedAt);
    if (s.workWaiting > 0 && i.now - lastProgress >= i.settings.stallSeconds * 1000) {
      out.push(`sink '${s.name}': ${s.workWaiting} events waiting and nothing delivered for ${ago(i.now, lastProgress)}`);
    }
  }
  return out;
}
