// The MQTT source: a durable subscriber. A persistent session (clean=false, a stable client id, a session expiry
// for MQTT 5) keeps messages at the broker while the agent is away; messages are taken in, committed to the spool
// in groups, and only then acknowledged, in arrival order (ack-gate.ts). Malformed or oversized messages become
// rejected records and are acknowledged; when the spool refuses business events (full), nothing is acknowledged and
// the group is retried, so the broker keeps the rest.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type IClientOptions, type MqttClient, type IPublishPacket } from 'mqtt';
import { commitRetryPause, reconnectDelay, resolveSecret, tlsClientOptions, type Source, type SourceContext, type SourceMessage, type SourceStatus } from '../../agent/adapter-kit.ts';
import { AckGate } from './ack-gate.ts';
import type { MqttSourceConfig } from './config.ts';
import { decode } from './decode.ts';
import { SparkplugDecoder } from './sparkplug.ts';

interface Taken {
  packet: IPublishPacket;
  /** The ack gate's generation when the message came in (QoS 1/2 only): its ack belongs to that connection. */
  generation: number;
  message?: SourceMessage;
  rejected?: { reason: string };
}

export class MqttSource implements Source {
  readonly name: string;
  private readonly cfg: MqttSourceConfig;
  private ctx!: SourceContext;
  private client: MqttClient | undefined;
  private gate!: AckGate;
  private batch: Taken[] = [];
  /** Settles when the latest group has committed (or was given up), and when its acks have gone out. */
  private committed: Promise<void> = Promise.resolve();
  private acked: Promise<void> = Promise.resolve();
  private flushQueued = false;
  private stopping = false;
  /** Reconnect attempts since the last connection: the shared backoff grows with it (agent/backoff.ts). */
  private reconnectAttempts = 0;
  private readonly sparkplug = new SparkplugDecoder();
  private readonly stats: SourceStatus = { connected: false, lastMessageAt: undefined, reconnects: 0, received: 0, rejected: 0, held: 0 };
  /** mqtt.js's go-ahead for the next packet, withheld while maxInFlight messages are in memory (back-pressure). */
  private resume: (() => void) | undefined;

  constructor(name: string, cfg: MqttSourceConfig) {
    this.name = name;
    this.cfg = cfg;
  }

  redecode(payload: Buffer, address: string) {
    const as = this.cfg.decode;
    return as === 'sparkplug' ? this.sparkplug.decode(address, payload) : decode(payload, as);
  }

  status(): SourceStatus {
    return { ...this.stats };
  }

