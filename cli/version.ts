// `plantsync version`: the agent's version, the runtime, and the spool schema it writes.
import type { Command } from 'commander';
import { migrations } from '../spool/migrations.ts';
import pkg from '../package.json' with { type: 'json' };

export function register(program: Command): void {
  program
    .command('version')
    .description('print the version of plantsync, Node and the spool schema')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => {
      const v = { plantsync: pkg.version, node: process.version, spoolSchema: migrations.at(-1)!.version };
      console.log(o.json ? JSON.stringify(v) : `plantsync ${v.plantsync} (node ${v.node}, spool schema ${v.spoolSchema})`);
    });
}
