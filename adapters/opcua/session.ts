// One connection to an OPC UA server: client, session, subscription and monitored items, built in one go and torn
// down in one go. The source never patches a broken connection: anything wrong (connection lost, subscription
// terminated, no data or keep-alive for `staleAfterMs`, a failed step) ends it, and the source builds a new one.
// One recovery path, always the same, is what keeps a subscription from dying silently (../shared/notes/
// field-failures.md #2); the keep-alive watchdog notices a silent cable pull in seconds.
import { readFileSync } from 'node:fs';
import type { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import {
  AttributeIds,
  ClientMonitoredItem,
  ClientMonitoredItemGroup,
  constructEventFilter,
  DataChangeFilter,
  DataChangeTrigger,
  DeadbandType,
  makeBrowsePath,
  MessageSecurityMode,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
  type ClientSession,
  type ClientSubscription,
  type DataValue,
  type UserIdentityInfo,
  type Variant,
} from 'node-opcua-client';
import { resolveSecret } from '../../agent/adapter-kit.ts';
import type { EventConfig, NodeConfig, OpcuaSourceConfig } from './config.ts';

export interface ConnectionOptions {
  cfg: OpcuaSourceConfig;
  sourceName: string;
  agentId: string;
  certificates: OPCUACertificateManager;
  /** A monitored node's new value (also the explicit reads after connecting). */
  onValue: (node: NodeConfig, dv: DataValue) => void;
  /** An OPC UA event (alarm, condition) with its fields by name. */
  onEvent: (source: EventConfig, fields: Record<string, unknown>) => void;
}

const bounded = (p: Promise<unknown> | undefined, ms: number) => Promise.race([Promise.resolve(p).catch(() => {}), new Promise((r) => setTimeout(r, ms).unref())]);

export class OpcuaConnection {
  /** Resolves with the reason once this connection is unusable; it never comes back. */
  readonly broken: Promise<string>;
  serverUri = '';
  /** Resolved node ids by node name. */
  readonly ids = new Map<string, string>();
  private end!: (reason: string) => void;
  private client: OPCUAClient | undefined;
  private session: ClientSession | undefined;
  private subscription: ClientSubscription | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private lastAlive = Date.now();
  private readonly dataTypes = new Map<string, number>();
  private readonly o: ConnectionOptions;

  constructor(o: ConnectionOptions) {
    this.o = o;
    this.broken = new Promise((r) => (this.end = r));
  }

  /** Ends the connection (idempotent): the source tears it down and builds a new one. */
  fail(reason: string): void {
    this.end(reason);
  }

  async open(): Promise<void> {
    const { cfg, certificates } = this.o;
    const client = OPCUAClient.create({
      applicationName: 'plantsync',
      applicationUri: `urn:plantsync:${this.o.agentId}:${this.o.sourceName}`,
      clientName: `plantsync-${this.o.agentId}`,
      securityMode: MessageSecurityMode[cfg.securityMode],
      securityPolicy: SecurityPolicy[cfg.securityPolicy],
      endpointMustExist: false,
      // The source rebuilds on its own schedule; the library must not retry behind its back.
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
      transportTimeout: cfg.transportTimeoutMs,
      clientCertificateManager: certificates,
      requestedSessionTimeout: 60_000,
      keepSessionAlive: false,
    });
    this.client = client;
    client.on('connection_lost', () => this.fail('connection lost'));
    client.on('close', () => this.fail('connection closed'));
    await client.connect(cfg.endpoint);
    this.session = await client.createSession(this.identity());
    // The server's own URI (Server.ServerArray[0]) names it in idempotency keys: stable when its address changes.
    const [uris] = await this.session.read([{ nodeId: 'i=2254', attributeId: AttributeIds.Value }]);
    this.serverUri = (uris?.value.value as string[] | null)?.[0] ?? cfg.endpoint;
    this.session.on('session_closed', () => this.fail('session closed by the server'));
    await this.resolveNodeIds();
    await this.subscribe();
    this.lastAlive = Date.now();
    const stale = cfg.staleAfterMs ?? Math.max(2000, 3 * cfg.publishingIntervalMs * cfg.keepAliveCount);
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastAlive > stale) this.fail(`no data or keep-alive for ${stale} ms`);
    }, Math.min(1000, stale / 4));
  }

  /** Reads values of named nodes in one call (read-on-trigger, and the re-read after connecting). */
  async read(names: string[]): Promise<DataValue[]> {
    const ids = names.map((n) => this.ids.get(n));
    if (ids.some((id) => !id)) throw new Error(`unknown node in read: ${names.filter((n) => !this.ids.get(n)).join(', ')}`);
    return this.session!.read(ids.map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value })));
  }

  /** Writes a value with the node's own data type (a PLC's ack flag may be Boolean, Int16, ...). */
  async write(name: string, value: unknown): Promise<void> {
    const nodeId = this.ids.get(name);
    if (!nodeId) throw new Error(`unknown node '${name}'`);
    let dataType = this.dataTypes.get(name);
    if (dataType === undefined) {
      const [dt] = await this.session!.read([{ nodeId, attributeId: AttributeIds.DataType }]);
      dataType = (dt!.value.value as { value: number }).value;
      this.dataTypes.set(name, dataType); // read once per connection, not per handshake
    }
    const status = await this.session!.write({ nodeId, attributeId: AttributeIds.Value, value: { value: { dataType, value } } });
    if (!status.isGood()) throw new Error(`write to ${name} (${nodeId}): ${status.toString()}`);
  }

  async close(): Promise<void> {
    clearInterval(this.watchdog);
    this.fail('closed');
    // A dead link can make every goodbye hang: each step gets a bounded time, then the socket is dropped.
    await bounded(this.subscription?.terminate(), 1000);
    await bounded(this.session?.close(), 1000);
    await bounded(this.client?.disconnect(), 2000);
  }

  private identity(): UserIdentityInfo {
    const id = this.o.cfg.identity ?? { type: 'anonymous' };
    const where = `sources.${this.o.sourceName}.identity`;
    if (id.type === 'username') return { type: UserTokenType.UserName, userName: id.username, password: resolveSecret(id.password, `${where}.password`) };
    if (id.type === 'certificate') {
      const pem = readFileSync(id.certificate, 'utf8');
      const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
      return { type: UserTokenType.Certificate, certificateData: der, privateKey: readFileSync(id.privateKey, 'utf8') };
    }
    return { type: UserTokenType.Anonymous };
  }

  private async resolveNodeIds(): Promise<void> {
    const byPath = this.o.cfg.nodes.filter((n) => !n.nodeId && n.browsePath);
    for (const n of this.o.cfg.nodes) if (n.nodeId) this.ids.set(n.name, n.nodeId);
    if (byPath.length === 0) return;
    const results = await this.session!.translateBrowsePath(byPath.map((n) => makeBrowsePath('ObjectsFolder', n.browsePath!)));
    results.forEach((r, i) => {
      const target = r.targets?.[0]?.targetId;
      if (!r.statusCode.isGood() || !target) throw new Error(`browse path ${byPath[i]!.browsePath} of node '${byPath[i]!.name}': ${r.statusCode.toString()}`);
      this.ids.set(byPath[i]!.name, target.toString());
    });
  }

  /** Events of one notifier: its fields come back as variants in the order they were asked for. */
  private async monitorEvents(sub: ClientSubscription, ev: EventConfig): Promise<void> {
    const fields = [...new Set(['EventId', 'Time', ...(ev.fields ?? ['EventType', 'SourceName', 'Message', 'Severity'])])];
    const item = ClientMonitoredItem.create(
      sub,
      { nodeId: ev.notifier ?? 'i=2253', attributeId: AttributeIds.EventNotifier },
      { samplingInterval: 0, queueSize: 1000, discardOldest: false, filter: constructEventFilter(fields) },
      TimestampsToReturn.Both,
    );
    item.on('changed', (values: unknown) => {
      this.lastAlive = Date.now();
      const list = values as Variant[];
      this.o.onEvent(ev, Object.fromEntries(fields.map((f, i) => [f, plain(list[i]?.value)])));
    });
    await new Promise<void>((resolve, reject) => {
      item.once('initialized', () => resolve());
      item.once('err', (msg: string) => reject(new Error(`events of ${ev.name}: ${msg}`)));
    });
  }

  /**
   * Back-pressure: with publishing off the server sends only keep-alives and keeps values in each item's queue
   * (queueSize; beyond it the newest are dropped and the overflow bit set: a counter posts the whole increment on
   * its next value, an edge missed meanwhile is the same as one missed during an outage).
   */
  setPublishing(on: boolean): void {
    this.subscription?.setPublishingMode(on).then(
      (status) => {
        if (!status.isGood()) this.fail(`turning publishing ${on ? 'on' : 'off'}: ${status.toString()}`);
      },
      (err: Error) => this.fail(`turning publishing ${on ? 'on' : 'off'}: ${err.message}`),
    );
  }

  private async subscribe(): Promise<void> {
    const cfg = this.o.cfg;
    const sub = await this.session!.createSubscription2({
      requestedPublishingInterval: cfg.publishingIntervalMs,
      requestedMaxKeepAliveCount: cfg.keepAliveCount,
      requestedLifetimeCount: Math.max(30, 10 * cfg.keepAliveCount),
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 10,
    });
    this.subscription = sub;
    sub.on('keepalive', () => (this.lastAlive = Date.now()));
    sub.on('terminated', () => this.fail('subscription terminated'));
    // One CreateMonitoredItems call per set of identical parameters (1,000 items need not be 1,000 round trips).
    const groups = new Map<string, NodeConfig[]>();
    for (const n of cfg.nodes.filter((x) => x.trigger)) {
      const k = JSON.stringify([n.samplingIntervalMs ?? 100, n.queueSize ?? 100, n.deadband]);
      groups.set(k, [...(groups.get(k) ?? []), n]);
    }
    for (const ev of cfg.events ?? []) await this.monitorEvents(sub, ev);
    for (const nodes of groups.values()) {
      const first = nodes[0]!;
      const filter = first.deadband
        ? new DataChangeFilter({ trigger: DataChangeTrigger.StatusValue, deadbandType: first.deadband.type === 'absolute' ? DeadbandType.Absolute : DeadbandType.Percent, deadbandValue: first.deadband.value })
        : undefined;
      const group = ClientMonitoredItemGroup.create(
        sub,
        nodes.map((n) => ({ nodeId: this.ids.get(n.name)!, attributeId: AttributeIds.Value })),
        { samplingInterval: first.samplingIntervalMs ?? 100, queueSize: first.queueSize ?? 100, discardOldest: false, ...(filter && { filter }) },
        TimestampsToReturn.Both,
      );
      group.on('changed', (_item, dv, index) => {
        this.lastAlive = Date.now();
        this.o.onValue(nodes[index]!, dv);
      });
      await new Promise<void>((resolve, reject) => {
        group.once('initialized', () => resolve());
        group.once('err', (msg: string) => reject(new Error(`monitored items: ${msg}`)));
      });
      for (const [i, item] of group.monitoredItems.entries()) {
        const status = item.statusCode;
        if (status && !status.isGood()) throw new Error(`monitoring node '${nodes[i]!.name}' (${this.ids.get(nodes[i]!.name)}): ${status.toString()}`);
      }
    }
  }
}

/** An event field as plain JSON: byte strings as hex, localized text as its text, node ids and others as text. */
function plain(v: unknown): unknown {
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && 'text' in v) return (v as { text: string | null }).text;
  return String(v);
}
