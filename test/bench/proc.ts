// What a benchmark reads of a process it started: CPU seconds and resident memory, from /proc (Linux).
import { readFileSync } from 'node:fs';

/** CPU seconds (user + system) and resident memory of a process. */
export function usage(pid: number): { cpuS: number; rssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]); // utime, stime (fields 14 and 15)
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!;
  return { cpuS: ticks / 100, rssMiB: Number(rss) / 1024 };
}

/** The V8 flags the agent ships with (pkg.config.json's execArgv, which cli/plantsync.js and npm start repeat). */
export const agentFlags = (JSON.parse(readFileSync(new URL('../../pkg.config.json', import.meta.url), 'utf8')) as { execArgv: string[] }).execArgv;
