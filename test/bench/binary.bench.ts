// The single binary: its size and its start-to-ready time (process start to READY=1 on a notify socket, as
// systemd sees it; median and worst of 10 starts, the first one, which unpacks the assets, not counted). Builds
// dist/plantsync when it is missing.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Figure } from './report.ts';

const root = join(import.meta.dirname, '../..');
const exe = join(root, 'dist', 'plantsync');

async function startToReady(dir: string, config: string, socketPath: string): Promise<number> {
  const listener = spawn('python3', ['-u', '-c', 'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("bound")\nwhile True: print(s.recv(4096).decode().replace("\\n"," "))', socketPath]);
  let got = '';
  listener.stdout.on('data', (d: Buffer) => (got += d.toString()));
  while (!got.includes('bound')) await new Promise((r) => setTimeout(r, 5));
  const t0 = performance.now();
  const agent = spawn(exe, ['run', '--config', config], { env: { ...process.env, NOTIFY_SOCKET: socketPath, PLANTSYNC_CACHE_DIR: join(dir, 'cache'), PLANTSYNC_LOG_FORMAT: 'json' }, stdio: 'ignore' });
  while (!got.includes('READY=1')) await new Promise((r) => setTimeout(r, 1));
  const ms = performance.now() - t0;
  await new Promise((r) => (agent.once('exit', r), agent.kill('SIGTERM')));
  listener.kill();
  rmSync(socketPath, { force: true });
  return ms;
}

export async function binaryBenchmarks(): Promise<Figure[]> {
  if (!existsSync(exe)) spawnSync(process.execPath, [join(root, '.ci', 'package.ts')], { stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'plantsync-bench-bin-'));
  try {
    const config = join(dir, 'plantsync.json');
    writeFileSync(config, JSON.stringify({ agent: { id: 'gw-bench', plant: '1000', stateDir: join(dir, 'state') }, admin: { port: 0 }, sinks: { erp: { type: 'memory' } }, routes: [{ sink: 'erp', types: '*' }] }));
    const times: number[] = [];
    for (let i = 0; i < 11; i++) times.push(await startToReady(dir, config, join(dir, 'notify.sock')));
    const warm = times.slice(1).sort((a, b) => a - b);
    return [
      { name: 'binary: size', value: statSync(exe).size / 1024 / 1024, unit: 'MiB' },
      { name: 'binary: first start to READY (unpacks assets)', value: times[0]!, unit: 'ms' },
      { name: 'binary: start to READY, median', value: warm[Math.floor(warm.length / 2)]!, unit: 'ms', target: '<= 500 ms' },
      { name: 'binary: start to READY, worst of 10', value: warm.at(-1)!, unit: 'ms', target: '<= 500 ms' },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
