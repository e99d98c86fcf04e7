// `plantsync version`: the agent's version, the runtime (and whether it is the single binary, with the V8 flags
// it runs with), and the spool schema it writes.
import type { Command } from 'commander';
import { migrations } from '../spool/migrations.ts';
import { isSea } from 'node:sea';
import pkg from '../package.json' with { type: 'json' };

export function register(program: Command): void {
  program
    .command('version')
    .description('print the version of plantsync, Node and the spool schema')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => {
      const v = { plantsync: pkg.version, node: process.version, spoolSchema: migrations.at(-1)!.version, singleBinary: isSea(), execArgv: process.execArgv };
      console.log(o.json ? JSON.stringify(v) : `plantsync ${v.plantsync} (node ${v.node}, spool schema ${v.spoolSchema})`);
    });
}
