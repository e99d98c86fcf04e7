// `plantsync erp-sim`: the reference ERP receiver as a standalone server, for trying a config against something
// that answers like an ERP; `--profile sap`: the SAP S/4HANA (OData v2) simulator instead. Faults: POST /_sim/fault {"mode":"status","status":503,"retryAfter":"30","forMs":60000},
// {"mode":"down"}, {"mode":"slow","latencyMs":2000}, {} to clear; counters: GET /_sim/counters.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('erp-sim')
    .description('run the reference ERP receiver (de-duplicates, checks order, injects faults)')
    .option('-p, --port <port>', 'port to listen on (0: any free port)', '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--bearer <token>', 'require this bearer token')
    .option('--duration <s>', 'stop after this many seconds')
    .option('--profile <kind>', "'http': the generic batch API; 'sap': SAP S/4HANA OData v2 ($batch, CSRF, SAP errors; services under /sap/opu/odata/sap/)", 'http')
    .option('--key-order <how>', "batch items: 'independent' (each on its own, the default) or 'stop-at-failure' (a key's later items refused after its first failure)", 'independent')
    .action(async (o: { port: string; host: string; bearer?: string; duration?: string; keyOrder: string; profile: string }) => {
      if (o.profile !== 'http' && o.profile !== 'sap') throw new Error(`--profile: '${o.profile}' is neither http nor sap`);
      if (o.profile === 'sap') return runSap(Number(o.port), o.host, o.duration);
      if (o.keyOrder !== 'independent' && o.keyOrder !== 'stop-at-failure') throw new Error(`--key-order: '${o.keyOrder}' is neither independent nor stop-at-failure`);
      const { ErpSim } = await import('../adapters/erp-http/sim/erp-sim.ts');
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

async function runSap(port: number, host: string, duration: string | undefined): Promise<void> {
  const { SapSim } = await import('../adapters/sap-odata/sim/sap-sim.ts');
  const sim = new SapSim({ port, host });
  await sim.start();
  console.log(`SAP simulator listening on ${sim.url} (services: ${sim.url}/sap/opu/odata/sap/API_PROD_ORDER_CONFIRMATION_2_SRV/, .../API_MATERIAL_DOCUMENT_SRV/)`);
  const timer = setInterval(() => console.log(JSON.stringify(sim.counters)), 5000);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    if (duration) setTimeout(resolve, Number(duration) * 1000);
  });
  clearInterval(timer);
  console.log(JSON.stringify(sim.counters));
  await sim.close();
}
