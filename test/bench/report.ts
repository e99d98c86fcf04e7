// Benchmark results: one summary line per figure on stdout, and all figures as JSON for comparing runs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { join } from 'node:path';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** The issue's target, for the reader; the bench never fails on it (machines are shared and noisy). */
  target?: string;
}

export function printFigure(f: Figure): void {
  const v = f.unit === 'events/s' || f.unit === 'messages/s' ? Math.round(f.value).toLocaleString('en') : f.value.toFixed(2);
  console.log(`${f.name}: ${v} ${f.unit}${f.target ? `  (target ${f.target})` : ''}`);
}

export function writeResults(figures: Figure[], dir = 'bench-results'): string {
  mkdirSync(dir, { recursive: true });
  const at = new Date().toISOString();
  const file = join(dir, `bench-${at.replace(/[:.]/g, '-')}.json`);
  const machine = { host: hostname(), cpu: cpus()[0]?.model, cores: cpus().length, node: process.version };
  writeFileSync(file, JSON.stringify({ at, machine, figures }, null, 2));
  return file;
}
