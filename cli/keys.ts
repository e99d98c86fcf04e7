// `plantsync keys list|evict`: ordering keys that do not flow. `list` shows the parked ones (behind dead letters)
// and those whose batch waits to retry, with the last error; `evict` takes one out of the flow on purpose: its
// pending events become dead letters with the reason (audited) and the key stays parked until `dlq replay` or
// `dlq drop`. Through the running agent (admin socket) or on the spool file when it is stopped.
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { AgentConfig } from '../agent/config.ts';
import { loadConfigFiles } from '../agent/config-files.ts';
import { runKeys, type KeysRequest, type KeysResult } from '../agent/keys-ops.ts';
import { Spool } from '../spool/spool.ts';
import { changeOptions, confirm, failure, viaAgentOrSpool } from './admin-client.ts';
import { spoolPath } from '../agent/state-paths.ts';

function run(cfg: AgentConfig, r: KeysRequest): Promise<KeysResult> {
  return viaAgentOrSpool(cfg, '/keys', r, () => {
    const look = r.action === 'list' || r.dryRun === true;
    const spool = Spool.open({ path: spoolPath(cfg.agent.stateDir), routes: [], readOnly: look, mustExist: true });
    try {
      return runKeys(spool, r);
    } finally {
      spool.close();
    }
  });
}

function print(keys: KeysResult['keys'] = []): void {
  if (!keys.length) return console.log('every key flows');
  for (const k of keys) {
    const retry = k.retrying ? `  retrying: attempt ${k.retrying.attempts}, next ${new Date(k.retrying.nextAt).toISOString()}: ${k.retrying.lastError.slice(0, 100)}` : '';
    console.log(`${k.orderingKey.padEnd(24)} dead letters ${k.deadLetters}  held ${k.held}${retry}`);
  }
}

export function register(program: Command): void {
  const keys = program.command('keys').description('ordering keys that do not flow (parked, retrying); take one out of the flow');
  keys
    .command('list')
    .description('keys parked behind dead letters or waiting to retry')
    .requiredOption('-c, --config <path>', 'config file', '/etc/plantsync/plantsync.json')
    .requiredOption('--sink <name>', 'the sink')
    .option('--json', 'JSON, for scripts')
    .action(async (o: { config: string; sink: string; json?: boolean }) => {
      try {
        const r = await run(loadConfigFiles(o.config).config, { action: 'list', sink: o.sink });
        if (o.json) console.log(JSON.stringify(r.keys, null, 2));
        else print(r.keys);
      } catch (err) {
        failure(err);
      }
    });
  changeOptions(
    keys
      .command('evict')
      .description("move a key's pending events to dead letters (audited); the key stays parked until dlq replay or drop")
      .requiredOption('-c, --config <path>', 'config file', '/etc/plantsync/plantsync.json')
      .requiredOption('--sink <name>', 'the sink')
      .requiredOption('--key <orderingKey>', 'the ordering key'),
  ).action(async (o: { config: string; sink: string; key: string; reason?: string; dryRun?: boolean; yes?: boolean }) => {
    try {
      const cfg = loadConfigFiles(o.config).config;
      const req: KeysRequest = { action: 'evict', sink: o.sink, orderingKey: o.key, ...(o.reason !== undefined && { reason: o.reason }), actor: `${userInfo().username}@cli` };
      if (o.dryRun || !o.yes) {
        print((await run(cfg, { ...req, dryRun: true })).keys);
        if (o.dryRun) return;
        if (!(await confirm(`take key '${o.key}' of sink ${o.sink} out of the flow?`))) {
          console.error('nothing changed (give --yes to skip the question in scripts)');
          process.exitCode = 1;
          return;
        }
      }
      const r = await run(cfg, req);
      console.log(`${r.count} events of key '${o.key}' moved to dead letters; the key is parked until dlq replay or drop; audit: "${o.reason}"`);
    } catch (err) {
      failure(err);
    }
  });
}
