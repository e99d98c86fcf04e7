import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from './config.ts';
import { loadConfigFiles, maskSecrets } from './config-files.ts';
import { tempDir } from '../test/helpers.ts';

const rule = (name: string) => ({ name, topic: `m/${name}`, emit: [{ type: 'scrap', key: '{{payload.id}}', orderingKey: 'k', payload: { order: 'x', material: 'm', quantity: 1, unit: 'PC', reason: 'r' } }] });

function layout(t: import('node:test').TestContext, fragments: Record<string, unknown>) {
  const dir = tempDir(t);
  const main = join(dir, 'plantsync.json');
  writeFileSync(main, JSON.stringify({ agent: { id: 'gw', plant: '1000', stateDir: dir }, sinks: { erp: { type: 'memory', delivery: { maxEvents: 10, concurrency: 2 } } }, routes: [{ sink: 'erp', types: ['scrap'] }], mappings: [rule('a')] }));
  mkdirSync(join(dir, 'conf.d'));
  for (const [name, v] of Object.entries(fragments)) writeFileSync(join(dir, 'conf.d', name), typeof v === 'string' ? v : JSON.stringify(v));
  return { dir, main };
}

test('conf.d fragments merge in name order: objects key by key, routes and mappings joined, other lists replaced', (t) => {
  const { dir, main } = layout(t, {
    '20-qms.json': { sinks: { qms: { type: 'memory' } }, routes: [{ sink: 'qms', types: ['quality.hold'] }], mappings: [rule('c')] },
    '10-erp.json': { sinks: { erp: { delivery: { maxEvents: 99 } } }, mappings: [rule('b')], agent: { label: 'rollout-7' } },
    '30-types.json': { routes: [{ sink: 'erp', types: ['scrap', 'machine.downtime'] }] },
    'notes.txt': 'not config',
    '.10-erp.json.swp': '{ broken',
  });
  const c = loadConfigFiles(main);
  assert.deepEqual(c.files, [main, join(dir, 'conf.d', '10-erp.json'), join(dir, 'conf.d', '20-qms.json'), join(dir, 'conf.d', '30-types.json')]);
  // Merged key by key (maxEvents from the fragment, concurrency from the main file), then the schema's defaults.
  assert.deepEqual(c.config.sinks.erp!.delivery, { maxEvents: 99, concurrency: 2, maxBytes: 1_048_576, lingerMs: 0, backoff: { baseMs: 500, capMs: 60_000, maxRetryAfterMs: 3_600_000 } });
  assert.deepEqual(c.config.mappings!.map((m) => m.name), ['a', 'b', 'c']);
  assert.deepEqual(c.config.routes.map((r) => r.sink), ['erp', 'qms', 'erp']);
  assert.match(c.version, /^rollout-7\+[0-9a-f]{12}$/);
});

test('the version changes with any file; an error names the fragment that set the offending part', (t) => {
  const { dir, main } = layout(t, { '10-a.json': { sinks: { erp: { delivery: { maxEvents: 5 } } } } });
  const v1 = loadConfigFiles(main).version;
  writeFileSync(join(dir, 'conf.d', '10-a.json'), JSON.stringify({ sinks: { erp: { delivery: { maxEvents: 6 } } } }));
  assert.notEqual(loadConfigFiles(main).version, v1);
  writeFileSync(join(dir, 'conf.d', '20-bad.json'), JSON.stringify({ sinks: { erp: { delivery: { maxEvents: 0 } } } }));
  assert.throws(() => loadConfigFiles(main), (e: Error) => e instanceof ConfigError && e.message === `${join(dir, 'conf.d', '20-bad.json')}: /sinks/erp/delivery/maxEvents: must be >= 1`);
  writeFileSync(join(dir, 'conf.d', '20-bad.json'), JSON.stringify({ routes: [{ sink: 'nowhere', types: '*' }] }));
  assert.throws(() => loadConfigFiles(main), new RegExp(`^ConfigError: ${join(dir, 'conf.d', '20-bad.json')}: /routes/1/sink: no sink named 'nowhere'`));
  writeFileSync(join(dir, 'conf.d', '20-bad.json'), '{ "sinks": ');
  assert.throws(() => loadConfigFiles(main), new RegExp(`^ConfigError: ${join(dir, 'conf.d', '20-bad.json')}: not valid JSON`));
  writeFileSync(join(dir, 'conf.d', '20-bad.json'), '[]');
  assert.throws(() => loadConfigFiles(main), /20-bad\.json: \/: must be a JSON object/);
});

test('config show masks literal secrets and keeps references to where they come from', () => {
  const masked = maskSecrets({
    sinks: {
      erp: { type: 'erp-http', auth: { type: 'apiKey', header: 'x-api-key', value: 'abc123' }, headers: { 'x-client': 'plant', authorization: 'Basic Zm9vOmJhcg==' } },
      sap: { type: 'erp-http', auth: { type: 'oauth2', clientId: 'plantsync', clientSecret: '${file:/run/credentials/sap}' } },
    },
    sources: { hall: { type: 'mqtt', username: 'gw', password: 'hunter2', tls: { passphrase: '${env:KEY_PASS}' } } },
  }) as Record<string, Record<string, Record<string, unknown>>>;
  assert.deepEqual(masked.sinks!.erp!.auth, { type: 'apiKey', header: 'x-api-key', value: '***' });
  assert.deepEqual(masked.sinks!.erp!.headers, { 'x-client': 'plant', authorization: '***' });
  assert.equal((masked.sinks!.sap!.auth as Record<string, string>).clientSecret, '${file:/run/credentials/sap}');
  assert.deepEqual(masked.sources!.hall, { type: 'mqtt', username: 'gw', password: '***', tls: { passphrase: '${env:KEY_PASS}' } });
});
