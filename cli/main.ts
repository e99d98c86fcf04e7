// plantsync's command line. One file per verb; each exports register(program). Only the verb asked for is loaded
// (with what it imports): `plantsync status` at 3 a.m. must not wait for node-opcua, the embedded MQTT broker and
// the simulators. Help, or a verb not known, loads them all so commander can list them.
import { Command } from 'commander';

type Verb = { register(program: Command): void };
const verbs: Record<string, () => Promise<Verb>> = {
  run: () => import('./run.ts'),
  status: () => import('./status.ts'),
  dlq: () => import('./dlq.ts'),
  rejected: () => import('./rejected.ts'),
  replay: () => import('./replay.ts'),
  keys: () => import('./keys.ts'),
  audit: () => import('./audit.ts'),
  report: () => import('./report.ts'),
  demo: () => import('./demo.ts'),
  config: () => import('./config.ts'),
  opcua: () => import('./opcua.ts'),
  'opcua-sim': () => import('./opcua.ts'),
  'erp-sim': () => import('./erp-sim.ts'),
  version: () => import('./version.ts'),
};

async function main(): Promise<void> {
  const program = new Command('plantsync')
    .description('Edge agent: OPC UA and MQTT shop-floor events into ERP, durable, ordered and exactly once in effect')
    .showHelpAfterError();
  // `plantsync --version` (and -V) is `plantsync version`, as an operator types it.
  if (process.argv[2] === '--version' || process.argv[2] === '-V') process.argv.splice(2, 1, 'version');
  const asked = process.argv[2];
  const load = asked !== undefined && Object.hasOwn(verbs, asked) ? [verbs[asked]!] : Object.values(verbs);
  // One module may serve two verbs (opcua, opcua-sim): it registers once (importing it twice gives the same module).
  for (const verb of new Set(await Promise.all(load.map((l) => l())))) verb.register(program);
  await program.parseAsync(process.argv);
}

// No top-level await: the single binary's bundle is CommonJS (Node 24's executables take no ES module entry).
main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
