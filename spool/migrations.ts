// Append-only schema migrations. Never edit or reorder an entry that has shipped: add a new one.
// The ledger table records which ran, so a spool written by any older plantsync opens with its backlog intact.

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'events, per-sink delivery state, dead letters, rejected records, audit',
    sql: `
      CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE sinks(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
      -- seq is the append order. It is never reused because the newest event is never deleted (maintenance.ts),
      -- which keeps max(seq) + 1 growing without AUTOINCREMENT's extra page write per commit.
      -- idem is unique: a redelivered source message is not stored twice.
      CREATE TABLE events(
        seq INTEGER PRIMARY KEY,
        idem TEXT NOT NULL,
        okey TEXT NOT NULL,
        type TEXT NOT NULL,
        prio INTEGER NOT NULL,
        occurred_at INTEGER NOT NULL,
        appended_at INTEGER NOT NULL,
        body TEXT NOT NULL
      );
      CREATE UNIQUE INDEX events_idem ON events(idem);
      CREATE INDEX events_telemetry ON events(seq) WHERE prio = 1;
      -- Deliverable, unclaimed events per sink, in append order.
      CREATE TABLE outbox(sink INTEGER NOT NULL, seq INTEGER NOT NULL, okey TEXT NOT NULL,
        PRIMARY KEY(sink, seq)) WITHOUT ROWID;
      -- Events whose key waits behind a retrying batch or a parked dead letter; moved back to outbox on release.
      CREATE TABLE held(sink INTEGER NOT NULL, okey TEXT NOT NULL, seq INTEGER NOT NULL,
        PRIMARY KEY(sink, okey, seq)) WITHOUT ROWID;
      -- One row per batch handed to a sink: a retry, also after a restart, re-sends exactly this batch.
      CREATE TABLE claims(id INTEGER PRIMARY KEY, sink INTEGER NOT NULL, seqs TEXT NOT NULL, keys TEXT NOT NULL,
        batch_key TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, not_before INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL, last_error TEXT);
      CREATE TABLE dead(sink INTEGER NOT NULL, seq INTEGER NOT NULL, okey TEXT NOT NULL, parks INTEGER NOT NULL,
        status INTEGER, reason TEXT NOT NULL, attempts INTEGER NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY(sink, seq)) WITHOUT ROWID;
      CREATE TABLE rejected(id INTEGER PRIMARY KEY, at INTEGER NOT NULL, source TEXT NOT NULL, address TEXT NOT NULL,
        reason TEXT NOT NULL, payload BLOB NOT NULL, truncated INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE audit(id INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
        target TEXT NOT NULL, count INTEGER NOT NULL, reason TEXT NOT NULL);
      CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'receipts: the ERP document number per delivered event',
    sql: `
      CREATE TABLE receipts(sink INTEGER NOT NULL, seq INTEGER NOT NULL, receipt TEXT NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY(sink, seq)) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    name: 'source_state: what a source must remember (last counter values), committed with its events',
    sql: `
      CREATE TABLE source_state(source TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY(source, key)) WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    name: 'events.corr: the correlation id beside the body, so a sink reads it without parsing the event',
    // Events already spooled get theirs from the body once (an unreadable body keeps NULL: claimed with the
    // idempotency key as its correlation id, never a failed migration that would keep the agent from starting).
    sql: `
      ALTER TABLE events ADD COLUMN corr TEXT;
      UPDATE events SET corr = json_extract(body, '$.correlationId') WHERE json_valid(body);
    `,
  },
  {
    version: 5,
    name: 'history: per minute (48 h) and per hour, what the status page plots and plantsync report sums (history.ts)',
    sql: `
      CREATE TABLE history(res INTEGER NOT NULL, at INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
        events INTEGER NOT NULL, within INTEGER NOT NULL, judged INTEGER NOT NULL, max_ms INTEGER NOT NULL, hist TEXT NOT NULL,
        dead INTEGER NOT NULL, rejected INTEGER NOT NULL, backlog INTEGER NOT NULL, dead_waiting INTEGER NOT NULL,
        oldest_ms INTEGER NOT NULL, PRIMARY KEY(res, at, kind, name, type)) WITHOUT ROWID;
    `,
  },
];
