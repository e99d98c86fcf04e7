// Opening the spool file: exclusive lock, pragmas, corruption check, migrations.
// A corrupt file is moved aside and a fresh spool started, so the agent never crash-loops on its own spool.
import Database from 'better-sqlite3';
import { accessSync, constants, mkdirSync, readFileSync, renameSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { hostname } from 'node:os';
import { migrations } from './migrations.ts';
import { SpoolLockedError, SpoolMissingError, type SpoolNotice } from './types.ts';

export type Db = Database.Database;

let sqliteAddon: object | undefined;

/**
 * The single binary cannot `require` better-sqlite3's .node file from node_modules: it unpacks the addon from its
 * assets, loads it with process.dlopen and hands it over here before the first spool opens.
 */
export function useSqliteAddon(addon: object): void {
  sqliteAddon = addon;
}

const CORRUPT_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CORRUPT_INDEX', 'SQLITE_CANTOPEN_ISDIR']);

/** SQLite says the file is damaged (not merely busy or full). */
export function isCorruption(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return CORRUPT_CODES.has(code) || code.startsWith('SQLITE_CORRUPT');
}

function isBusy(err: unknown): boolean {
  return ((err as { code?: string }).code ?? '').startsWith('SQLITE_BUSY');
}

export interface OpenOptions {
  /**
   * For tools (`status`, `dlq list`): the file must exist (never created, nor its folder), nothing is written (no
   * migration, no clean/unclean mark: a look at a crashed spool must not hide the crash from the next start), and a
   * running agent's lock is respected.
   */
  readOnly?: boolean;
  /** The file must exist (the CLI acting on a stopped agent's spool): a wrong state directory is said, not made. */
  mustExist?: boolean;
  onNotice?: ((n: SpoolNotice) => void) | undefined;
  /** Run PRAGMA quick_check even after a clean shutdown. */
  forceCheck?: boolean;
  /** For migration tests: stop at this schema version. */
  targetVersion?: number;
}

export function openDatabase(path: string, opts: OpenOptions = {}): Db {
  if (opts.readOnly || opts.mustExist) {
    const dir = presence(dirname(path));
    if (dir !== 'there') throw dir === 'denied' ? permissionDenied(dirname(path)) : new SpoolMissingError(path, `no state directory ${dirname(path)}: is agent.stateDir in the config right?`);
    const file = presence(path);
    if (file !== 'there') throw file === 'denied' ? permissionDenied(path) : new SpoolMissingError(path, `no spool at ${path}: is agent.stateDir in the config right, and has the agent run once?`);
  }
  if (opts.readOnly) return openReadOnly(path);
  mkdirSync(dirname(path), { recursive: true });
  try {
    return tryOpen(path, opts);
  } catch (err) {
    if (!isCorruption(err)) throw err;
    const movedTo = quarantine(path);
    opts.onNotice?.({ kind: 'quarantined', movedTo, reason: (err as Error).message });
    return tryOpen(path, opts);
  }
}

function openReadOnly(path: string): Db {
  let db: Db;
  try {
    // Not SQLite's readonly flag: a WAL database cannot be read that way without -wal/-shm files, which a cleanly
    // closed spool does not have. The connection may write, and this module never asks it to.
    db = new Database(path, { fileMustExist: true, timeout: 0, ...(sqliteAddon && { nativeBinding: sqliteAddon as unknown as string }) });
  } catch (err) {
    throw explainOpenError(err, path);
  }
  try {
    // EXCLUSIVE before the first read: the WAL index stays in this process's memory (no -shm file is made), and a
    // running agent's lock makes this fail at once instead of reading under its writes.
    db.pragma('locking_mode = EXCLUSIVE');
    const versions = db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[];
    const newest = Math.max(0, ...versions);
    const known = Math.max(...migrations.map((m) => m.version));
    if (newest !== known) throw new Error(`spool ${path} has schema version ${newest}, this plantsync knows ${known}: ${newest < known ? 'start the agent once to migrate it' : 'upgrade plantsync'}`);
    return db;
  } catch (err) {
    db.close();
    if (isBusy(err)) throw new SpoolLockedError(path, readOwner(path));
    throw explainOpenError(err, path);
  }
}

/** Whether a path is there; 'denied' when a folder on the way may not be looked into (EACCES, not "missing"). */
function presence(path: string): 'there' | 'missing' | 'denied' {
  try {
    statSync(path);
    return 'there';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EACCES' ? 'denied' : 'missing';
  }
}

function permissionDenied(path: string): Error {
  return Object.assign(new Error(`permission denied: cannot read ${path}; run as the agent's user (sudo -u plantsync plantsync ...) or a member of its group`), { code: 'EACCES' });
}

/** A permission problem says so, and who to run as; never "in use by another agent". */
function explainOpenError(err: unknown, path: string): Error {
  const e = err as { code?: string; message?: string };
  if (e.code === 'SQLITE_CANTOPEN' || e.code === 'SQLITE_READONLY' || e.code === 'EACCES' || e.code === 'SQLITE_PERM') {
    try {
      accessSync(path, constants.R_OK | constants.W_OK);
    } catch {
      return permissionDenied(path);
    }
  }
  return err as Error;
}

function tryOpen(path: string, opts: OpenOptions): Db {
  // better-sqlite3 takes a loaded addon object as nativeBinding; its type declarations know only a path.
  let db: Db;
  try {
    db = new Database(path, { timeout: 0, ...(sqliteAddon && { nativeBinding: sqliteAddon as unknown as string }) });
  } catch (err) {
    throw explainOpenError(err, path);
  }
  try {
    // EXCLUSIVE before WAL: the WAL index then lives in process memory (no -shm) and the file lock is held until
    // close, so a second agent on the same file fails at once instead of interleaving writes.
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      db.exec('BEGIN IMMEDIATE; COMMIT');
    } catch (err) {
      if (isBusy(err)) throw new SpoolLockedError(path, readOwner(path));
      throw explainOpenError(err, path);
    }
    // NORMAL: a commit only writes its WAL frames; WalSync (wal-sync.ts) flushes them off the event loop, and the
    // spool confirms nothing outside before that flush. SQLite still fsyncs around checkpoints itself.
    db.pragma('synchronous = NORMAL');
    // 16 MiB of page cache. 64 MiB did not make appends or claims on a 1,000,000-event backlog faster (BENCHMARKS.md,
    // issue 14), and a burst filled it: it stayed resident in the process's heap long after.
    db.pragma('cache_size = -16384');
    db.pragma('temp_store = MEMORY');
    // Checkpoint every ~16 MiB of WAL rather than 4 MiB: fewer main-file fsyncs in the commit path.
    db.pragma('wal_autocheckpoint = 4000');
    writeOwner(path);
    migrate(db, opts.targetVersion);
    const clean = db.prepare(`SELECT value FROM meta WHERE key = 'clean_shutdown'`).pluck().get();
    if (opts.forceCheck || clean === '0') {
      // The last run did not close the spool: verify the file before trusting it.
      const rows = db.pragma('quick_check', { simple: false }) as { quick_check: string }[];
      const ok = rows.length === 1 && rows[0]?.quick_check === 'ok';
      const detail = rows.slice(0, 5).map((r) => r.quick_check).join('; ');
      opts.onNotice?.({ kind: 'integrity-checked', ok, detail });
      if (!ok) throw Object.assign(new Error(`integrity check failed: ${detail}`), { code: 'SQLITE_CORRUPT' });
    }
    db.prepare(`INSERT OR REPLACE INTO meta(key, value) VALUES ('clean_shutdown', '0')`).run();
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function migrate(db: Db, targetVersion = Infinity): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, name TEXT NOT NULL,
    applied_at INTEGER NOT NULL)`);
  const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
  const known = Math.max(...migrations.map((m) => m.version));
  const newest = Math.max(0, ...applied);
  if (newest > known) {
    throw new Error(`spool schema version ${newest} is newer than this plantsync knows (${known}): upgrade plantsync`);
  }
  for (const m of migrations) {
    if (applied.has(m.version) || m.version > targetVersion) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        Date.now(),
      );
    })();
  }
}

export function markCleanShutdown(db: Db): void {
  db.prepare(`INSERT OR REPLACE INTO meta(key, value) VALUES ('clean_shutdown', '1')`).run();
}

/** Moves a damaged spool file (and its WAL) aside, kept for forensics; returns where it went. */
export function quarantine(path: string): string {
  const movedTo = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(path + suffix)) renameSync(path + suffix, movedTo + suffix);
  }
  return movedTo;
}

function writeOwner(path: string): void {
  writeFileSync(`${path}.owner`, `pid ${process.pid} on ${hostname()} since ${new Date().toISOString()}\n`);
}

function readOwner(path: string): string {
  try {
    return readFileSync(`${path}.owner`, 'utf8').trim();
  } catch {
    return 'owner unknown';
  }
}
