// Partition leases: which relay consumes which partition. A partition's events must reach the ERP in stream order,
// so one relay at a time takes it, and a relay taking a partition over waits until the one before has delivered
// everything it took from it (its spool owed nothing of it any more): else the new relay could post a key's
// next event while the old one still holds the key's previous one.
// A lease is the last message on its own subject of a small stream; writes are compare-and-set on that subject's
// last sequence (Nats-Expected-Last-Subject-Sequence), so two relays never both win one partition.
import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';

export interface Lease {
  /** The relay (its agent id) that holds or last held the partition. */
  owner: string;
  /** active: consumed by the owner; draining: given up, its events not all delivered yet; free: anyone may take it. */
  state: 'active' | 'draining' | 'free';
  /** The last stream sequence of the partition the owner committed: a new owner starts after it. */
  upTo: number;
  at: string;
}

export class Leases {
  private readonly js: JetStreamClient;
  private readonly jsm: JetStreamManager;
  private readonly stream: string;
  private readonly group: string;

  constructor(js: JetStreamClient, jsm: JetStreamManager, stream: string, group: string) {
    this.js = js;
    this.jsm = jsm;
    this.stream = stream;
    this.group = group;
  }

  /** The lease stream, created if missing: one subject per partition, a short history, on disk. */
  async ensure(): Promise<void> {
    try {
      await this.jsm.streams.info(this.stream);
    } catch (err) {
      if ((err as { code?: number }).code !== 10059) throw err;
      await this.jsm.streams
        .add({ name: this.stream, subjects: [`${this.stream}.>`], storage: StorageType.File, retention: RetentionPolicy.Limits, max_msgs_per_subject: 8, discard: DiscardPolicy.Old })
        .catch((e: Error) => {
          if (!/already in use|exists/i.test(e.message)) throw e; // another relay created it meanwhile
        });
    }
  }

  private subject(partition: number): string {
    return `${this.stream}.${this.group}.p${partition}`;
  }

  /** The lease and the sequence a write must expect (0: none yet). */
  async read(partition: number): Promise<{ lease: Lease | undefined; seq: number }> {
    const m = await this.jsm.streams.getMessage(this.stream, { last_by_subj: this.subject(partition) }).catch((err: Error & { code?: number }) => {
      if (err.code === 10037 || /no message found/i.test(err.message)) return null;
      throw err;
    });
    return m ? { lease: m.json<Lease>(), seq: m.seq } : { lease: undefined, seq: 0 };
  }

  /** Writes the lease if nobody wrote since `seq`; false when someone did (read again and decide again). */
  async write(partition: number, lease: Omit<Lease, 'at'>, seq: number): Promise<boolean> {
    try {
      await this.js.publish(this.subject(partition), JSON.stringify({ ...lease, at: new Date().toISOString() }), { expect: { lastSubjectSequence: seq } });
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === 10071 || /wrong last sequence/i.test((err as Error).message)) return false;
      throw err;
    }
  }
}
