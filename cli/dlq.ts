// `plantsync dlq list|show|replay|drop`: dead letters, the events a sink rejected. While the agent runs it is asked
// over its admin listener (with the token from <stateDir>/admin.token); otherwise the spool file is opened directly.
// Replay puts events back in line under their own idempotency keys (safe after a fix in the ERP); drop deletes them
// for good. Both need --reason (audit log), show what they touch with --dry-run, and ask unless --yes is given.
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { ConfigError, type AgentConfig } from '../agent/config.ts';
import { loadConfigFiles } from '../agent/config-files.ts';
import { runDlq, type DlqRequest, type DlqResult } from '../agent/dlq-ops.ts';
import type { DeadFilter } from '../spool/admin.ts';
import { Spool } from '../spool/spool.ts';
import { adminBase, adminToken } from './admin-client.ts';

interface FilterOptions {
  config: string;
  sink?: string;
  type?: string;
  key?: string;
  since?: string;
  until?: string;
  error?: string;
  limit?: string;
  json?: boolean;
}

const time = (v: string | undefined, what: string) => {
  if (v === undefined) return undefined;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(t)) throw new ConfigError(`--${what}: '${v}' is not a time (RFC 3339 or epoch ms)`);
  return t;
};

function filterOf(o: FilterOptions): DeadFilter {
  return { sink: o.sink, type: o.type, orderingKey: o.key, since: time(o.since, 'since'), until: time(o.until, 'until'), errorContains: o.error, limit: o.limit ? Number(o.limit) : undefined };
}

/** Runs the request in the running agent, or on the spool file when no agent answers. */
async function run(cfg: AgentConfig, r: DlqRequest): Promise<DlqResult> {
  const base = adminBase(cfg);
  if (base) {
    let res: Response | undefined;
    try {
      res = await fetch(`${base}/dlq`, { method: 'POST', headers: { authorization: `Bearer ${adminToken(cfg)}`, 'content-type': 'application/json' }, body: JSON.stringify(r), signal: AbortSignal.timeout(30_000) });
    } catch {
      res = undefined; // no token yet, or nobody listening: the agent is not running
    }
    if (res) {
      const body = (await res.json()) as DlqResult & { error?: string };
      if (!res.ok) throw new Error(`agent: ${body.error ?? res.status}`);
      return body;
    }
  }
  const spool = Spool.open({ path: join(cfg.agent.stateDir, 'spool.db'), routes: [] });
  try {
    spool.sinkNames();
    return runDlq(spool.admin, r);
  } finally {
    spool.close();
  }
}

function printList(list: DlqResult['deadLetters'] = []): void {
  if (!list.length) return console.log('no dead letters match');
  for (const d of list) {
    console.log(`${d.sink.padEnd(10)} seq ${String(d.seq).padEnd(8)} ${d.type.padEnd(24)} key ${d.orderingKey.padEnd(20)} ${new Date(d.at).toISOString()}  ${d.status ?? '-'}  ${d.reason.slice(0, 100)}`);
  }
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question(`${question} [y/N] `);
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

function withFilters(c: Command): Command {
  return c
    .requiredOption('-c, --config <path>', 'config file', '/etc/plantsync/plantsync.json')
    .option('--sink <name>', 'only this sink')
    .option('--type <type>', 'only this event type')
    .option('--key <orderingKey>', 'only this ordering key')
    .option('--since <time>', 'dead-lettered at or after (RFC 3339 or epoch ms)')
    .option('--until <time>', 'dead-lettered before')
    .option('--error <text>', 'the reason contains this text')
    .option('--limit <n>', 'at most this many')
    .option('--json', 'JSON, for scripts');
}

async function act(action: 'list' | 'replay' | 'drop', o: FilterOptions & { reason?: string; dryRun?: boolean; yes?: boolean }, extra: DeadFilter = {}): Promise<void> {
  try {
    const cfg = loadConfigFiles(o.config).config;
    const filter = { ...filterOf(o), ...extra };
    if (action === 'list') {
      const r = await run(cfg, { action, filter });
      return o.json ? console.log(JSON.stringify(r.deadLetters, null, 2)) : printList(r.deadLetters);
    }
    const req: DlqRequest = { action, filter, ...(o.reason !== undefined && { reason: o.reason }), actor: `${userInfo().username}@cli` };
    const preview = await run(cfg, { ...req, dryRun: true });
    if (o.dryRun || !o.yes) {
      if (!o.json) printList(preview.deadLetters);
      if (o.dryRun) return o.json ? console.log(JSON.stringify(preview, null, 2)) : console.log(`dry run: ${preview.count} dead letters would be ${action === 'replay' ? 'replayed' : 'dropped'}`);
      if (!(await confirm(`${action} these ${preview.count} dead letters?`))) {
        console.error('nothing changed (give --yes to skip the question in scripts)');
        process.exitCode = 1;
        return;
      }
    }
    const r = await run(cfg, req);
    console.log(o.json ? JSON.stringify(r) : `${r.count} dead letters ${action === 'replay' ? 'replayed (back in line, same idempotency keys)' : 'dropped'}; audit: "${o.reason}"`);
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = err instanceof ConfigError || (err as Error).name === 'DlqRequestError' || /needs a reason/.test((err as Error).message) ? 2 : 1;
  }
}

export function register(program: Command): void {
  const dlq = program.command('dlq').description('dead letters: events a sink rejected (list, show, replay, drop)');
  withFilters(dlq.command('list').description('list dead letters')).action((o: FilterOptions) => act('list', o));
  dlq
    .command('show <sink> <seq>')
    .description('one dead letter with its event')
    .requiredOption('-c, --config <path>', 'config file', '/etc/plantsync/plantsync.json')
    .action(async (sink: string, seq: string, o: { config: string }) => {
      try {
        const r = await run(loadConfigFiles(o.config).config, { action: 'list', filter: { sink, seq: Number(seq), limit: 1 } });
        const d = r.deadLetters?.[0];
        if (!d) {
          console.error(`no dead letter ${sink} ${seq}`);
          process.exitCode = 1;
          return;
        }
        console.log(JSON.stringify({ ...d, body: JSON.parse(d.body) as unknown }, null, 2));
      } catch (err) {
        console.error((err as Error).message);
        process.exitCode = err instanceof ConfigError ? 2 : 1;
      }
    });
  for (const action of ['replay', 'drop'] as const) {
    withFilters(dlq.command(action).description(action === 'replay' ? 'put dead letters back in line (same idempotency keys)' : 'delete dead letters for good; their keys go on'))
      .option('--reason <text>', 'why (required; written to the audit log)')
      .option('--dry-run', 'show what would be touched; change nothing')
      .option('-y, --yes', 'do not ask')
      .action((o: FilterOptions & { reason?: string; dryRun?: boolean; yes?: boolean }) => act(action, o));
  }
}
