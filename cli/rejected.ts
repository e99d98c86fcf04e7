// `plantsync rejected list|show|replay|drop`: input that never became an event (malformed, oversized, no mapping
// rule, an event that failed its schema), kept with source, address, reason and a bounded copy of the payload.
// Replay runs each record through the current mapping (after a mapping fix): what now maps is committed as events
// and the record removed; what still fails stays, with its reason. Like `dlq`: through the running agent or on the
// spool file, --reason (audit log), --dry-run (for replay: which records the current mapping would now take),
// and a question unless --yes.
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { spoolRoutes, type AgentConfig } from '../agent/config.ts';
import { loadConfigFiles } from '../agent/config-files.ts';
import { offlineRemapContext, runRejected, type RejectedRequest, type RejectedResult, type RejectedView } from '../agent/rejected-ops.ts';
import type { RejectedFilter } from '../spool/admin.ts';
import { Spool } from '../spool/spool.ts';
import { changeOptions, confirm, failure, inPages, timeOption, viaAgentOrSpool } from './admin-client.ts';
import { spoolPath } from '../agent/state-paths.ts';

interface Options {
  config: string;
  source?: string;
  since?: string;
  until?: string;
  error?: string;
  limit?: string;
  json?: boolean;
  reason?: string;
  dryRun?: boolean;
  yes?: boolean;
}

function run(cfg: AgentConfig, version: string, r: RejectedRequest): Promise<RejectedResult> {
  return viaAgentOrSpool(cfg, '/rejected', r, async () => {
    // Routed as the config says, so re-mapped events go to their sinks when the agent starts.
    const look = r.action === 'list' || r.dryRun === true; // read-only; a change needs the file to be there
    const spool = Spool.open({ path: spoolPath(cfg.agent.stateDir), routes: look ? [] : spoolRoutes(cfg), readOnly: look, mustExist: true });
    try {
      return await runRejected(spool, await offlineRemapContext(cfg, version), r);
    } finally {
      spool.close();
    }
  });
}

function printList(list: RejectedView[] = []): void {
  if (!list.length) return console.log('no rejected records match');
  for (const r of list) {
    console.log(`#${String(r.id).padEnd(7)} ${r.at}  ${r.source.padEnd(12)} ${shortened(r.address, 60).padEnd(60)} ${r.reason.slice(0, 90)}${r.truncated ? '  (truncated)' : ''}`);
  }
}

/**
 * A long topic or node name in a table column: its start and its end, with "…" between. Cutting the end off left
 * stubs like "plantsync/werk-2/halle-3/linie-4/pres" where the machine's name (the end) is what tells records apart.
 */
export function shortened(text: string, width: number): string {
  if (text.length <= width) return text;
  const head = Math.floor((width - 1) * 0.4);
  return `${text.slice(0, head)}…${text.slice(text.length - (width - 1 - head))}`;
}

function filterOf(o: Options): RejectedFilter {
  return { source: o.source, since: timeOption(o.since, 'since'), until: timeOption(o.until, 'until'), errorContains: o.error, limit: o.limit ? Number(o.limit) : undefined };
}

async function act(action: RejectedRequest['action'], o: Options): Promise<void> {
  try {
    const { config: cfg, version } = loadConfigFiles(o.config);
    const filter = filterOf(o);
    if (action === 'list') {
      const r = await run(cfg, version, { action, filter });
      return o.json ? console.log(JSON.stringify(r.records, null, 2)) : printList(r.records);
    }
    const req: RejectedRequest = { action, filter, ...(o.reason !== undefined && { reason: o.reason }), actor: `${userInfo().username}@cli` };
    const preview = await run(cfg, version, { ...req, dryRun: true });
    if (o.dryRun) return console.log(o.json ? JSON.stringify(preview, null, 2) : describe(action, preview, true));
    if (!o.yes) {
      console.log(describe(action, preview, true));
      if (!(await confirm(`${action} ${preview.count} rejected records?`))) {
        console.error('nothing changed (give --yes to skip the question in scripts)');
        process.exitCode = 1;
        return;
      }
    }
    const pages = await inPages(preview.examined ?? 0, filter.limit, (page) => run(cfg, version, { ...req, filter: { ...filter, ...page } }));
    const r: RejectedResult = { count: pages.reduce((n, p) => n + (p.count ?? 0), 0), stillRejected: pages.flatMap((p) => p.stillRejected ?? []) };
    console.log(o.json ? JSON.stringify(r) : `${describe(action, r, false)}; audit: "${o.reason}"`);
    if (action === 'replay' && r.count === 0 && (r.stillRejected?.length ?? 0) > 0) process.exitCode = 1;
  } catch (err) {
    failure(err);
  }
}

function describe(action: RejectedRequest['action'], r: RejectedResult, dry: boolean): string {
  if (action === 'drop') return dry ? `dry run: ${r.count} rejected records would be dropped` : `${r.count} rejected records dropped`;
  const still = r.stillRejected ?? [];
  const lines = [dry ? `dry run: ${r.count} rejected records would become events with the current mapping; ${still.length} would stay rejected` : `${r.count} rejected records replayed into events; ${still.length} still rejected`];
  for (const s of still.slice(0, 20)) lines.push(`  #${s.id}: ${s.reason}`);
  if (still.length > 20) lines.push(`  ... and ${still.length - 20} more`);
  return lines.join('\n');
}

function withFilters(c: Command): Command {
  return c
    .requiredOption('-c, --config <path>', 'config file', '/etc/plantsync/plantsync.json')
    .option('--source <name>', 'only this source')
    .option('--since <time>', 'rejected at or after (RFC 3339, epoch ms, or 30m, 24h, 7d before now)')
    .option('--until <time>', 'rejected before')
    .option('--error <text>', 'the reason contains this text')
    .option('--limit <n>', 'at most this many')
    .option('--json', 'JSON, for scripts');
}

export function register(program: Command): void {
  const rejected = program.command('rejected').description('rejected records: input that never became an event (list, show, replay, drop)');
  withFilters(rejected.command('list').description('list rejected records')).action((o: Options) => act('list', o));
  rejected
    .command('show <id>')
    .description('one rejected record with its payload')
    .requiredOption('-c, --config <path>', 'config file', '/etc/plantsync/plantsync.json')
    .action(async (id: string, o: { config: string }) => {
      try {
        const { config: cfg, version } = loadConfigFiles(o.config);
        const r = (await run(cfg, version, { action: 'list', filter: { id: Number(id), limit: 1 } })).records?.[0];
        if (!r) {
          console.error(`no rejected record #${id}`);
          process.exitCode = 1;
          return;
        }
        console.log(JSON.stringify(r, null, 2));
      } catch (err) {
        failure(err);
      }
    });
  for (const action of ['replay', 'drop'] as const) {
    changeOptions(withFilters(rejected.command(action).description(action === 'replay' ? 'run records through the current mapping; what maps now becomes events' : 'delete rejected records for good')))
      .action((o: Options) => act(action, o));
  }
}
