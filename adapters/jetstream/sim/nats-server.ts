// A private nats-server with JetStream for tests and benchmarks: the machine's binary on an ephemeral loopback port,
// its store in a folder of the test's own, so a test can kill -9 it and start it again on the same port and store.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, jetstreamManager, StorageType, type StreamConfig } from '@nats-io/jetstream';

const BINARY = process.env.NATS_SERVER ?? 'nats-server';

export interface PrivateNats {
  url: string;
  port: number;
  /** kill -9, as a power cut would. */
  kill9(): Promise<void>;
  /** Starts it again on the same port with the same store (after kill9). */
  restart(): Promise<void>;
  stop(): void;
}

function launch(storeDir: string, port: number, configFile: string | undefined): Promise<{ proc: ChildProcess; port: number }> {
  const args = [...(configFile ? ['-c', configFile] : []), '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir, '-n', `plantsync-test-${process.pid}`];
  const proc = spawn(BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let log = '';
    const onData = (d: Buffer) => {
      log += d.toString();
      const m = /Listening for client connections on [\d.]+:(\d+)/.exec(log);
      if (m) {
        proc.stderr!.off('data', onData);
        proc.stderr!.resume();
        resolve({ proc, port: Number(m[1]) });
      }
    };
    proc.stderr!.on('data', onData);
    proc.once('error', (err) => reject(new Error(`${BINARY} could not start (${err.message}); tests need nats-server (Debian package nats-server)`)));
    proc.once('exit', (code) => reject(new Error(`${BINARY} exited with ${code}: ${log.slice(-500)}`)));
  });
}

/** `config`: nats-server configuration text (TLS, users), written beside the store and passed with -c. */
export async function launchNats(dir: string, config?: string): Promise<PrivateNats> {
  const store = join(dir, 'nats-store');
  const configFile = config === undefined ? undefined : join(dir, 'nats-server.conf');
  if (configFile) writeFileSync(configFile, config!);
  let { proc, port } = await launch(store, -1, configFile);
  const exited = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));
  return {
    url: `nats://127.0.0.1:${port}`,
    get port() {
      return port;
    },
    async kill9() {
      proc.kill('SIGKILL');
      await exited(proc);
    },
    async restart() {
      ({ proc, port } = await launch(store, port, configFile));
    },
    stop() {
      proc.kill('SIGKILL');
    },
  };
}

/** A private server for one test, killed when the test ends. */
export async function startNats(t: TestContext, dir: string, config?: string): Promise<PrivateNats> {
  const n = await launchNats(dir, config);
  t.after(() => n.stop());
  return n;
}

/** The fleet's stream as docs/fleet.md creates it (file storage, a duplicate window), with changes for a test. */
export async function createFleetStream(url: string, name = 'PLANTSYNC', over: Partial<StreamConfig> = {}, options: Partial<ConnectionOptions> = {}): Promise<void> {
  const nc: NatsConnection = await connect({ servers: url, ...options });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name, subjects: ['plantsync.>'], storage: StorageType.File, discard: DiscardPolicy.New, duplicate_window: 120e9, ...over });
  } finally {
    await nc.close();
  }
}
