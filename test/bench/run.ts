// `npm run bench`: every benchmark, one summary line per figure, results as JSON in bench-results/.
// BENCH_BACKLOG sets the backlog size for the "cost does not grow" figures (default 10,000,000).
import { printFigure, writeResults, type Figure } from './report.ts';
import { spoolBenchmarks } from './spool.bench.ts';

const backlog = Number(process.env.BENCH_BACKLOG ?? 10_000_000);
const figures: Figure[] = [];
for (const f of await spoolBenchmarks(backlog)) {
  printFigure(f);
  figures.push(f);
}
console.log(`results: ${writeResults(figures)}`);
