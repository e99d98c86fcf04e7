// claim and settle: the spool's delivery state transitions.
// Invariants (spool/README.md): at most one batch in flight per (sink, ordering key); events of a key leave in
// append order; a claim is persisted before it is handed out, so a retry, also after a restart, re-sends the same
// batch under the same batch key; nothing leaves the spool's tables except through settle, drop or retention.
import { createHash } from 'node:crypto';
import type { Db } from './open.ts';
import { SinkState, type ClaimState } from './sink-state.ts';
import { MultiInsert } from './multi-insert.ts';
import type { Claim, ClaimedEvent, ItemResult, Outcome } from './types.ts';

interface OutboxRow {
  seq: number;
  okey: string;
}

interface ScanRow {
  seq: number;
  okey: string;
  idem: string;
  type: string;
  occurred_at: number;
  appended_at: number;
  corr: string | null;
  body: string;
}

export interface DeliveryDeps {
  db: Db;
  now: () => number;
  onRejectPolicy: (sink: string, type: string) => 'park' | 'skip';
  /** Called when a sink has work again (held events released). */
  wake: (sink: string) => void;
  /** Called after each commit: it is on disk once the spool's WAL flush has run (synced()). */
  committed: () => void;
}

const SCAN_PAGE = 512;
/** One event per key: page size of a quick scan, and how often a claim reads the whole window instead (see claim). */
const QUICK_PAGE = 128;
const QUICK_ROUNDS = 8;
/** Fewest keys a spread batch takes when it carries one event per key (see claim). */
const MIN_SHARE = 64;

export class Delivery {
  private readonly st;
  private readonly deps: DeliveryDeps;
  private readonly receipts: MultiInsert;

