// `plantsync status`: what the agent is doing, for the technician at 3 a.m. and for scripts. It asks the running
// agent (GET /status on its admin socket); when no agent answers, it reads the spool file itself (read-only) and
// says so.
// Exit codes: 0 healthy; 1 running but degraded (a source down, dead letters waiting, a refused config reload, a
// latency objective breached or missed in the last 5 minutes);
// 2 bad config; 3 not running.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentStatus } from '../agent/admin-http.ts';
import { ConfigError, parseConfig, type AgentConfig } from '../agent/config.ts';
import { loadConfigFiles } from '../agent/config-files.ts';
import { Spool } from '../spool/spool.ts';
import { askAgent } from './admin-client.ts';
import { spoolPath } from '../agent/state-paths.ts';

const ago = (at: string | null) => (at ? `${Math.max(0, Math.round((Date.now() - Date.parse(at)) / 1000))}s ago` : '-');

async function ask(cfg: AgentConfig): Promise<AgentStatus | undefined> {
  return askAgent<AgentStatus>(cfg, 'GET', '/status', undefined, 3000).catch((err: Error) => {
    if (/permission denied/.test(err.message)) throw err;
    return undefined; // no answer: the agent is not running (or hung)
  });
}

/** The spool's view when the agent is not running: backlog and dead letters per sink. */
function fromSpool(cfg: AgentConfig): Record<string, unknown> {
  // Read-only: never creates a spool or a folder, never marks the file (a look must not hide a crash).
  const spool = Spool.open({ path: spoolPath(cfg.agent.stateDir), routes: [], readOnly: true });
  try {
    const sinks = Object.fromEntries(spool.sinkNames().map((n) => [n, spool.stats(n)]));
    return { running: false, sinks, rejectedRecords: spool.admin.countRejected() };
  } finally {
    spool.close();
  }
}

function print(st: AgentStatus): void {
  console.log(`plantsync ${st.agentId}  config ${st.configVersion}  up ${st.uptimeSec}s  ${st.ready ? 'READY' : `NOT READY: ${st.notReady.join('; ')}`}`);
  if (st.statusPage) console.log(`status page ${st.statusPage}`);
  if (st.config.refused) console.log(`CONFIG REFUSED ${ago(st.config.refused.at)}: ${st.config.refused.message}`);
  for (const w of st.warnings ?? []) console.log(`WARNING ${w}`);
  console.log('sources');
  for (const [n, s] of Object.entries(st.sources)) {
    console.log(`  ${n.padEnd(12)} ${(s.connected ? 'connected' : 'DISCONNECTED').padEnd(13)} last message ${ago(s.lastMessageAt).padEnd(8)} reconnects ${s.reconnects}  received ${s.received}  rejected records ${s.rejected}${s.lastError ? `  why: ${s.lastError}` : ''}`);
  }
  console.log('sinks');
  for (const [n, s] of Object.entries(st.sinks)) {
    const oldest = s.oldestPendingAgeSec === null ? '' : ` (oldest ${s.oldestPendingAgeSec}s)`;
    // Held events wait behind a parked key (a dead letter not yet replayed or dropped): `plantsync keys` shows them.
    const held = s.parkedKeys || s.held ? ` [${s.parkedKeys} parked key${s.parkedKeys === 1 ? '' : 's'}, ${s.held} held behind them]` : '';
    console.log(`  ${n.padEnd(12)} backlog ${s.pending + s.held}${oldest}${held}  in flight ${s.inFlight}  breaker ${s.breaker}  delivered ${s.delivered}  retried ${s.retried}  dead letters ${s.deadLetters}  last success ${ago(s.lastSuccessAt)}  last error ${s.lastError ? `${ago(s.lastErrorAt)}: ${s.lastError}` : '-'}`);
  }
  // The sources' lines count their records in the spool, so they add up to this; the rest are of sources since removed.
  const others = st.rejectedRecords - Object.values(st.sources).reduce((n, s) => n + s.rejected, 0);
  console.log(`rejected records ${st.rejectedRecords}${others > 0 ? ` (${others} of sources no longer in the config)` : ''}`);
  for (const m of st.objectives.recentMisses) {
    console.log(`LATE in the last 5 min: sink ${m.sink} ${m.type}: ${m.count} events acknowledged after their objective of ${m.objectiveSec} s (worst ${m.worstSec} s)`);
  }
}

