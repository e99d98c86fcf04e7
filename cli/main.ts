// plantsync's command line. One file per verb; each exports register(program).
import { Command } from 'commander';
import { register as run } from './run.ts';
import { register as demo } from './demo.ts';
import { register as config } from './config.ts';
import { register as version } from './version.ts';
import { register as erpSim } from './erp-sim.ts';
import { register as opcua } from './opcua.ts';
import { register as status } from './status.ts';
import { register as dlq } from './dlq.ts';
import { register as rejected } from './rejected.ts';
import { register as replay } from './replay.ts';
import { register as keys } from './keys.ts';

const program = new Command('plantsync')
  .description('Edge agent: OPC UA and MQTT shop-floor events into ERP, durable, ordered and exactly once in effect')
  .showHelpAfterError();
for (const verb of [run, status, dlq, rejected, replay, keys, demo, config, opcua, erpSim, version]) verb(program);
// No top-level await: the single binary's bundle is CommonJS (Node 24's executables take no ES module entry).
program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
