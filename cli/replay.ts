// `plantsync replay --sink S --since T [--until T] [--type X] --reason R`: re-send events a sink already delivered,
// e.g. after the ERP was restored from a backup and lost the last hours of postings. Safe: every event goes again
// under its own idempotency key, so what the ERP still has is recognised as a duplicate. Times filter on the
// event's occurredAt; only events still in the spool (retention: spool.retentionHours) can go again. Through the
// running agent or on the spool file; --dry-run counts, and it asks unless --yes.
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { AgentConfig } from '../agent/config.ts';
import { loadConfigFiles } from '../agent/config-files.ts';
import { AdminRequestError } from '../agent/dlq-ops.ts';
import { runReplay, type ReplayRequest } from '../agent/rejected-ops.ts';
import { Spool } from '../spool/spool.ts';
import { changeOptions, confirm, failure, timeOption, viaAgentOrSpool } from './admin-client.ts';
import { spoolPath } from '../agent/state-paths.ts';

function run(cfg: AgentConfig, r: ReplayRequest): Promise<{ count: number }> {
  return viaAgentOrSpool(cfg, '/replay', r, () => {
    const spool = Spool.open({ path: spoolPath(cfg.agent.stateDir), routes: [], mustExist: true });
    try {
      return runReplay(spool, r);
    } finally {
      spool.close();
    }
  });
}

export function register(program: Command): void {
  changeOptions(
    program
      .command('replay')
      .description('re-send events a sink already delivered (after an ERP restore); safe under their idempotency keys')
      .requiredOption('-c, --config <path>', 'config file', '/etc/plantsync/plantsync.json')
      .requiredOption('--sink <name>', 'the sink to send them to again')
      .requiredOption('--since <time>', 'events that occurred at or after (RFC 3339, epoch ms, or 30m, 24h, 7d before now)')
      .option('--until <time>', 'and before (default: now)')
      .option('--type <type>', 'only this event type')
      .option('--json', 'JSON, for scripts'),
  ).action(async (o: { config: string; sink: string; since: string; until?: string; type?: string; reason?: string; dryRun?: boolean; yes?: boolean; json?: boolean }) => {
    try {
      const cfg = loadConfigFiles(o.config).config;
      if (!o.dryRun && !o.reason?.trim()) throw new AdminRequestError('replay needs a reason (--reason): it goes into the audit log');
      const req: ReplayRequest = { sink: o.sink, since: timeOption(o.since, 'since')!, type: o.type, ...(o.reason !== undefined && { reason: o.reason }), actor: `${userInfo().username}@cli`, ...(o.until !== undefined && { until: timeOption(o.until, 'until')! }) };
      const preview = await run(cfg, { ...req, dryRun: true });
      const what = `${preview.count} delivered events of sink '${o.sink}'${o.type ? ` (type ${o.type})` : ''} that occurred since ${new Date(req.since).toISOString()}`;
      if (o.dryRun) return console.log(o.json ? JSON.stringify(preview) : `dry run: ${what} would be sent again`);
      if (!o.yes && !(await confirm(`send ${what} again?`))) {
        console.error('nothing changed (give --yes to skip the question in scripts)');
        process.exitCode = 1;
        return;
      }
      const r = await run(cfg, req);
      console.log(o.json ? JSON.stringify(r) : `${r.count} delivered events back in line for sink '${o.sink}' (same idempotency keys); audit: "${o.reason}"`);
    } catch (err) {
      failure(err);
    }
  });
}
