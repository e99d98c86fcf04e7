// Golden mapping cases: testdata/<case>/{mapping.json, input.json, expected.json}. Each input message is mapped
// and built into canonical events exactly as the agent does; the result (events, or the rejection reason) must
// equal expected.json. After a deliberate change, GOLDEN_UPDATE=1 rewrites expected.json: review the diff.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildEvent } from '../events.ts';
import { Mapper, type SourceMessage } from './mapper.ts';

const dir = join(import.meta.dirname, 'testdata');

for (const name of readdirSync(dir)) {
  test(`golden mapping case: ${name}`, () => {
    const read = (f: string) => JSON.parse(readFileSync(join(dir, name, f), 'utf8')) as unknown;
    const mapper = new Mapper(read('mapping.json') as never, { plant: '1000' });
    const inputs = read('input.json') as (Omit<SourceMessage, 'receivedAt'> & { receivedAt: string })[];
    const actual = inputs.map((m) => {
      const msg = { ...m, receivedAt: new Date(m.receivedAt) };
      const r = mapper.map(msg);
      if (!r.ok) return { rejected: r.reason };
      const built = r.drafts.map((d) => buildEvent(d, 'golden', msg.receivedAt));
      const bad = built.find((b) => !b.ok);
      if (bad && !bad.ok) return { rejected: `mapping '${r.rule}': ${bad.reason}` };
      return { rule: r.rule, events: built.map((b) => (b.ok ? b.event : undefined)) };
    });
    const file = join(dir, name, 'expected.json');
    if (process.env.GOLDEN_UPDATE === '1' || !existsSync(file)) writeFileSync(file, `${JSON.stringify(actual, null, 2)}\n`);
    assert.deepEqual(actual, JSON.parse(readFileSync(file, 'utf8')));
  });
}
