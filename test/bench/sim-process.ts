// erp-sim (or the SAP simulator) in its own process for benchmarks, so the receiver does not share the agent's event loop or core.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface SimProcess {
  url: string;
  stop(): void;
  counters(): Promise<{ accepted: number; duplicates: number; outOfOrder: number }>;
  /** Booking time minus source time (ms) of every booked event that carried a source time. */
  latencies(): Promise<number[]>;
}

export async function startSimProcess(keyOrder: 'independent' | 'stop-at-failure' = 'independent', profile: 'http' | 'sap' = 'http'): Promise<SimProcess> {
  const main = join(import.meta.dirname, '../../cli/main.ts');
  const p = spawn(process.execPath, [main, 'erp-sim', '--port', '0', '--key-order', keyOrder, ...(profile === 'sap' ? ['--profile', 'sap'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) => {
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
  });
  const get = async <T>(path: string) => (await (await fetch(`${url}${path}`)).json()) as T;
  return { url, stop: () => p.kill('SIGKILL'), counters: () => get('/_sim/counters'), latencies: () => get('/_sim/latencies') };
}
