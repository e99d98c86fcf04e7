// Durability off the event loop. The connection commits with synchronous=NORMAL: in WAL mode a commit then only
// write()s its frames, and SQLite itself fsyncs only around checkpoints. This class makes commits durable by
// flushing the WAL file from libuv's thread pool; Linux flushes a file's dirty pages whichever descriptor asks, and
// WAL frames are appended in commit order, so one flush that starts after a commit covers it and every commit before.
// Callers wait for `synced()` before they tell anyone outside (an upstream ack, an HTTP request). One flush at a
// time: commits that land while it runs share the next one (group commit for the disk). A synchronous FULL commit
// stalled the event loop ~0.5 ms per commit here (several per event at low rates), delaying network I/O behind it.
//
// A failed flush is sticky, as in PostgreSQL since "fsyncgate": after an fsync error the kernel may have dropped
// the dirty pages and a later fsync can succeed without them, so nothing more is confirmed until a restart, when
// SQLite recovers from what is really on disk.
import { closeSync, existsSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';

interface Waiter {
  upTo: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class WalSync {
  private fd: number | undefined;
  private committed = 0;
  private flushed = 0;
  private flushing = false;
  private startQueued = false;
  private waiters: Waiter[] = [];
  private failed: Error | undefined;
  private failedAt = 0;

  /** The sticky flush failure, if any, and since when. */
  get failure(): { since: number; error: string } | undefined {
    return this.failed && { since: this.failedAt, error: this.failed.message };
  }
  private readonly path: string;
  private readonly flush: (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;
  /** Flushes run so far (for metrics and tests: far fewer than commits under load). */
  flushes = 0;

  constructor(walPath: string, flush?: (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void) {
    this.path = walPath;
    this.flush = flush ?? ((fd, done) => fdatasync(fd, done));
  }

  /** A transaction was committed (without a flush). */
  committedOne(): void {
    this.committed++;
  }

  /** Resolves once every commit made so far is on disk. */
  synced(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.flushed >= this.committed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ upTo: this.committed, resolve, reject });
      // Start at the end of this loop turn, not now: the commits this one sets off (a dispatcher claiming the events
      // just appended) then share its flush instead of waiting for a second one.
      if (!this.startQueued) {
        this.startQueued = true;
        setImmediate(() => {
          this.startQueued = false;
          this.start();
        });
      }
    });
  }

  /** Flushes now, blocking: for rare writes that must be durable when the call returns (admin actions, close). */
  syncNow(): void {
    if (this.failed) throw this.failed;
    const upTo = this.committed;
    try {
      const fd = this.open();
      if (fd !== undefined) fdatasyncSync(fd);
      this.flushes++;
    } catch (err) {
      this.fail(err as Error);
      throw this.failed!;
    }
    this.done(upTo);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private start(): void {
    if (this.flushing || this.failed) return;
    const upTo = this.committed;
    let fd: number | undefined;
    try {
      fd = this.open();
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    if (fd === undefined) return this.done(upTo); // no WAL yet: nothing was written that needs a flush
    this.flushing = true;
    this.flushes++;
    this.flush(fd, (err) => {
      this.flushing = false;
      if (err) return this.fail(err);
      this.done(upTo);
      if (this.waiters.length) this.start();
    });
  }

  private done(upTo: number): void {
    this.flushed = Math.max(this.flushed, upTo);
    const ready = this.waiters.filter((w) => w.upTo <= this.flushed);
    this.waiters = this.waiters.filter((w) => w.upTo > this.flushed);
    for (const w of ready) w.resolve();
  }

  private fail(err: Error): void {
    if (!this.failed) this.failedAt = Date.now();
    this.failed ??= new Error(`spool: flushing ${this.path} failed (${err.message}); nothing more is confirmed until the agent restarts`);
    for (const w of this.waiters.splice(0)) w.reject(this.failed);
  }

  private open(): number | undefined {
    if (this.fd === undefined && existsSync(this.path)) this.fd = openSync(this.path, 'r');
    return this.fd;
  }
}
