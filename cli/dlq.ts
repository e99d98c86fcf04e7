// `plantsync dlq list|show|replay|drop`: dead letters, the events a sink rejected. While the agent runs it is asked
// over its admin socket in the state directory; otherwise the spool file is opened directly.
// Replay puts events back in line under their own idempotency keys (safe after a fix in the ERP); drop deletes them
// for good. Both need --reason (audit log), show what they touch with --dry-run, and ask unless --yes is given.
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { AgentConfig } from '../agent/config.ts';
import { loadConfigFiles } from '../agent/config-files.ts';
import { runDlq, type DlqRequest, type DlqResult } from '../agent/dlq-ops.ts';
import type { DeadFilter } from '../spool/admin.ts';
import { Spool } from '../spool/spool.ts';
import { changeOptions, confirm, failure, inPages, timeOption, viaAgentOrSpool } from './admin-client.ts';
import { spoolPath } from '../agent/state-paths.ts';

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

function filterOf(o: FilterOptions): DeadFilter {
  return { sink: o.sink, type: o.type, orderingKey: o.key, since: timeOption(o.since, 'since'), until: timeOption(o.until, 'until'), errorContains: o.error, limit: o.limit ? Number(o.limit) : undefined };
}

/** Runs the request in the running agent, or on the spool file when no agent answers. */
function run(cfg: AgentConfig, r: DlqRequest): Promise<DlqResult> {
  return viaAgentOrSpool(cfg, '/dlq', r, () => {
    // A look (list, dry run) opens read-only; a change needs the file to be there: a wrong state directory is said.
    const look = r.action === 'list' || r.dryRun === true;
    const spool = Spool.open({ path: spoolPath(cfg.agent.stateDir), routes: [], readOnly: look, mustExist: true });
    try {
      spool.sinkNames();
      return runDlq(spool.admin, r);
    } finally {
      spool.close();
    }
  });
}

function printList(list: DlqResult['deadLetters'] = []): void {
  if (!list.length) return console.log('no dead letters match');
  for (const d of list) {
    console.log(`${d.sink.padEnd(10)} seq ${String(d.seq).padEnd(8)} ${d.type.padEnd(24)} key ${d.orderingKey.padEnd(20)} ${new Date(d.at).toISOString()}  ${d.status ?? '-'}  ${d.reason.slice(0, 100)}`);
  }
}

function withFilters(c: Command): Command {
  return c
    .requiredOption('-c, --config <path>', 'config file', '/etc/plantsync/plantsync.json')
    .option('--sink <name>', 'only this sink')
    .option('--type <type>', 'only this event type')
    .option('--key <orderingKey>', 'only this ordering key')
    .option('--since <time>', 'dead-lettered at or after (RFC 3339, epoch ms, or 30m, 24h, 7d before now)')
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
    const pages = await inPages(preview.count ?? 0, filter.limit, (page) => run(cfg, { ...req, filter: { ...filter, limit: page.limit } }));
    const r: DlqResult = { count: pages.reduce((n, p) => n + (p.count ?? 0), 0) };
    console.log(o.json ? JSON.stringify(r) : `${r.count} dead letters ${action === 'replay' ? 'replayed (back in line, same idempotency keys)' : 'dropped'}; audit: "${o.reason}"`);
  } catch (err) {
    failure(err);
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
        failure(err);
      }
    });
  for (const action of ['replay', 'drop'] as const) {
    changeOptions(withFilters(dlq.command(action).description(action === 'replay' ? 'put dead letters back in line (same idempotency keys)' : 'delete dead letters for good; their keys go on')))
      .action((o: FilterOptions & { reason?: string; dryRun?: boolean; yes?: boolean }) => act(action, o));
  }
}
