// `plantsync demo`: the whole path on one machine, with the real adapters. A simulated press line runs a shift as an
// OPC UA server (parts, downtimes, a quality hold, a pallet handshake), a simulated welding robot publishes its
// cycles to an embedded MQTT broker, and the agent's OPC UA and MQTT sources map them into canonical events, spool
// them and post them over loopback HTTP to the reference ERP receiver (erp-sim). A few seconds in, the ERP goes down
// for a while; the robot resends a message now and then: retries, the breaker, the paced drain and de-duplication
// show in the progress lines, and the demo ends by checking that every event reached the ERP once and in order.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { ConfigInput } from '../agent/config.ts';
import { spoolPath } from '../agent/state-paths.ts';
import { bookedByKind, pressState, SinkWatch, warningsOnce } from './demo-progress.ts';

interface DemoOptions {
  erp: string;
  duration?: string;
  rate: string;
  stateDir?: string;
  outageAt: string;
  outageFor: string;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('run the agent on a simulated OPC UA press line and an MQTT robot into the reference ERP receiver, printing progress')
    .option('-d, --duration <s>', 'stop after this many seconds (default: until Ctrl-C)')
    .option('-r, --rate <n>', 'press steps and robot cycles per second', '20')
    .option('--state-dir <dir>', 'keep the spool and the PKI here (default: a temporary folder, removed at exit)')
    .option('--outage-at <s>', 'the ERP goes down this many seconds in', '6')
    .option('--outage-for <s>', 'and stays down this long', '4')
    .option('--erp <kind>', "'http': the reference ERP receiver (erp-sim); 'sap': the SAP S/4HANA simulator (OData v2 $batch) for confirmations and material movements, erp-sim as the MES for the rest", 'http')
    .action((o: DemoOptions) => demo(o));
}