  async start(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
    const c = this.cfg;
    const opts: IClientOptions = {
      protocolVersion: c.protocolVersion,
      clientId: c.clientId ?? `plantsync-${ctx.agentId}-${this.name}`,
      clean: c.clean,
      keepalive: c.keepaliveSec,
      reconnectPeriod: reconnectDelay(c.reconnectMinMs, c.reconnectMaxMs, 1),
      resubscribe: false, // subscriptions are reconciled on every connect, below
      // QoS 2: mqtt.js hands the message to handleMessage only at PUBREL, which the broker sends after our PUBREC;
      // the PUBREC waits for the commit, so the message is taken here, from the PUBLISH itself.
      customHandleAcks: (_topic, _message, packet, done) => {
        if (packet.qos !== 2) return done(0);
        this.take(packet);
        this.whenRoom(() => done(0));
      },
      ...(c.username && { username: c.username }),
      ...(c.password && { password: resolveSecret(c.password, `sources.${this.name}.password`) }),
      // MQTT 5: keep the session while away, and let many messages be in flight so they commit in large groups.
      // Maximum packet size: an MQTT 5 broker then never sends a message larger than the source would keep (room
      // left for the topic and properties), instead of the agent reading megabytes only to reject them.
      ...(c.protocolVersion === 5 && { properties: { sessionExpiryInterval: c.sessionExpirySec, receiveMaximum: c.receiveMaximum, maximumPacketSize: maxPacketSize(c.maxPayloadBytes) } }),
      ...tlsClientOptions(c.tls, `sources.${this.name}.tls`),
    };
    const client = connect({ ...brokerAddress(c.url), ...opts });
    this.client = client;
    this.gate = new AckGate(client);
    // Take over message handling before the first packet can arrive, or queued session messages are missed.
    // mqtt.js reads the next packet only once this callback runs: holding it back is the back-pressure.
    client.handleMessage = (packet, done) => {
      if (packet.qos === 2) return done(); // taken at PUBLISH (customHandleAcks)
      this.take(packet);
      this.whenRoom(done);
    };
    client.on('connect', (connack) => {
      // PUBACKs are 4 bytes each; Nagle's algorithm would hold them back while earlier ones are unacknowledged.
      (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      this.stats.connected = true;
      this.stats.lastError = undefined;
      this.reconnectAttempts = 0;
      client.options.reconnectPeriod = reconnectDelay(c.reconnectMinMs, c.reconnectMaxMs, 1);
      ctx.log.info({ sessionPresent: connack.sessionPresent }, 'connected');
      void this.reconcileSubscriptions(connack.sessionPresent);
    });
    client.on('reconnect', () => {
      this.stats.reconnects++;
      // Back off between attempts (mqtt.js waits a fixed period): the shared backoff, with jitter, up to the maximum.
      client.options.reconnectPeriod = reconnectDelay(c.reconnectMinMs, c.reconnectMaxMs, ++this.reconnectAttempts + 1);
    });
    client.on('close', () => {
      if (this.stats.connected && !this.stopping) ctx.log.warn('disconnected; reconnecting');
      this.stats.connected = false;
      this.goOn(); // the closed connection's reader; the next one starts afresh
    });
    client.on('error', (err) => {
      if (!this.stats.connected) this.stats.lastError = err.message; // why it cannot connect (refused, TLS, not authorized)
      ctx.log.warn({ err: err.message }, 'mqtt error');
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.acked;
    // Forced: the source publishes nothing, and acknowledgements not yet released must not go out now. A polite
    // end can wait forever while the client is between reconnect attempts to a broker that is gone.
    await this.client?.endAsync(true);
  }

  /**
   * Subscribes to the configured topics and drops those a persistent session still holds from an older config. The
   * topics last subscribed are this source's state in the spool (source_state, like the OPC UA source's node
   * states); a file in the state directory from an older plantsync is read once and removed.
   */
  private async reconcileSubscriptions(sessionPresent: boolean): Promise<void> {
    const client = this.client!;
    const legacy = join(this.ctx.stateDir, `mqtt-${this.name}-subscriptions.json`);
    const saved = this.ctx.loadState().subscriptions;
    let old: string[] = [];
    try {
      old = JSON.parse(saved ?? readFileSync(legacy, 'utf8')) as string[];
    } catch {
      old = [];
    }
    const wanted = this.cfg.subscriptions.map((s) => s.topic);
    const gone = sessionPresent ? old.filter((t) => !wanted.includes(t)) : [];
    try {
      if (gone.length) {
        await client.unsubscribeAsync(gone);
        this.ctx.log.info({ topics: gone }, 'unsubscribed topics no longer configured');
      }
      await client.subscribeAsync(this.cfg.subscriptions.map((s) => ({ topic: s.topic, qos: s.qos ?? 1 })).reduce((m, s) => ({ ...m, [s.topic]: { qos: s.qos } }), {}));
      this.ctx.log.info({ topics: wanted }, 'subscribed');
    } catch (err) {
      this.ctx.log.warn({ err: (err as Error).message }, 'subscribe failed; retrying on the next connect');
      return;
    }
    try {
      await this.ctx.ingest([], { state: { subscriptions: JSON.stringify(wanted) } });
      rmSync(legacy, { force: true });
    } catch (err) {
      // A full spool: the list is saved on the next connect; until then an older list still names what to drop.
      this.ctx.log.warn({ err: (err as Error).message }, 'could not save the subscribed topics; saved on the next connect');
    }
  }

  /** Lets mqtt.js read on now, or once the messages in memory are below maxInFlight again. */
  private whenRoom(go: () => void): void {
    if (this.stats.held! < this.cfg.maxInFlight) return go();
    if (!this.resume) this.ctx.log.warn({ held: this.stats.held, maxInFlight: this.cfg.maxInFlight }, 'holding back: maxInFlight messages in memory wait for their commit; the broker keeps the rest');
    this.resume = go;
  }

  private goOn(): void {
    const go = this.resume;
    this.resume = undefined;
    go?.();
  }

  /** A group left memory (committed and acknowledged, or given up at a stop). */
  private freed(n: number): void {
    this.stats.held! -= n;
    if (this.stats.held! < this.cfg.maxInFlight) this.goOn();
  }

  private take(packet: IPublishPacket): void {
    this.stats.received++;
    this.stats.held!++;
    this.stats.lastMessageAt = Date.now();
    const address = packet.topic;
    const payload = packet.payload as Buffer;
    const max = this.cfg.maxPayloadBytes;
    if (payload.length > max) {
      this.batch.push({ packet, generation: this.gate.generation, rejected: { reason: `payload of ${payload.length} bytes exceeds maxPayloadBytes ${max}` } });
    } else {
      const as = this.cfg.decode;
      const d = as === 'sparkplug' ? this.sparkplug.decode(address, payload) : decode(payload, as);
      if (!d.ok) this.batch.push({ packet, generation: this.gate.generation, rejected: { reason: d.reason } });
      else {
        const p = packet.properties;
        const properties: Record<string, unknown> = { ...(p?.userProperties ?? {}) };
        if (p?.correlationData) properties.correlationId = p.correlationData.toString();
        if (p?.contentType) properties.contentType = p.contentType;
        if (p?.responseTopic) properties.responseTopic = p.responseTopic;
        properties.qos = packet.qos;
        properties.retain = packet.retain;
        this.batch.push({ packet, generation: this.gate.generation, message: { source: { adapter: 'mqtt', id: this.name }, address, payload: d.value, properties, receivedAt: new Date(), raw: payload } });
      }
    }
    if (this.batch.length >= this.cfg.maxBatch) this.queueFlush(true);
    else this.queueFlush(false);
  }

  private queueFlush(now: boolean): void {
    if (this.flushQueued && !now) return;
    this.flushQueued = true;
    const run = () => {
      this.flushQueued = false;
      const group = this.batch;
      this.batch = [];
      if (group.length === 0) return;
      // Groups are pipelined: the next one commits while this one's flush runs, but only after this one has
      // committed (so a refused group is never overtaken), and its acks go out only after this one's.
      const prevCommitted = this.committed;
      const prevAcked = this.acked;
      let committedNow!: () => void;
      this.committed = new Promise<void>((r) => (committedNow = r));
      this.acked = (async () => {
        const ok = await this.commit(group, prevCommitted, committedNow);
        await prevAcked;
        if (ok) this.release(group);
        this.freed(group.length);
      })();
    };
    if (now) run();
    else setImmediate(run);
  }

  /**
   * Commits a group once the one before it has committed; resolves true when it is on disk. On back-pressure it
   * keeps the group and tries again (later groups wait); when stopping it gives up: false, nothing acknowledged.
   */
  private async commit(group: Taken[], prevCommitted: Promise<void>, committedNow: () => void): Promise<boolean> {
    await prevCommitted;
    const rejected = group.filter((t) => t.rejected);
    const messages = group.flatMap((t) => (t.message ? [t.message] : []));
    let rejectedStored = rejected.length === 0;
    for (let attempt = 0; ; attempt++) {
      try {
        if (!rejectedStored) {
          this.ctx.reject(rejected.map((t) => ({ source: this.name, address: t.packet.topic, reason: t.rejected!.reason, payload: t.packet.payload as Buffer })));
          this.stats.rejected += rejected.length;
          rejectedStored = true;
        }
        if (messages.length) await this.ctx.ingest(messages, { onCommitted: committedNow });
        else committedNow();
        return true;
      } catch (err) {
        if (this.stopping) {
          committedNow(); // not acknowledged: the broker redelivers after the restart
          return false;
        }
        if (attempt === 0) this.ctx.log.warn({ err: (err as Error).message, messages: messages.length }, 'not acknowledging: commit refused; retrying');
        await commitRetryPause(attempt + 1);
      }
    }
  }

  /** Groups are released in arrival order, so this group's acks are next in the gate (a closed connection's are gone). */
  private release(group: Taken[]): void {
    const gen = this.gate.generation;
    this.gate.release(group.filter((t) => t.packet.qos > 0 && t.generation === gen).length, gen);
  }
}

/** MQTT 5 Maximum Packet Size for a payload limit: the payload plus room for a topic (up to 64 KiB) and properties. */
export function maxPacketSize(maxPayloadBytes: number): number {
  return Math.min(268_435_455, maxPayloadBytes + 65_536 + 4096);
}

/**
 * The broker URL as mqtt.js options, read with the WHATWG URL parser: given a string, mqtt.js calls the deprecated
 * url.parse(), which the single binary (where the library is not under node_modules) reported at every start.
 */
export function brokerAddress(url: string): Pick<IClientOptions, 'protocol' | 'host' | 'port' | 'path' | 'username' | 'password'> {
  const u = new URL(url);
  return {
    protocol: u.protocol.replace(/:$/, '') as IClientOptions['protocol'],
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'), // an IPv6 address without its brackets, as sockets take it
    ...(u.port && { port: Number(u.port) }),
    ...((u.pathname && u.pathname !== '/') || u.search ? { path: `${u.pathname}${u.search}` } : {}),
    ...(u.username && { username: decodeURIComponent(u.username) }),
    ...(u.password && { password: decodeURIComponent(u.password) }),
  };
}
