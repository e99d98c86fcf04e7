// Mapping rules: messages per second through a compiled rule (path and template fields, a topic pattern with
// named segments), and through mapping plus building and validating the canonical event, on one core.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildEvent } from '../../agent/events.ts';
import { Mapper, type SourceMessage } from '../../agent/mapping/mapper.ts';
import type { Figure } from './report.ts';

export function mappingBenchmarks(n = 300_000): Figure[] {
  const dir = join(import.meta.dirname, '../../agent/mapping/testdata/press-count');
  const rules = JSON.parse(readFileSync(join(dir, 'mapping.json'), 'utf8'));
  // One emit per message: the production confirmation rule of the golden case.
  rules[0].emit = rules[0].emit.slice(0, 1);
  const mapper = new Mapper(rules, { plant: '1000' });
  const template = JSON.parse(readFileSync(join(dir, 'input.json'), 'utf8'))[0] as SourceMessage;
  const msgs: SourceMessage[] = Array.from({ length: 1000 }, (_, i) => ({
    ...template,
    address: `plants/1000/lines/L${i % 4}/machines/PRESS-0${i % 9}/cycle`,
    payload: { ...(template.payload as object), seq: i },
    receivedAt: new Date(),
  }));
  const run = (fn: (m: SourceMessage) => void) => {
    for (let i = 0; i < 20_000; i++) fn(msgs[i % msgs.length]!); // warm-up
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn(msgs[i % msgs.length]!);
    return n / ((performance.now() - t0) / 1000);
  };
  let sink = 0;
  const mapOnly = run((m) => {
    const r = mapper.map(m);
    if (r.ok) sink += r.drafts.length;
  });
  const mapAndBuild = run((m) => {
    const r = mapper.map(m);
    if (r.ok) for (const d of r.drafts) if (buildEvent(d, 'bench', m.receivedAt).ok) sink++;
  });
  if (sink === 0) throw new Error('nothing mapped');
  return [
    { name: 'mapping: topic pattern + path/template/arithmetic rule, one core', value: mapOnly, unit: 'messages/s', target: '>= 100000' },
    { name: 'mapping + canonical event build and validation, one core', value: mapAndBuild, unit: 'messages/s' },
  ];
}
