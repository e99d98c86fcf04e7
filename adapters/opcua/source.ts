// The OPC UA source: tag changes become records for the mapping rules. Values are taken in per loop turn, put in
// source-time order per node, and run through each node's trigger (triggers.ts) against the node's state; what
// fires becomes a record (with the related nodes read in one call, when configured), and the new node states are
// committed in the same transaction as the records. Only then is the PLC's handshake node written. A reading
// whose source timestamp is not newer than the node's state is dropped: republished and re-read values never
// post twice, and a restart or reconnect continues from the committed state, so increments made while away are
// posted on the first reading after it (session.ts rebuilds broken connections).
import { join } from 'node:path';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { format } from 'node:util';
import { setErrorLogger, setWarningLogger, type DataValue } from 'node-opcua-client';
import { commitRetryPause, pkiDir, reconnectDelay, type EventDraft, type Source, type SourceContext, type SourceMessage, type SourceStatus } from '../../agent/adapter-kit.ts';
import type { EventConfig, NodeConfig, OpcuaSourceConfig } from './config.ts';
import { OpcuaConnection } from './session.ts';
import { evaluate, truthy, type NodeState } from './triggers.ts';


interface Taken {
  node: NodeConfig;
  value: unknown;
  ts: number;
}

/** The folder of the source's PKI (own certificate, trusted and rejected servers) under the agent's state. */
export function pkiFolder(stateDir: string): string {
  return pkiDir(stateDir, 'opcua');
}

export class OpcuaSource implements Source {
  readonly name: string;
  private readonly cfg: OpcuaSourceConfig;
  private ctx!: SourceContext;
  private conn: OpcuaConnection | undefined;
  private readonly state = new Map<string, NodeState>();
  private pending: Taken[] = [];
  private processing: Promise<void> = Promise.resolve();
  private queued = false;
  /** Publishing turned off because maxInFlight values are in memory (back-pressure, see take()). */
  private paused = false;
  private stopping = false;
  private loop: Promise<void> = Promise.resolve();
  private wake: () => void = () => {};
  private lostAt: number | undefined;
  private certificates: OPCUACertificateManager | undefined;
  private readonly stats: SourceStatus & { held: number } = { connected: false, lastMessageAt: undefined, reconnects: 0, received: 0, rejected: 0, held: 0 };

  constructor(name: string, cfg: OpcuaSourceConfig) {
    this.name = name;
    this.cfg = cfg;
  }

  status(): SourceStatus {
    return { ...this.stats };
  }

  async start(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
    // node-opcua writes to the console on its own; its messages go to the agent's log instead (errors as warnings:
    // during a reconnect it reports what the source already handles).
    setErrorLogger((...a: unknown[]) => ctx.log.warn({ lib: 'node-opcua' }, format(...a)));
    setWarningLogger((...a: unknown[]) => ctx.log.debug({ lib: 'node-opcua' }, format(...a)));
    for (const [k, v] of Object.entries(ctx.loadState())) if (k.startsWith('node:')) this.state.set(k.slice(5), JSON.parse(v) as NodeState);
    this.certificates = await this.openPki();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.conn?.fail('stopping');
    this.wake();
    await this.loop;
    await this.processing;
    await this.certificates?.dispose();
  }