/** The main config file on its own (without conf.d), when it is valid: enough to find the agent. */
function mainFileOnly(path: string): AgentConfig | undefined {
  try {
    return parseConfig(readFileSync(path, 'utf8'), path).config;
  } catch {
    return undefined;
  }
}

export function register(program: Command): void {
  program
    .command('status')
    .description("sources, sinks, backlog and health of the agent (asks the running agent; reads the spool when it is not running)")
    .requiredOption('-c, --config <path>', 'config file', '/etc/plantsync/plantsync.json')
    .option('--json', 'one JSON object, for scripts')
    .option('-w, --watch [seconds]', 'refresh every few seconds until Ctrl-C')
    .action(async (o: { config: string; json?: boolean; watch?: string | boolean }) => {
      let cfg: AgentConfig;
      // A bad conf.d fragment on disk must not hide the running agent (it runs on its last good config): the main
      // file alone still says where the agent is, and the error is shown beside its status.
      let onDisk: string | undefined;
      try {
        cfg = loadConfigFiles(o.config).config;
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        const main = mainFileOnly(o.config);
        if (!main) {
          console.error(err.message);
          process.exitCode = 2;
          return;
        }
        cfg = main;
        onDisk = err.message;
      }
      for (;;) {
        let st: AgentStatus | undefined;
        try {
          st = await ask(cfg);
        } catch (err) {
          console.error((err as Error).message); // permission denied: say who to run as
          process.exitCode = 1;
          return;
        }
        if (o.watch) console.clear();
        if (st) {
          if (o.json) console.log(JSON.stringify(onDisk ? { ...st, configOnDisk: { error: onDisk } } : st, null, 2));
          else {
            if (onDisk) console.log(`CONFIG ON DISK INVALID (the agent runs on its last good config ${st.configVersion}): ${onDisk}`);
            print(st);
          }
          const deadLetters = Object.values(st.sinks).reduce((n, s) => n + s.deadLetters, 0);
          process.exitCode = st.ready && deadLetters === 0 && !st.config.refused && !onDisk && st.objectives.recentMisses.length === 0 ? 0 : 1;
        } else {
          let view: Record<string, unknown>;
          try {
            view = fromSpool(cfg);
          } catch (err) {
            // Locked: an agent holds the spool but did not answer (its admin listener is off or hung).
            view = { running: 'unknown', error: (err as Error).message };
          }
          if (o.json) console.log(JSON.stringify(view, null, 2));
          else {
            console.log(`plantsync ${cfg.agent.id}: the agent is not answering on its admin listener (not running?)`);
            if ('error' in view) console.log(`  spool: ${String(view.error)}`);
            for (const [n, s] of Object.entries((view.sinks ?? {}) as Record<string, { pending: number; held: number; deadLetters: number; oldestPendingAt?: number }>)) {
              console.log(`  sink ${n.padEnd(12)} backlog ${s.pending + s.held}  dead letters ${s.deadLetters}${s.oldestPendingAt ? `  oldest ${new Date(s.oldestPendingAt).toISOString()}` : ''}`);
            }
            if (typeof view.rejectedRecords === 'number') console.log(`  rejected records ${view.rejectedRecords}`);
          }
          process.exitCode = 3;
        }
        if (!o.watch) return;
        await new Promise((r) => setTimeout(r, 1000 * (typeof o.watch === 'string' ? Number(o.watch) : 2)));
      }
    });
}
