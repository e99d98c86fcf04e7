// `npm run bench`: every benchmark, one summary line per figure, results as JSON in bench-results/.
// BENCH_BACKLOG sets the backlog for the spool's "cost does not grow" figures (default 10,000,000);
// BENCH_ERP_BACKLOG the backlog drained into erp-sim (default 1,000,000); BENCH_MQTT_MESSAGES the MQTT throughput burst
// (default 200,000); BENCH_SAP_EVENTS the events drained into each of erp-sim and the SAP simulator (default
// 100,000); BENCH_MQTT_SPOOL / BENCH_MQTT_DELIVERY JSON merged into the MQTT bench agent's spool and delivery
// settings; BENCH_MQTT_RATES the paced MQTT rates (default 1000,10000); BENCH_JETSTREAM_EVENTS the events of the
// JetStream figures (default 100,000). BENCH_ONLY=spool|erp|sap|mapping|mqtt|opcua|binary|jetstream runs one group.
import { printFigure, writeResults, type Figure } from './report.ts';
import { spoolBenchmarks } from './spool.bench.ts';
import { erpBenchmarks } from './erp.bench.ts';
import { sapBenchmarks } from './sap.bench.ts';
import { mappingBenchmarks } from './mapping.bench.ts';
import { mqttBenchmarks } from './mqtt.bench.ts';
import { opcuaBenchmarks } from './opcua.bench.ts';
import { binaryBenchmarks } from './binary.bench.ts';
import { jetstreamBenchmarks } from './jetstream.bench.ts';

const only = process.env.BENCH_ONLY;
const groups: [string, () => Promise<Figure[]>][] = [
  ['spool', () => spoolBenchmarks(Number(process.env.BENCH_BACKLOG ?? 10_000_000))],
  ['erp', () => erpBenchmarks(Number(process.env.BENCH_ERP_BACKLOG ?? 1_000_000))],
  ['sap', () => sapBenchmarks(Number(process.env.BENCH_SAP_EVENTS ?? 100_000))],
  ['mapping', async () => mappingBenchmarks()],
  ['mqtt', () => mqttBenchmarks(Number(process.env.BENCH_MQTT_MESSAGES ?? 200_000))],
  ['opcua', () => opcuaBenchmarks()],
  ['binary', () => binaryBenchmarks()],
  ['jetstream', () => jetstreamBenchmarks(Number(process.env.BENCH_JETSTREAM_EVENTS ?? 100_000))],
];
const figures: Figure[] = [];
for (const [name, run] of groups) {
  if (only && only !== name) continue;
  for (const f of await run()) {
    printFigure(f);
    figures.push(f);
  }
}
console.log(`results: ${writeResults(figures)}`);
