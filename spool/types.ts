// The spool's public vocabulary. The spool knows nothing of canonical events beyond these columns: the agent
// serializes the envelope into `body` and the spool keeps it opaque.

export type Priority = 'business' | 'telemetry';

export interface SpoolRecord {
  /** Unique per source message: a redelivered message carries the same key and is recognised as a duplicate. */
  idempotencyKey: string;
  /** The business key (order + operation, material document...): delivery is ordered per key. */
  orderingKey: string;
  type: string;
  priority: Priority;
  /** Source time, epoch ms. */
  occurredAt: number;
  /** Ties this event to the order or process it belongs to; sinks send it beside the body (default: the idempotency key). */
  correlationId?: string;
  /** The serialized canonical event. */
  body: string;
}

export type AppendResult = { seq: number; duplicate: false } | { seq: undefined; duplicate: true };

/**
 * An event as a sink gets it: the envelope fields a sink needs, read from the spool's columns, and the body as
 * opaque JSON text for the request (a sink never parses it to find these fields).
 */
export interface ClaimedEvent {
  /** Delivery sequence: the append order, increasing per ordering key. */
  seq: number;
  idempotencyKey: string;
  orderingKey: string;
  correlationId: string;
  type: string;
  /** Source time, epoch ms. */
  occurredAt: number;
  /** When this agent appended it to its spool, epoch ms: its first send was after that. */
  appendedAt: number;
  /** The serialized canonical event: always one JSON object. */
  body: string;
}

export interface Claim {
  id: number;
  sink: string;
  /** Idempotency key of the whole batch: derived from its events, identical on every retry and after a restart. */
  batchKey: string;
  /** Deliveries tried before this one (0 on the first send). */
  attempts: number;
  /**
   * This batch was claimed before and is going out again unchanged: after a failure, or after a restart found it
   * in the file (it may have reached the target before the crash, even with attempts 0). A sink that cannot rely on
   * the target de-duplicating checks what the target already booked before sending it again.
   */
  resend: boolean;
  events: ClaimedEvent[];
}

/** One event's result. A sink's classifier returns these (with hints of its own beside them, which are ignored). */
export type ItemResult =
  | { kind: 'delivered'; receipt?: string | undefined }
  | { kind: 'retry'; error: string; retryAfterMs?: number | undefined; keepBackoff?: boolean | undefined }
  | { kind: 'rejected'; status?: number | undefined; reason: string };

/**
 * The one result type from a sink back to the spool: what became of a claimed batch. The dispatcher settles it with
 * the delay it computed (the agent owns backoff); nothing converts it on the way.
 */
export type Outcome =
  | { kind: 'delivered'; receipts?: (string | undefined)[] | undefined }
  | {
      kind: 'retry';
      error: string;
      /** What the remote side asked for (Retry-After); the dispatcher caps it. */
      retryAfterMs?: number | undefined;
      /** The remote side answered, only not usably: this wait is not cut short when the sink recovers elsewhere. */
      keepBackoff?: boolean | undefined;
    }
  | { kind: 'rejected'; status?: number | undefined; reason: string }
  | { kind: 'partial'; results: ItemResult[]; retryAfterMs?: number | undefined };

export interface Route {
  sink: string;
  /** Event types this sink receives; '*' for all. */
  types: string[] | '*';
  /** After a rejection: 'park' holds the key's later events until the dead letter is replayed or dropped. */
  onReject: 'park' | 'skip';
}

/** A source's own state (e.g. the last counter value it turned into events), stored in the same commit as them. */
export interface SourceStateEntry {
  source: string;
  key: string;
  value: string;
}

export interface AppendOptions {
  /** Runs once the records are committed, before the flush (see Spool.append). */
  onCommitted?: () => void;
  /** Written in the same transaction as the records: after a crash both are there, or neither. */
  state?: SourceStateEntry[];
}

export interface SpoolOptions {
  path: string;
  routes: Route[];
  /** Byte cap of the spool file's used pages. Business appends beyond it get back-pressure; telemetry drops oldest. */
  capBytes?: number;
  /** Fraction of the cap at which a warning is raised. */
  warnRatio?: number;
  /** Delivered events older than this are deleted by prune(). */
  retentionMs?: number;
  /** Rejected records older than this are deleted by prune() (default: retentionMs). */
  rejectedRetentionMs?: number;
  /** The rejected records' own budget: the oldest are evicted beyond it (default 64 MiB, 100,000 records). */
  rejected?: { maxBytes: number; maxRecords: number };
  /** Appends arriving within this window share one transaction (0: same event-loop turn). */
  commitWindowMs?: number;
  /** Most records per group commit. */
  maxGroup?: number;
  /** Warnings and reports from the spool (capacity, quarantine, dropped telemetry). */
  onNotice?: (notice: SpoolNotice) => void;
  now?: () => number;
  /** The WAL flush (fs.fdatasync); tests hand in a slow or failing one, as a disk would be. */
  flushWal?: (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;
}

export type SpoolNotice =
  | { kind: 'quarantined'; movedTo: string; reason: string }
  | { kind: 'capacity-warning'; usedBytes: number; capBytes: number }
  | { kind: 'telemetry-dropped'; count: number }
  | { kind: 'backpressure'; usedBytes: number; capBytes: number }
  | { kind: 'integrity-checked'; ok: boolean; detail: string }
  /** SQLite found the file damaged while running: nothing more is trusted; the next open checks it and moves it aside. */
  | { kind: 'corrupt'; reason: string };

export interface SinkStats {
  sink: string;
  pending: number;
  held: number;
  inFlightBatches: number;
  waitingBatches: number;
  deadLetters: number;
  parkedKeys: number;
  oldestPendingAt: number | undefined;
}

export class SpoolFullError extends Error {
  override readonly name = 'SpoolFullError';
  readonly usedBytes: number;
  readonly capBytes: number;
  constructor(usedBytes: number, capBytes: number) {
    super(`spool full: ${usedBytes} of ${capBytes} bytes used; business events are held upstream (not acknowledged)`);
    this.usedBytes = usedBytes;
    this.capBytes = capBytes;
  }
}

export class SpoolLockedError extends Error {
  override readonly name = 'SpoolLockedError';
  readonly path: string;
  readonly owner: string;
  constructor(path: string, owner: string) {
    super(`spool ${path} is in use by another plantsync agent (${owner}); two agents never share one spool`);
    this.path = path;
    this.owner = owner;
  }
}

/** A tool asked for a spool that is not there (a wrong state directory): nothing was created. */
export class SpoolMissingError extends Error {
  override readonly name = 'SpoolMissingError';
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
}