async function demo(o: DemoOptions): Promise<void> {
  // The simulators, the embedded broker and the agent load only for this verb.
  const [{ Aedes }, { Agent }, { createLogger }, { ErpSim }, { confirmedYield, SapSim }, { robotMappings, robotSource, WeldingRobotSim }, { pressMappings, pressNodes }, { PressLineSim }] = await Promise.all([
    import('aedes'),
    import('../agent/agent.ts'),
    import('../agent/log.ts'),
    import('../adapters/erp-http/sim/erp-sim.ts'),
    import('../adapters/sap-odata/sim/sap-sim.ts'),
    import('../adapters/mqtt/sim/machine.ts'),
    import('../adapters/opcua/sim/press-config.ts'),
    import('../adapters/opcua/sim/press-line.ts'),
  ]);
  const stateDir = o.stateDir ?? mkdtempSync(join(tmpdir(), 'plantsync-demo-'));
  const rate = Number(o.rate);
  if (o.erp !== 'http' && o.erp !== 'sap') throw new Error(`--erp: '${o.erp}' is neither http nor sap`);
  const erp = new ErpSim();
  await erp.start();
  const sap = o.erp === 'sap' ? new SapSim() : undefined;
  await sap?.start();
  const sapTypes = ['production.confirmation', 'material.consumption', 'goods.receipt', 'scrap'];
  const press = await PressLineSim.start({ pkiDir: join(stateDir, 'opcua-sim-pki') });
  const aedes = await Aedes.createBroker();
  const broker = createServer(aedes.handle);
  await new Promise<void>((r) => broker.listen(0, '127.0.0.1', r));
  const mqttUrl = `mqtt://127.0.0.1:${(broker.address() as AddressInfo).port}`;
  const config = {
    agent: { id: 'demo-gw', plant: '1000', stateDir, label: 'demo' },
    // Any free port, said below: the default 9464 belongs to the gateway's own agent, which may be running here.
    admin: { port: 0 },
    sources: {
      press: { type: 'opcua', endpoint: press.endpoint, publishingIntervalMs: 100, nodes: pressNodes(press) },
      robot: robotSource(mqttUrl),
    },
    sinks: {
      erp: {
        type: 'erp-http',
        url: `${erp.url}/batch`,
        response: { itemsPath: 'results', itemStatusPath: 'status', itemErrorPath: 'error', receiptPath: 'documentNumber' },
        protect: { breakerFailures: 3, breakerOpenMs: 500, breakerMaxOpenMs: 2000 },
        delivery: { concurrency: 4, maxEvents: 500, backoff: { baseMs: 200, capMs: 2000 } },
      },
      ...(sap && { s4: { type: 'sap-odata', url: sap.url, client: '100', protect: { breakerFailures: 3, breakerOpenMs: 500, breakerMaxOpenMs: 2000 }, delivery: { concurrency: 2, maxEvents: 100, backoff: { baseMs: 200, capMs: 2000 } } } }),
    },
    routes: sap
      ? [
          { sink: 's4', types: sapTypes, onReject: 'park' },
          { sink: 'erp', types: ['machine.downtime', 'quality.hold', 'telemetry', 'source.gap'], onReject: 'park' },
        ]
      : [{ sink: 'erp', types: '*', onReject: 'park' }],
    mappings: [...(pressMappings ?? []), ...(robotMappings ?? [])],
    // Posting-delay objectives per type, as a plant would set them: the status page plots each against its own.
    objectives: { latencySeconds: { 'quality.hold': 5, 'production.confirmation': 30, 'material.consumption': 60, 'goods.receipt': 60, 'machine.downtime': 60, telemetry: 300 } },
  } as ConfigInput;
  // The agent's warnings as sentences, each kind once (demo-progress.ts); `plantsync run` shows the full log.
  const warnings = warningsOnce((line) => console.log(line));
  const log = createLogger({ level: process.env.PLANTSYNC_LOG_LEVEL ?? 'warn', format: 'json', destination: warnings });
  const agent = new Agent({ config, configVersion: 'demo', log });
  await agent.start();
  const target = sap ? `SAP OData sink -> SAP simulator at ${sap.url} (confirmations, material movements), ERP HTTP sink -> erp-sim at ${erp.url} (the rest)` : `ERP HTTP sink -> erp-sim at ${erp.url}`;
  console.log(`plantsync demo: OPC UA press line (${press.endpoint}) and MQTT robot (${mqttUrl}) -> spool (${spoolPath(stateDir)}) -> ${target}; Ctrl-C to stop`);
  console.log(`the demo agent's admin listener: ${agent.adminUrl ?? 'off'} (the status page: open it in a browser; /status, /metrics)`);
  // What the ERP side booked: erp-sim's counters, and SAP's documents when SAP takes part (never twice, by reference).
  const booked = () => erp.counters.accepted + (sap?.counters.booked ?? 0);
  const until = Date.now() + 10_000;
  while (!agent.sources.get('press')!.status().connected && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  press.runShift(1000 / rate);
  const robot = await WeldingRobotSim.start(mqttUrl, rate, () => String(press.get('order')));
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  let outageUntil = 0;
  const sinkName = sap ? 's4' : 'erp';
  const watch = new SinkWatch((line) => console.log(line), () => seconds().toFixed(0));
  const watchTimer = setInterval(() => watch.check(agent.sinkStatus(sinkName)), 100);
  const outage = setTimeout(() => {
    watch.outageStarted(Date.now());
    if (sap) sap.unavailableFor(Number(o.outageFor) * 1000);
    else erp.setFault({ mode: 'down' }, Number(o.outageFor) * 1000);
    outageUntil = Date.now() + Number(o.outageFor) * 1000;
    console.log(`-- ERP down for ${o.outageFor} s (connections reset): events keep spooling; the breaker opens; the drain is paced`);
  }, Number(o.outageAt) * 1000);

  const progress = () => {
    const s = agent.sinkStatus(sinkName);
    const st = agent.ingestStats;
    const state = pressState(agent.sources.get('press')!.status().connected, press.get('state'), press.get('hold'));
    console.log(
      `t=${seconds().toFixed(0).padStart(3)}s  press ${state} ${press.get('parts')} parts · robot ${robot.published} cycles · ` +
        `spooled ${st.accepted} (${st.duplicates} resent) · backlog ${s.pending + s.held} · booked ${bookedByKind(agent.history.deliveredByType)} · ` +
        (sap ? `SAP documents ${sap.counters.booked}, ${sap.counters.bookedTwice} booked twice` : `${erp.counters.duplicates} duplicate posts, ${erp.counters.outOfOrder} out of order`) +
        (Date.now() < outageUntil ? '  [ERP DOWN]' : ''),
    );
  };
  const timer = setInterval(progress, 1000);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    if (o.duration) setTimeout(resolve, Number(o.duration) * 1000);
  });
  clearTimeout(outage);
  console.log('-- stopping the machines; draining the backlog');
  press.stopShift();
  await robot.stop();
  const settled = Date.now() + 2000; // the last values and messages reach the spool
  while (Date.now() < settled) await new Promise((r) => setTimeout(r, 50));
  const drainBy = Date.now() + 30_000;
  while (Date.now() < drainBy && booked() < agent.ingestStats.accepted) await new Promise((r) => setTimeout(r, 50));
  clearInterval(timer);
  clearInterval(watchTimer);
  progress();
  // Every part the press counted is in a confirmation the ERP booked (its first reading, 0, was the baseline).
  const yieldPosted = sap ? confirmedYield(sap) : erp.totals.confirmedYield;
  const parts = press.get('parts') as number;
  await agent.stop(5000);
  await press.stop();
  await new Promise<void>((r) => aedes.close(() => r()));
  broker.close();
  await erp.close();
  await sap?.close();
  if (!o.stateDir) rmSync(stateDir, { recursive: true, force: true });

  if (warnings.repeats()) console.log(`(${warnings.repeats()} more agent warnings of the kinds above, not repeated)`);
  const rejected = agent.ingestStats.rejected;
  const twice = sap?.counters.bookedTwice ?? 0;
  const ok = booked() === agent.ingestStats.accepted && erp.counters.outOfOrder === 0 && twice === 0 && rejected === 0 && yieldPosted === parts;
  console.log(
    `${ok ? 'OK' : 'FAILED'}: ${agent.ingestStats.accepted} events spooled, ${booked()} posted ${sap ? `(${sap.counters.booked} SAP documents, ${twice} booked twice)` : 'to ERP'} exactly once ` +
      `(${agent.ingestStats.duplicates} resent robot messages recognised, ${robot.resent} resent), ${erp.counters.outOfOrder} out of order, ${rejected} rejected; ` +
      `yield confirmed ${yieldPosted} of ${parts} parts counted by the press`,
  );
  process.exitCode = ok ? 0 : 1;
}
