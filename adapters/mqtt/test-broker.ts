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
