// `plantsync report --since 7d [--until T] [--json|--csv]`: the integration's business figures over a range (see
// agent/report.ts and the README's "Report" section for what each column means). Asked of the running agent over
// its admin socket, else read from the spool file of a stopped one.
import type { Command } from 'commander';
import { loadConfigFiles } from '../agent/config-files.ts';
import { fmt, objectiveOf } from '../agent/objectives.ts';
import { buildReport, type Report, type ReportLine } from '../agent/report.ts';
import { spoolPath } from '../agent/state-paths.ts';
import { Spool } from '../spool/spool.ts';
import { failure, timeOption, viaAgentOrSpool } from './admin-client.ts';
import { shortened } from './rejected.ts';

export function register(program: Command): void {
  program
    .command('report')
    .description('postings per sink and event type over a time range: how many, how late, how many needed a person, and what people did')
    .requiredOption('-c, --config <path>', 'config file', '/etc/plantsync/plantsync.json')
    .requiredOption('--since <time>', 'from this time: RFC 3339, epoch ms, or a span before now (30m, 24h, 7d)')
    .option('--until <time>', 'before this time (default: now)')
    .option('--json', 'the whole report as JSON, for scripts')
    .option('--csv', 'one line per sink and event type, for a spreadsheet')
    .action(async (o: { config: string; since: string; until?: string; json?: boolean; csv?: boolean }) => {
      try {
        const cfg = loadConfigFiles(o.config).config;
        const now = Date.now();
        const r = { since: timeOption(o.since, 'since', now)!, until: timeOption(o.until, 'until', now) };
        const report = await viaAgentOrSpool(cfg, '/report', r, () => {
          const spool = Spool.open({ path: spoolPath(cfg.agent.stateDir), routes: [], readOnly: true, mustExist: true });
          try {
            return buildReport(spool, r, (type) => objectiveOf(cfg, type), now);
          } finally {
            spool.close();
          }
        });
        if (o.json) console.log(JSON.stringify(report, null, 2));
        else if (o.csv) process.stdout.write(csv(report.lines));
        else print(report);
      } catch (err) {
        failure(err);
      }
    });
}

const COLUMNS: (keyof ReportLine)[] = ['sink', 'type', 'delivered', 'p50Sec', 'p95Sec', 'maxSec', 'objectiveSec', 'withinObjective', 'deadLetters', 'replayed', 'dropped', 'resolutionP50Sec', 'resolutionMaxSec'];

export function csv(lines: ReportLine[]): string {
  const cell = (v: unknown) => {
    const s = v === null ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [COLUMNS.join(','), ...lines.map((l) => COLUMNS.map((c) => cell(l[c])).join(','))].map((x) => `${x}\r\n`).join('');
}

const dur = (s: number | null) => (s === null ? '-' : fmt(s));
const num = (n: number) => n.toLocaleString('en-US');

function print(r: Report): void {
  console.log(`plantsync report ${r.from} .. ${r.until}: ${num(r.eventsIn)} events taken in`);
  if (!r.lines.length) console.log('\nno postings, dead letters or resolutions in this range');
  else {
    const head = ['sink', 'type', 'postings', 'p50', 'p95', 'max', 'objective', 'within', 'dead', 'replayed', 'dropped', 'waited p50', 'waited max'];
    const rows = r.lines.map((l) => [
      l.sink, l.type, num(l.delivered), dur(l.p50Sec), dur(l.p95Sec), dur(l.maxSec), dur(l.objectiveSec),
      l.withinObjective === null ? '-' : `${(l.withinObjective * 100).toFixed(1)} %`,
      num(l.deadLetters), num(l.replayed), num(l.dropped), dur(l.resolutionP50Sec), dur(l.resolutionMaxSec),
    ]);
    const width = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join('  ');
    console.log(`\n${line(head)}`);
    for (const x of rows) console.log(line(x));
  }
  console.log('\nmanual interventions (plantsync audit lists each):');
  if (!r.interventions.length) console.log('  none');
  for (const i of r.interventions) console.log(`  ${i.action.padEnd(16)} ${String(i.actions).padStart(4)} actions, ${String(i.events).padStart(6)} events  why: ${shortened(i.reason, 80)}`);
  console.log('\nrejected input (plantsync rejected list shows each):');
  if (!r.rejected.length) console.log('  none');
  for (const s of r.rejected) {
    const resolved = s.replayed + s.dropped ? `; ${num(s.replayed)} replayed, ${num(s.dropped)} dropped (waited p50 ${dur(s.resolutionP50Sec)}, max ${dur(s.resolutionMaxSec)})` : '';
    console.log(`  ${s.source}: ${num(s.messages)} messages received, ${num(s.rejected)} rejected${resolved}`);
    for (const x of s.reasons.slice(0, 5)) console.log(`    ${String(x.count).padStart(6)}  ${shortened(x.reason, 100)}`);
  }
}