  constructor(deps: DeliveryDeps) {
    this.deps = deps;
    const db = deps.db;
    this.receipts = new MultiInsert(db, 'INSERT OR REPLACE INTO receipts(sink, seq, receipt, at)', 4);
    this.st = {
      // The scan reads only the outbox (seq, key): rows of busy keys are skipped without touching their events.
      // Rows as [seq, okey] arrays: a claim may read a few thousand, and plain arrays cost less than objects.
      scan: db.prepare('SELECT seq, okey FROM outbox WHERE sink = ? AND seq > ? ORDER BY seq LIMIT ?').raw(true),
      loadRange: db.prepare('SELECT seq, okey, idem, type, occurred_at, appended_at, corr, body FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq'),
      loadClaimed: db.prepare(`SELECT e.seq, e.okey, e.idem, e.type, e.occurred_at, e.appended_at, e.corr, e.body FROM json_each(?) j
        JOIN events e ON e.seq = j.value ORDER BY j.key`),
      delOutbox: db.prepare('DELETE FROM outbox WHERE sink = ? AND seq = ?'),
      delOutboxMany: db.prepare('DELETE FROM outbox WHERE sink = ? AND seq IN (SELECT value FROM json_each(?))'),
      insHeld: db.prepare('INSERT OR IGNORE INTO held(sink, okey, seq) VALUES (?, ?, ?)'),
      insClaim: db.prepare(`INSERT INTO claims(sink, seqs, keys, batch_key, attempts, not_before, created_at)
        VALUES (?, ?, ?, ?, 0, 0, ?)`),
      delClaim: db.prepare('DELETE FROM claims WHERE id = ?'),
      expedite: db.prepare('UPDATE claims SET not_before = ? WHERE id = ?'),
      retryClaim: db.prepare('UPDATE claims SET attempts = ?, not_before = ?, last_error = ? WHERE id = ?'),
      rewriteClaim: db.prepare(`UPDATE claims SET seqs = ?, keys = ?, batch_key = ?, attempts = ?, not_before = ?,
        last_error = ? WHERE id = ?`),
      insDead: db.prepare(`INSERT OR REPLACE INTO dead(sink, seq, okey, parks, status, reason, attempts, at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      releaseHeld: db.prepare('INSERT OR IGNORE INTO outbox(sink, seq, okey) SELECT sink, seq, okey FROM held WHERE sink = ? AND okey = ?'),
      dropHeld: db.prepare('DELETE FROM held WHERE sink = ? AND okey = ?'),
    };
  }

  /**
   * The oldest deliverable events of a sink, at most maxEvents / maxBytes, skipping keys that already have a batch
   * out. A due retry goes first and unchanged. Returns undefined when nothing can go now.
   * `onePerKey` (the default): a batch holds at most one event per ordering key. A target that books a request's
   * items independently (a batch endpoint, SAP's $batch changesets) could reject a key's first event and book the
   * next: the later one would overtake. Only a sink that books a key's events in order and stops at the key's first
   * failure (or books them atomically) may take several at once.
   */
  claim(s: SinkState, maxEvents: number, maxBytes: number, spread = 1, onePerKey = true): Claim | undefined {
    const due = s.dueClaim(this.deps.now());
    if (due) {
      due.handedOut = true;
      if (due.attempts > 0 || due.notBefore === 0) s.redeliveries++;
      const rows = this.load(due.seqs);
      return toClaim(s.name, due, rows, true);
    }
    if (s.nothingClaimable) return undefined;
    const eligible: OutboxRow[] = [];
    const toHold: OutboxRow[] = [];
    const keys = new Set<string>(); // eligible keys, oldest first
    let after = 0;
    let scanned = 0;
    const scanLimit = maxEvents * 2 + SCAN_PAGE;
    // One event per key: the rows behind a taken key's head are dead weight for this claim, and with a few busy keys
    // a full window is thousands of rows for a handful of events (20 keys: 23,000 events/s of claim + settle). So
    // the scan reads small pages and stops at the first page that brings no new key; every QUICK_ROUNDS-th claim
    // reads the whole window, so a key deep behind the busy ones still goes within a few claims.
    const quick = onePerKey && ++s.quickClaims < QUICK_ROUNDS;
    if (!quick) s.quickClaims = 0;
    const pageSize = quick ? QUICK_PAGE : SCAN_PAGE;
    scan: while (scanned < scanLimit) {
      const page = this.st.scan.all(s.id, after, pageSize) as [number, string][];
      if (page.length === 0) break;
      const before = eligible.length;
      for (const [seq, okey] of page) {
        after = seq;
        scanned++;
        if (!keys.has(okey)) {
          if (s.mustHold(okey)) {
            toHold.push({ seq, okey });
            continue;
          }
          if (s.isBusy(okey)) continue; // its batch is out now: the row stays first in line for the key
        } else if (onePerKey) continue; // the key's next event waits for this one's outcome (see the claim's doc)
        eligible.push({ seq, okey });
        keys.add(okey);
        // Without spreading, the first maxEvents eligible rows are the batch; spreading needs the whole window.
        if (spread <= 1 && eligible.length >= maxEvents) break scan;
      }
      if (quick && eligible.length > 0 && eligible.length === before) break;
    }
    // Spreading: when several more batches may go out at once, this one takes only its share of the waiting keys
    // (the oldest), so the next claim finds keys of its own instead of every key being busy in one batch.
    let picked = eligible;
    const freeSlots = spread - s.handedOutCount();
    // With one event per key a share is that many events: below MIN_SHARE keys a request would be too small to be
    // worth its round trip (20 keys over 4 slots made requests of 5 events), so a few keys go out together.
    const share = freeSlots > 1 ? Math.max(Math.ceil(keys.size / freeSlots), onePerKey ? MIN_SHARE : 1) : keys.size;
    if (keys.size > share) {
      const mine = new Set([...keys].slice(0, share));
      picked = eligible.filter((r) => mine.has(r.okey));
    }
    picked = picked.slice(0, maxEvents);
    // Bodies only for what was picked. maxBytes cuts `picked` (in seq order) at the first event that does not fit:
    // what goes is a prefix, so for every key its earliest events go and the rest stay first in line.
    const taken: ScanRow[] = [];
    let bytes = 0;
    for (const r of this.load(picked.map((p) => p.seq))) {
      if (taken.length > 0 && bytes + r.body.length > maxBytes) break;
      taken.push(r);
      bytes += r.body.length;
    }
    if (taken.length === 0 && toHold.length === 0) {
      s.nothingClaimable = true;
      return undefined;
    }
    const c = this.atomically(s, () => {
      for (const r of toHold) {
        this.st.delOutbox.run(s.id, r.seq);
        this.st.insHeld.run(s.id, r.okey, r.seq);
        s.heldKeys.add(r.okey);
      }
      if (taken.length === 0) return undefined;
      const seqs = taken.map((r) => r.seq);
      const keys = [...new Set(taken.map((r) => r.okey))];
      const batchKey = batchKeyOf(taken.map((r) => r.idem));
      this.st.delOutboxMany.run(s.id, JSON.stringify(seqs));
      const id = Number(
        this.st.insClaim.run(s.id, JSON.stringify(seqs), JSON.stringify(keys), batchKey, this.deps.now()).lastInsertRowid,
      );
      const state: ClaimState = { id, seqs, keys, batchKey, attempts: 0, notBefore: 0, handedOut: true };
      s.addClaim(state);
      return state;
    });
    this.deps.committed();
    if (!c) return this.claim(s, maxEvents, maxBytes, spread, onePerKey); // only moved blocked rows aside: look again
    return toClaim(s.name, c, taken, false);
  }

  /** Events by seq, in the given (ascending) order. A dense run is read as one range instead of one lookup each. */
  private load(seqs: number[]): ScanRow[] {
    if (seqs.length === 0) return [];
    const first = seqs[0]!;
    const last = seqs[seqs.length - 1]!;
    if (last - first + 1 <= seqs.length * 2) {
      const want = new Set(seqs);
      return (this.st.loadRange.all(first, last) as ScanRow[]).filter((r) => want.has(r.seq));
    }
    return this.st.loadClaimed.all(JSON.stringify(seqs)) as ScanRow[];
  }

  settle(s: SinkState, claim: Claim, outcome: Outcome, delayMs: number): void {
    const c = s.claims.get(claim.id);
    if (!c || !c.handedOut) throw new Error(`settle: claim ${claim.id} of sink ${s.name} is not handed out`);
    const now = this.deps.now();
    // A settle need not wait for the disk: if power fails before it is flushed, the claim is still in the file and
    // goes out again as the same batch under the same key, which the ERP recognises. The next flush (for an append
    // or a claim) covers it anyway, since WAL frames are written in order.
    this.settleTx(s, c, claim, outcome, delayMs, now);
    this.deps.committed();
  }

  private settleTx(s: SinkState, c: ClaimState, claim: Claim, outcome: Outcome, delayMs: number, now: number): void {
    this.atomically(s, () => {
      switch (outcome.kind) {
        case 'delivered':
          this.finish(s, c, claim.events, claim.events.map((_, i) => ({ kind: 'delivered', receipt: outcome.receipts?.[i] })), 0);
          break;
        case 'rejected':
          this.finish(s, c, claim.events, claim.events.map(() => ({ kind: 'rejected', status: outcome.status, reason: outcome.reason })), 0);
          break;
        case 'retry':
          c.attempts++;
          c.notBefore = now + delayMs;
          c.handedOut = false;
          // A wait the server asked for, or one after an unusable answer, is not cut short when other batches
          // succeed: an unusable 2xx beside healthy batches was otherwise re-sent ~10 times a second for ever.
          c.serverAsked = outcome.retryAfterMs !== undefined || outcome.keepBackoff === true;
          this.st.retryClaim.run(c.attempts, c.notBefore, outcome.error.slice(0, 1000), c.id);
          break;
        case 'partial':
          if (outcome.results.length !== claim.events.length) {
            throw new Error(`partial outcome has ${outcome.results.length} results for ${claim.events.length} events`);
          }
          this.finish(s, c, claim.events, outcome.results, delayMs);
          break;
      }
    }, c.id);
  }

  /**
   * Runs a transaction that changes this sink's memory beside its tables. If SQLite fails (disk full in the middle,
   * an I/O error) it rolls the tables back, and the memory is read again from them: memory never keeps a change the
   * file does not have (a key marked busy for ever, a claim that is not in the file). `release`: a claim whose
   * settle failed goes back in line (re-sent later under the same batch key) instead of staying handed out.
   */
  atomically<T>(s: SinkState, fn: () => T, release?: number): T {
    try {
      return this.deps.db.transaction(fn)();
    } catch (err) {
      try {
        s.reload(this.deps.db, release);
      } catch {
        // the tables cannot be read either (a damaged file): the caller reports the first error
      }
      throw err;
    }
  }

  /** Applies per-event results; events to retry stay in the claim (re-keyed), the rest leave it. */
  private finish(s: SinkState, c: ClaimState, events: ClaimedEvent[], results: ItemResult[], delayMs: number): void {
    const now = this.deps.now();
    const retry: ClaimedEvent[] = [];
    const receipts: unknown[] = [];
    let lastError = '';
    results.forEach((res, i) => {
      const e = events[i]!;
      if (res.kind === 'delivered') {
        if (res.receipt !== undefined) receipts.push(s.id, e.seq, res.receipt, now);
      } else if (res.kind === 'rejected') {
        const parks = this.deps.onRejectPolicy(s.name, e.type) === 'park';
        this.st.insDead.run(s.id, e.seq, e.orderingKey, parks ? 1 : 0, res.status ?? null, res.reason.slice(0, 2000), c.attempts + 1, now);
        if (parks) s.park(e.orderingKey);
      } else {
        retry.push(e);
        lastError = res.error;
      }
    });
    this.receipts.run(receipts);
    // A key parked by this outcome keeps its later events behind the dead letter, retries included.
    const stillRetry = retry.filter((e) => {
      if (!s.parked.has(e.orderingKey)) return true;
      this.st.insHeld.run(s.id, e.orderingKey, e.seq);
      s.heldKeys.add(e.orderingKey);
      return false;
    });
    for (const k of c.keys) s.busy.delete(k);
    if (stillRetry.length === 0) {
      this.st.delClaim.run(c.id);
      s.claims.delete(c.id);
    } else {
      c.seqs = stillRetry.map((e) => e.seq);
      c.keys = [...new Set(stillRetry.map((e) => e.orderingKey))];
      c.batchKey = batchKeyOf(stillRetry.map((e) => e.idempotencyKey));
      c.attempts++;
      c.notBefore = now + delayMs;
      c.handedOut = false;
      this.st.rewriteClaim.run(JSON.stringify(c.seqs), JSON.stringify(c.keys), c.batchKey, c.attempts, c.notBefore, lastError.slice(0, 1000), c.id);
      for (const k of c.keys) s.busy.set(k, c.id);
    }
    for (const k of new Set(events.map((e) => e.orderingKey))) this.releaseIfFree(s, k);
  }

  expedite(s: SinkState): number {
    const now = this.deps.now();
    let n = 0;
    for (const c of s.claims.values()) {
      if (c.handedOut || c.serverAsked || c.notBefore <= now) continue;
      c.notBefore = now;
      this.st.expedite.run(now, c.id);
      n++;
    }
    if (n) this.deps.wake(s.name);
    return n;
  }

  /** Moves a key's held events back to the outbox once nothing blocks the key. Call inside a transaction. */
  releaseIfFree(s: SinkState, key: string): void {
    if (!s.heldKeys.has(key) || s.parked.has(key) || s.busy.has(key)) return;
    this.st.releaseHeld.run(s.id, key);
    this.st.dropHeld.run(s.id, key);
    s.heldKeys.delete(key);
    this.deps.wake(s.name);
  }
}

export function batchKeyOf(idempotencyKeys: string[]): string {
  const h = createHash('sha256');
  for (const k of idempotencyKeys) h.update(k).update('\n');
  return h.digest('base64url').slice(0, 32);
}

function toClaim(sink: string, c: ClaimState, rows: ScanRow[], resend: boolean): Claim {
  const events: ClaimedEvent[] = rows.map((r) => ({
    seq: r.seq,
    idempotencyKey: r.idem,
    orderingKey: r.okey,
    correlationId: r.corr ?? r.idem,
    type: r.type,
    occurredAt: r.occurred_at,
    appendedAt: r.appended_at,
    body: r.body,
  }));
  return { id: c.id, sink, batchKey: c.batchKey, attempts: c.attempts, resend, events };
}
