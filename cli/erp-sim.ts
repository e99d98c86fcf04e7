// `plantsync erp-sim`: the reference ERP receiver as a standalone server, for trying a config against something
// that answers like an ERP. Faults: POST /_sim/fault {"mode":"status","status":503,"retryAfter":"30","forMs":60000},
// {"mode":"down"}, {"mode":"slow","latencyMs":2000}, {} to clear; counters: GET /_sim/counters.
import type { Command } from 'commander';
import { ErpSim } from '../adapters/erp-http/sim/erp-sim.ts';

export function register(program: Command): void {
  program
    .command('erp-sim')
    .description('run the reference ERP receiver (de-duplicates, checks order, injects faults)')
    .option('-p, --port <port>', 'port to listen on (0: any free port)', '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--bearer <token>', 'require this bearer token')
    .option('--duration <s>', 'stop after this many seconds')
    .option('--key-order <how>', "batch items: 'independent' (each on its own, the default) or 'stop-at-failure' (a key's later items refused after its first failure)", 'independent')
    .action(async (o: { port: string; host: string; bearer?: string; duration?: string; keyOrder: string }) => {
      if (o.keyOrder !== 'independent' && o.keyOrder !== 'stop-at-failure') throw new Error(`--key-order: '${o.keyOrder}' is neither independent nor stop-at-failure`);
      const sim = new ErpSim({ port: Number(o.port), host: o.host, keyOrder: o.keyOrder, ...(o.bearer && { bearer: o.bearer }) });
      await sim.start();
      console.log(`erp-sim listening on ${sim.url} (batch: POST ${sim.url}/batch; counters: GET ${sim.url}/_sim/counters)`);
      const timer = setInterval(() => console.log(JSON.stringify(sim.counters)), 5000);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
        if (o.duration) setTimeout(resolve, Number(o.duration) * 1000);
      });
      clearInterval(timer);
      console.log(JSON.stringify(sim.counters));
      await sim.close();
    });
}
