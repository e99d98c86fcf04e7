// OPC UA: 1,000 monitored counters changing every 100 ms (10,000 changes/s) into the agent (`plantsync run`, its
// own process) with counter triggers, a mapping to production confirmations and the ERP HTTP sink; the server and
// erp-sim run in processes of their own. Figures: the agent's CPU and memory while it keeps up, and the latency from each value's source
// timestamp to its spool commit (the events' occurred_at and appended_at, read from the spool afterwards).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../../spool/spool.ts';
import type { Figure } from './report.ts';
import { agentFlags, usage } from './proc.ts';
import { startSimProcess } from './sim-process.ts';

const COUNTERS = Number(process.env.BENCH_OPCUA_COUNTERS ?? 1000);
const PERIOD_MS = 100;
const SECONDS = Number(process.env.BENCH_OPCUA_SECONDS ?? 20);
const WARMUP_S = 5;

function firstLine(p: ChildProcess, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    p.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const l = buf.split('\n').find((x) => re.test(x));
      if (l) resolve(l);
    });
    p.once('exit', (code) => reject(new Error(`${p.spawnargs.join(' ')} exited ${code}`)));
  });
}

export async function opcuaBenchmarks(): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'plantsync-opcua-bench-'));
  const server = spawn(process.execPath, [join(import.meta.dirname, 'opcua-server.ts'), String(COUNTERS), String(PERIOD_MS), join(dir, 'server-pki')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let agent: ChildProcess | undefined;
  const sim = await startSimProcess();
  try {
    const endpoint = (await firstLine(server, /^listening /)).split(' ')[1]!;
    const config = {
      agent: { id: 'bench-opcua', plant: '1000', stateDir: dir },
      admin: { port: 0 }, // never the default port: a running agent on this machine holds it
      sources: {
        plc: {
          type: 'opcua',
          endpoint,
          publishingIntervalMs: 50,
          nodes: Array.from({ length: COUNTERS }, (_, i) => ({ name: `M${i}/parts`, nodeId: `ns=1;s=C${i}`, samplingIntervalMs: 0, queueSize: 10, trigger: { kind: 'counter' } })),
        },
      },
      sinks: { erp: { type: 'erp-http', url: `${sim.url}/batch`, response: { itemsPath: 'results', itemStatusPath: 'status', itemErrorPath: 'error', receiptPath: 'documentNumber' } } },
      routes: [{ sink: 'erp', types: '*' }],
      mappings: [{ name: 'yield', topic: '{machine}/parts', emit: [{ type: 'production.confirmation', key: '{{payload.key}}', orderingKey: '{{topic.machine}}/PO1/0010', occurredAt: 'payload.ts', payload: { order: 'PO1', operation: '0010', workCenter: '{{topic.machine}}', yield: '{{payload.delta}}', scrap: 0, unit: 'PC', final: false } }] }],
    };
    const configPath = join(dir, 'plantsync.json');
    writeFileSync(configPath, JSON.stringify(config));
    agent = spawn(process.execPath, [...(process.env.BENCH_AGENT_FLAGS?.split(' ').filter(Boolean) ?? agentFlags), join(import.meta.dirname, '../../cli/main.ts'), 'run', '--config', configPath], { stdio: ['ignore', 'pipe', process.env.BENCH_AGENT_STDERR ? 'inherit' : 'ignore'] });
    await firstLine(agent, /subscription up/);
    const started = Date.now();
    await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
    const u0 = usage(agent.pid!);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, (SECONDS - WARMUP_S) * 1000));
    const u1 = usage(agent.pid!);
    const window = (Date.now() - t0) / 1000;
    await new Promise((resolve) => (agent!.once('exit', resolve), agent!.kill('SIGTERM')));
    agent = undefined;
    const spool = Spool.open({ path: join(dir, 'spool.db'), routes: [] });
    const lat = (spool.db.prepare('SELECT appended_at - occurred_at FROM events WHERE occurred_at >= ? ORDER BY 1').pluck().all(started + WARMUP_S * 1000) as number[]);
    const perSecond = (spool.db.prepare('SELECT count(*) FROM events WHERE occurred_at >= ? AND occurred_at < ?').pluck().get(t0, t0 + window * 1000) as number) / window;
    spool.close();
    const pct = (q: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * q))] ?? NaN;
    return [
      { name: `opcua: counter changes committed as events (${COUNTERS} items every ${PERIOD_MS} ms)`, value: perSecond, unit: 'events/s', target: `= ${(COUNTERS * 1000) / PERIOD_MS}` },
      { name: 'opcua: agent CPU while keeping up (one core = 100%)', value: (100 * (u1.cpuS - u0.cpuS)) / window, unit: '%', target: '<= 40' },
      { name: 'opcua: agent resident memory', value: u1.rssMiB, unit: 'MiB', target: '<= 200' },
      { name: 'opcua: p50 source timestamp -> spool commit', value: pct(0.5), unit: 'ms' },
      { name: 'opcua: p99 source timestamp -> spool commit', value: pct(0.99), unit: 'ms' },
    ];
  } finally {
    agent?.kill('SIGKILL');
    server.kill('SIGKILL');
    sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
