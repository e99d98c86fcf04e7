// `plantsync demo`: the whole path on one machine. A simulated press line produces shop-floor events, the agent
// spools them and the ERP HTTP sink posts them to the reference ERP receiver (erp-sim) over loopback HTTP; a few
// seconds in, the ERP goes down for a while and machine messages are resent, so retries, the breaker, the paced
// drain and de-duplication show in the progress lines.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Agent } from '../agent/agent.ts';
import type { AgentConfig } from '../agent/config.ts';
import { PressLine } from '../agent/demo/press-line.ts';
import type { EventDraft } from '../agent/events.ts';
import { createLogger } from '../agent/log.ts';
import { ErpSim } from '../adapters/erp-http/erp-sim.ts';

interface DemoOptions {
  duration?: string;
  rate: string;
  stateDir?: string;
  outageAt: string;
  outageFor: string;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('run the agent on a simulated press line and the reference ERP receiver, printing progress')
    .option('-d, --duration <s>', 'stop after this many seconds (default: until Ctrl-C)')
    .option('-r, --rate <n>', 'machine cycles per second (each yields ~5 events)', '50')
    .option('--state-dir <dir>', 'keep the spool here (default: a temporary folder, removed at exit)')
    .option('--outage-at <s>', 'the ERP goes down this many seconds in', '6')
    .option('--outage-for <s>', 'and stays down this long', '4')
    .action((o: DemoOptions) => demo(o));
}

async function demo(o: DemoOptions): Promise<void> {
  const stateDir = o.stateDir ?? mkdtempSync(join(tmpdir(), 'plantsync-demo-'));
  const erp = new ErpSim();
  await erp.start();
  const config: AgentConfig = {
    agent: { id: 'demo-gw', plant: '1000', stateDir, label: 'demo' },
    sinks: {
      erp: {
        type: 'erp-http',
        url: `${erp.url}/batch`,
        response: { itemsPath: 'results', itemStatusPath: 'status', itemErrorPath: 'error', receiptPath: 'documentNumber' },
        protect: { breakerFailures: 3, breakerOpenMs: 500, breakerMaxOpenMs: 2000 },
        delivery: { concurrency: 4, maxEvents: 500, backoff: { baseMs: 200, capMs: 2000 } },
      },
    },
    routes: [{ sink: 'erp', types: '*', onReject: 'park' }],
  };
  const log = createLogger({ level: process.env.PLANTSYNC_LOG_LEVEL ?? 'warn' });
  const agent = new Agent({ config, configVersion: 'demo', log });
  await agent.start();
  const line = new PressLine();
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  let produced = 0;
  let resent = 0;
  let last: EventDraft[] = [];
  let stopping = false;
  let outageDone = false;
  let outageUntil = 0;
  const inFlight = new Set<Promise<unknown>>();

  console.log(`plantsync demo: press line -> spool (${join(stateDir, 'spool.db')}) -> ERP HTTP sink -> erp-sim at ${erp.url}; Ctrl-C to stop`);
  const tick = setInterval(() => {
    if (stopping) return;
    const drafts = line.cycle();
    produced += drafts.length;
    // Every ~3 s the machine resends its previous message, as a broker does after a lost acknowledgement.
    const resend = Math.floor(seconds()) % 3 === 0 && last.length > 0 && Math.random() < 0.05;
    if (resend) resent += last.length;
    const batch = resend ? [...last, ...drafts] : drafts;
    last = drafts;
    const p = agent.ingest(batch).catch((err: unknown) => log.error({ err }, 'ingest failed'));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (!outageDone && seconds() >= Number(o.outageAt)) {
      outageDone = true;
      erp.setFault({ mode: 'down' }, Number(o.outageFor) * 1000);
      outageUntil = Date.now() + Number(o.outageFor) * 1000;
      console.log(`-- ERP down for ${o.outageFor} s (connections reset): events keep spooling; the breaker opens; the drain is paced`);
    }
  }, 1000 / Number(o.rate));

  const progress = () => {
    const s = agent.sinkStatus('erp');
    const st = agent.ingestStats;
    console.log(
      `t=${seconds().toFixed(0).padStart(3)}s  produced ${produced}  spooled ${st.accepted}  duplicates ${st.duplicates}  ` +
        `delivered ${s.delivered}  backlog ${s.pending + s.held}  retries ${s.retried}  ` +
        `| ERP accepted ${erp.counters.accepted}  duplicate posts ${erp.counters.duplicates}  out of order ${erp.counters.outOfOrder}` +
        (Date.now() < outageUntil ? '  [ERP DOWN]' : ''),
    );
  };
  const timer = setInterval(progress, 1000);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    if (o.duration) setTimeout(resolve, Number(o.duration) * 1000);
  });
  stopping = true;
  clearInterval(tick);
  console.log('-- stopping the machine; draining the backlog');
  await Promise.all(inFlight); // the machine's last messages are committed before the drain is judged
  const drainBy = Date.now() + 30_000;
  while (Date.now() < drainBy && erp.counters.accepted < agent.ingestStats.accepted) await new Promise((r) => setTimeout(r, 50));
  clearInterval(timer);
  progress();
  await agent.stop(5000);
  await erp.close();
  if (!o.stateDir) rmSync(stateDir, { recursive: true, force: true });

  const ok = erp.counters.accepted === agent.ingestStats.accepted && erp.counters.outOfOrder === 0;
  console.log(
    `${ok ? 'OK' : 'FAILED'}: ${agent.ingestStats.accepted} events spooled, ${erp.counters.accepted} posted to ERP exactly once ` +
      `(${agent.ingestStats.duplicates} resent machine messages recognised, ${resent} resent), ${erp.counters.outOfOrder} out of order`,
  );
  process.exitCode = ok ? 0 : 1;
}
