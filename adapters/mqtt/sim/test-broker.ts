// The broker for MQTT tests: an embedded aedes (MQTT 3.1.1) on an ephemeral loopback port by default, or the
// broker at MQTT_URL (Mosquitto on 127.0.0.1:1883 on our machines, MQTT 5) when that is set.
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { Aedes } from 'aedes';

export interface TestBroker {
  url: string;
  protocolVersion: 4 | 5;
  /** The embedded broker, when there is one (for observing acks). */
  aedes: Aedes | undefined;
}

export async function startBroker(t: TestContext): Promise<TestBroker> {
  if (process.env.MQTT_URL) return { url: process.env.MQTT_URL, protocolVersion: 5, aedes: undefined };
  const aedes = await Aedes.createBroker();
  const server: Server = createServer(aedes.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(async () => {
    await new Promise<void>((r) => aedes.close(() => r()));
    server.close();
  });
  return { url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`, protocolVersion: 4, aedes };
}

/** A topic prefix of its own per test, so tests against a shared broker never see each other's messages. */
export function uniquePrefix(): string {
  return `plantsync-test/${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * A private Mosquitto (the machine's binary) on an ephemeral port with its own persistence folder, for tests that
 * kill clients or restart the broker: the embedded aedes (in-memory persistence) lost in-flight QoS 1 messages of
 * killed clients under load in our runs, which a real broker must not. Undefined when mosquitto is not installed.
 */
export async function startPrivateMosquitto(t: TestContext, dir: string): Promise<{ url: string; restart: () => Promise<void> } | undefined> {
  const m = await launchMosquitto(dir);
  if (m) t.after(() => m.stop());
  return m;
}

export interface PrivateMosquitto {
  url: string;
  /** mqtts:// URL of the TLS listener, when one was asked for. */
  tlsUrl?: string;
  /** A clean broker restart: SIGTERM makes Mosquitto write its persistence file, which the new process reads. */
  restart: () => Promise<void>;
  stop: () => void;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  return port;
}

/**
 * Starts Mosquitto with the settings adapters/mqtt/README.md recommends for gateways (no queue or in-flight limits,
 * persistence, TCP_NODELAY). `tls` adds a TLS listener beside the plain one, optionally requiring a client
 * certificate signed by `ca`. Undefined when mosquitto is not installed.
 */
export async function launchMosquitto(dir: string, tls?: { ca: string; cert: string; key: string; requireCertificate: boolean }): Promise<PrivateMosquitto | undefined> {
  const { existsSync, writeFileSync } = await import('node:fs');
  const { spawn } = await import('node:child_process');
  const { join } = await import('node:path');
  const bin = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));
  if (!bin) return undefined;
  const port = await freePort();
  const tlsPort = tls ? await freePort() : 0;
  const conf = join(dir, 'mosquitto.conf');
  const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${dir}/`, 'max_queued_messages 0', 'max_inflight_messages 0', 'set_tcp_nodelay true'];
  const tlsLines = tls ? [`listener ${tlsPort} 127.0.0.1`, `cafile ${tls.ca}`, `certfile ${tls.cert}`, `keyfile ${tls.key}`, `require_certificate ${tls.requireCertificate}`] : [];
  writeFileSync(conf, [...lines, ...tlsLines, ...(process.getuid?.() === 0 ? ['user root'] : [])].join('\n') + '\n');
  let proc = spawn(bin, ['-c', conf], { stdio: 'ignore' });
  const up = async () => {
    const { connectAsync } = await import('mqtt');
    for (let i = 0; i < 100; i++) {
      try {
        const c = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 500 });
        await c.endAsync();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error('private mosquitto did not start');
  };
  await up();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    ...(tls && { tlsUrl: `mqtts://127.0.0.1:${tlsPort}` }),
    restart: async () => {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
      proc = spawn(bin, ['-c', conf], { stdio: 'ignore' });
      await up();
    },
    stop: () => proc.kill('SIGKILL'),
  };
}