  /** Connect, run until broken, tear down, wait, again: the only recovery path. */
  /** The PKI as it is on disk now (a certificate trusted with `plantsync opcua trust` counts from here on). */
  private async openPki(): Promise<OPCUACertificateManager> {
    await this.certificates?.dispose();
    const certificates = new OPCUACertificateManager({ rootFolder: pkiFolder(this.ctx.stateDir), automaticallyAcceptUnknownCertificate: false });
    await certificates.initialize();
    return certificates;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopping) {
      const conn = new OpcuaConnection({ cfg: this.cfg, sourceName: this.name, agentId: this.ctx.agentId, certificates: this.certificates!, onValue: (n, dv) => this.take(n, dv), onEvent: (ev, fields) => this.takeEvent(ev, fields) });
      this.conn = conn;
      let reason: string;
      try {
        await conn.open();
        this.connected(conn);
        const up = Date.now();
        reason = await conn.broken;
        // The backoff starts over only after a connection that held: one that fails at once must not spin.
        if (Date.now() - up > 10_000) attempt = 0;
      } catch (err) {
        reason = (err as Error).message;
      }
      if (this.stats.connected) this.lostAt = Date.now();
      this.stats.connected = false;
      this.stats.lastError = /certificate/i.test(reason)
        ? `${reason}: if the server's certificate is the right one, trust it: plantsync opcua certs --config <file>, then plantsync opcua trust <thumbprint> --config <file>`
        : reason;
      await conn.close();
      if (this.stopping) break;
      // The manager keeps what it decided about a certificate in memory: read the folders again, so a server
      // trusted from the CLI meanwhile is accepted on the next attempt.
      if (/certificate/i.test(reason)) this.certificates = await this.openPki();
      this.stats.reconnects++;
      const delay = reconnectDelay(this.cfg.reconnectMinMs, this.cfg.reconnectMaxMs, ++attempt);
      this.ctx.log.warn({ reason, retryInMs: delay }, 'OPC UA connection down; rebuilding it');
      await new Promise<void>((r) => {
        const t = setTimeout(r, delay);
        this.wake = () => (clearTimeout(t), r());
      });
    }
  }

  private connected(conn: OpcuaConnection): void {
    this.stats.connected = true;
    this.stats.lastError = undefined;
    if (this.paused) conn.setPublishing(false); // still holding back: the new subscription starts with publishing on
    this.ctx.log.info({ endpoint: this.cfg.endpoint, serverUri: conn.serverUri, nodes: conn.ids.size }, 'OPC UA session and subscription up');
    // Edges and state changes that happened while the link was down cannot be seen afterwards: say so.
    const blind = this.cfg.nodes.filter((n) => n.trigger && ['rising', 'falling', 'transition', 'change', 'threshold'].includes(n.trigger.kind));
    if (this.lostAt !== undefined && blind.length) {
      const from = new Date(this.lostAt).toISOString();
      const until = new Date().toISOString();
      const gap = this.gap(undefined, { reason: `connection down: edges and state changes of ${blind.map((n) => n.name).join(', ')} in this interval may be missed`, from, until });
      this.enqueue([], [gap]);
    }
    this.lostAt = undefined;
    // Counters and states are read again explicitly (also delivered as the items' first values): what changed
    // while away is compared with the committed state, so no increment is lost.
    const triggered = this.cfg.nodes.filter((n) => n.trigger);
    if (triggered.length === 0) return;
    conn.read(triggered.map((n) => n.name)).then(
      (dvs) => dvs.forEach((dv, i) => this.take(triggered[i]!, dv)),
      (err: Error) => conn.fail(`re-read after connecting: ${err.message}`),
    );
  }

  private take(node: NodeConfig, dv: DataValue): void {
    this.stats.received++;
    this.stats.lastMessageAt = Date.now();
    if (!dv.statusCode.isGood()) {
      this.count('bad-status');
      return;
    }
    const at = dv.sourceTimestamp ?? dv.serverTimestamp ?? new Date();
    const raw = dv.value.value as unknown;
    this.pending.push({ node, value: raw instanceof Date ? raw.toISOString() : raw, ts: at.getTime() });
    // Values wait in memory while earlier batches commit (a slow disk, a full spool): at maxInFlight the server is
    // told to stop publishing, so memory stays bounded and the values wait in the server's queues instead.
    if (++this.stats.held >= this.cfg.maxInFlight && !this.paused) {
      this.paused = true;
      this.ctx.log.warn({ held: this.stats.held, maxInFlight: this.cfg.maxInFlight }, 'holding back: maxInFlight values in memory wait for their commit; publishing off until they are committed');
      this.conn?.setPublishing(false);
    }
    if (this.queued) return;
    this.queued = true;
    setImmediate(() => {
      this.queued = false;
      const batch = this.pending;
      this.pending = [];
      this.processing = this.processing
        .then(() => this.process(batch))
        .catch((err: unknown) => this.ctx.log.error({ err }, 'OPC UA batch failed'))
        .finally(() => this.release(batch.length));
    });
  }

  /** A batch is committed (or given up): its values leave memory; below half of maxInFlight publishing goes on again. */
  private release(n: number): void {
    this.stats.held -= n;
    if (this.paused && this.stats.held < this.cfg.maxInFlight / 2) {
      this.paused = false;
      this.ctx.log.info({ held: this.stats.held }, 'commits caught up; publishing on again');
      this.conn?.setPublishing(true);
    }
  }

  /** An OPC UA event (alarm, condition) becomes a record as it is; its EventId is its identity. */
  private takeEvent(ev: EventConfig, fields: Record<string, unknown>): void {
    this.stats.received++;
    this.stats.lastMessageAt = Date.now();
    if (ev.minSeverity !== undefined && Number(fields.Severity ?? 0) < ev.minSeverity) return this.count('event-below-severity');
    const conn = this.conn!;
    const ts = typeof fields.Time === 'string' ? fields.Time : new Date().toISOString();
    const payload = { event: ev.name, ts, key: `${conn.serverUri}/event/${String(fields.EventId)}`, ...fields };
    this.enqueue([{ source: { adapter: 'opcua', id: this.name }, address: ev.name, payload, properties: { serverUri: conn.serverUri }, receivedAt: new Date() }], []);
  }

  /** Runs a batch through the triggers in source-time order and commits records, gaps and node states together. */
  private async process(batch: Taken[]): Promise<void> {
    const conn = this.conn!;
    batch.sort((a, b) => a.ts - b.ts);
    const messages: SourceMessage[] = [];
    const events: EventDraft[] = [];
    const changed = new Set<string>();
    const acks: { name: string; value: unknown }[] = [];
    for (const t of batch) {
      const trigger = t.node.trigger;
      const prev = this.state.get(t.node.name);
      if (!trigger) continue;
      if (prev && t.ts <= prev.ts) {
        this.count('not-newer'); // republished or re-read: already seen
        // Still raised after a restart: the record was committed but the ack may not have been written.
        if (t.node.handshake && t.ts === prev.ts && truthy(t.value)) acks.push({ name: t.node.handshake.ackNode, value: t.node.handshake.value ?? true });
        continue;
      }
      const e = evaluate(trigger, prev, { value: t.value, ts: t.ts });
      this.state.set(t.node.name, e.next);
      changed.add(t.node.name);
      if (e.gap) events.push(this.gap(t.node, { ...e.gap, from: prev && new Date(prev.ts).toISOString(), until: new Date(t.ts).toISOString() }));
      if (!e.fired) continue;
      const nodeId = conn.ids.get(t.node.name) ?? t.node.nodeId ?? t.node.browsePath!;
      const iso = new Date(t.ts).toISOString();
      const payload: Record<string, unknown> = {
        node: t.node.name,
        nodeId,
        trigger: trigger.kind,
        ts: iso,
        // Identity of this reading: server, node, source time (+ the counter value), the same however often it is read.
        key: `${conn.serverUri}/${nodeId}/${iso}${trigger.kind === 'counter' ? `/${String(t.value)}` : ''}`,
        ...e.fired,
      };
      if (t.node.read?.length) {
        try {
          const dvs = await conn.read(t.node.read);
          payload.read = Object.fromEntries(t.node.read.map((n, i) => [n, dvs[i]!.value.value as unknown]));
        } catch (err) {
          conn.fail(`read-on-trigger of ${t.node.name}: ${(err as Error).message}`);
          return this.rewind(changed); // nothing of this batch is committed; the next connection reads again
        }
      }
      messages.push({ source: { adapter: 'opcua', id: this.name }, address: t.node.name, payload, properties: { serverUri: conn.serverUri }, receivedAt: new Date() });
      if (t.node.handshake) acks.push({ name: t.node.handshake.ackNode, value: t.node.handshake.value ?? true });
    }
    if (!messages.length && !events.length && !changed.size) return this.acknowledge(conn, acks);
    const state = Object.fromEntries([...changed].map((n) => [`node:${n}`, JSON.stringify(this.state.get(n))]));
    await this.commit(messages, events, state);
    this.count('records', messages.length);
    await this.acknowledge(conn, acks);
  }

  /** After the commit only: the PLC holds its data until this write, so a crash before it means it offers it again. */
  private async acknowledge(conn: OpcuaConnection, acks: { name: string; value: unknown }[]): Promise<void> {
    for (const a of acks) {
      await conn.write(a.name, a.value).catch((err: Error) => this.ctx.log.warn({ err: err.message, node: a.name }, 'handshake write failed; the PLC will offer the record again'));
    }
  }

  /** A batch given up before its commit: node states go back to the committed ones, so nothing is skipped. */
  private rewind(changed: Set<string>): void {
    const committed = this.ctx.loadState();
    for (const n of changed) {
      const v = committed[`node:${n}`];
      if (v === undefined) this.state.delete(n);
      else this.state.set(n, JSON.parse(v) as NodeState);
    }
  }

  private enqueue(messages: SourceMessage[], events: EventDraft[]): void {
    this.processing = this.processing.then(() => this.commit(messages, events, {})).catch((err: unknown) => this.ctx.log.error({ err }, 'OPC UA commit failed'));
  }

  /** Commits, retrying while the spool refuses (back-pressure); the server keeps values in its queues meanwhile. */
  private async commit(messages: SourceMessage[], events: EventDraft[], state: Record<string, string>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.ctx.ingest(messages, { events, state });
        return;
      } catch (err) {
        if (this.stopping) throw err;
        if (attempt === 0) this.ctx.log.warn({ err: (err as Error).message }, 'commit refused; retrying');
        await commitRetryPause(attempt + 1);
      }
    }
  }

  private gap(node: NodeConfig | undefined, g: { reason: string; from?: string | undefined; until?: string; lastValue?: number; value?: number }): EventDraft {
    const until = g.until ?? new Date().toISOString();
    return {
      type: 'source.gap',
      key: `gap/${node?.name ?? '*'}/${until}`,
      orderingKey: `${this.name}/gaps`,
      plant: '',
      occurredAt: until,
      source: { adapter: 'opcua', id: this.name, address: node?.name ?? '' },
      payload: { source: this.name, ...(node && { node: node.name }), reason: g.reason, ...(g.from && { from: g.from }), until, ...(g.lastValue !== undefined && { lastValue: g.lastValue, value: g.value }) },
    };
  }

  private count(result: string, n = 1): void {
    this.ctx.metrics.counter('plantsync_opcua_values_total', 'OPC UA values by what became of them', ['source', 'result']).inc({ source: this.name, result }, n);
  }
}
