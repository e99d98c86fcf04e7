// `plantsync audit`: who changed what the agent owes (dead letters replayed or dropped, rejected records, replays,
// keys taken out of the flow), when, how many events, and why. Asked over the admin socket while the agent runs
// (the socket's group may read it; the TCP listener never serves it), read from the spool file otherwise.
import type { Command } from 'commander';
import { loadConfigFiles } from '../agent/config-files.ts';
import type { AuditRequest } from '../agent/admin-requests.ts';
import { spoolPath } from '../agent/state-paths.ts';
import type { AuditEntry } from '../spool/admin.ts';
import { Spool } from '../spool/spool.ts';
import { failure, timeOption, viaAgentOrSpool } from './admin-client.ts';
import { shortened } from './rejected.ts';

export function register(program: Command): void {
  program
    .command('audit')
    .description('the audit log: who changed what the agent owes, when, how many events, and why (newest first)')
    .requiredOption('-c, --config <path>', 'config file', '/etc/plantsync/plantsync.json')
    .option('--since <time>', 'from this time (RFC 3339, epoch ms, or 30m, 24h, 7d before now)')
    .option('--until <time>', 'before this time')
    .option('--action <action>', 'an action or its start: dlq, dlq.replay, rejected.drop, replay, keys.evict')
    .option('--user <name>', 'requests of this OS user (or part of the name)')
    .option('--limit <n>', 'at most this many entries', '100')
    .option('--json', 'one JSON array, for scripts')
    .action(async (o: { config: string; since?: string; until?: string; action?: string; user?: string; limit: string; json?: boolean }) => {
      try {
        const cfg = loadConfigFiles(o.config).config;
        const r: AuditRequest = { since: timeOption(o.since, 'since'), until: timeOption(o.until, 'until'), action: o.action, actor: o.user, limit: Number(o.limit) };
        const { entries } = await viaAgentOrSpool(cfg, '/audit', r, () => {
          const spool = Spool.open({ path: spoolPath(cfg.agent.stateDir), routes: [], readOnly: true, mustExist: true });
          try {
            return { entries: spool.admin.auditLog(r.limit, r) };
          } finally {
            spool.close();
          }
        });
        if (o.json) return console.log(JSON.stringify(entries, null, 2));
        print(entries);
      } catch (err) {
        failure(err);
      }
    });
}

function print(entries: AuditEntry[]): void {
  if (!entries.length) return console.log('no audit entries match');
  console.log(`${'when'.padEnd(24)} ${'who'.padEnd(16)} ${'action'.padEnd(14)} ${'events'.padStart(6)}  ${'what'.padEnd(44)} why`);
  for (const e of entries) {
    console.log(`${new Date(e.at).toISOString().padEnd(24)} ${shortened(e.actor, 16).padEnd(16)} ${e.action.padEnd(14)} ${String(e.count).padStart(6)}  ${shortened(e.target, 44).padEnd(44)} ${e.reason}`);
  }
}
