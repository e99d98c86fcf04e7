// Shared pieces of the CLI tests: run the CLI as a child process, find a free loopback port.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const main = join(import.meta.dirname, 'main.ts');
const exec = promisify(execFile);

export async function plantsync(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    return { code: 0, ...(await exec(process.execPath, [main, ...args], { env: { ...process.env, PLANTSYNC_LOG_FORMAT: 'json' } })) };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** `plantsync run` as a child process (killed when the test ends), its stdout kept for waiting on log lines. */
export function runAgent(t: TestContext, config: string, ...args: string[]): { proc: ChildProcess; log: () => string } {
  const proc = spawn(process.execPath, [main, 'run', '--config', config, ...args], { env: { ...process.env, PLANTSYNC_LOG_FORMAT: 'json' } });
  t.after(() => proc.kill('SIGKILL'));
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return { proc, log: () => out };
}
