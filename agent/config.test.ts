import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, configJsonSchema, parseConfig } from './config.ts';
import { loadConfigFiles } from './config-files.ts';

const good = {
  agent: { id: 'gw-01', plant: '1000', stateDir: '/var/lib/plantsync', label: 'plant1000-v12' },
  sinks: { erp: { type: 'memory', delivery: { concurrency: 4 } } },
  routes: [{ sink: 'erp', types: ['production.confirmation'], onReject: 'park' }],
};

function errorOf(cfg: unknown): string {
  try {
    parseConfig(JSON.stringify(cfg), 'plantsync.json');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

test('a valid config loads, and its version is the label plus a content hash', () => {
  const a = parseConfig(JSON.stringify(good), 'x');
  const b = parseConfig(JSON.stringify({ ...good, routes: [{ sink: 'erp', types: '*' }] }), 'x');
  assert.match(a.version, /^plant1000-v12\+[0-9a-f]{12}$/);
  assert.notEqual(a.version, b.version);
});

test('config errors name the file, the JSON path and the reason', () => {
  assert.match(errorOf({ ...good, extra: 1 }), /^plantsync\.json: \/extra: unknown field$/);
  assert.match(errorOf({ ...good, sinks: { erp: { type: 'memory', delivery: { concurrency: 0 } } } }), /^plantsync\.json: \/sinks\/erp\/delivery\/concurrency: /);
  assert.match(errorOf({ ...good, sinks: { erp: { type: 'sap-rfc' } } }), /\/sinks\/erp\/type: unknown sink type 'sap-rfc'/);
  assert.match(errorOf({ ...good, sinks: { erp: { type: 'memory', latency: 3 } } }), /\/sinks\/erp\/latency: unknown field/);
  assert.match(errorOf({ ...good, routes: [{ sink: 'qms', types: '*' }] }), /\/routes\/0\/sink: no sink named 'qms'/);
  assert.match(errorOf({ ...good, routes: [{ sink: 'erp', types: ['invoice'] }] }), /\/routes\/0\/types\/0: /);
  assert.throws(() => parseConfig('{ "agent": ', 'broken.json'), /^ConfigError: broken\.json: not valid JSON/);
  const rule = { name: 'r', emit: [{ type: 'scrap', key: '{{payload.id}}', orderingKey: 'k', payload: { quantity: { expr: 'payload.qty *' } } }] };
  assert.match(errorOf({ ...good, mappings: [rule] }), /^plantsync\.json: \/mappings\/0\/emit\/0\/payload\/quantity: expression 'payload\.qty \*' ends too early$/);
  assert.match(errorOf({ ...good, mappings: [{ ...rule, topic: 'a/#/b' }] }), /\/mappings\/0\/topic: '#' must be the last level/);
});

test('the JSON Schema export describes the sinks of every adapter', () => {
  const s = configJsonSchema() as { properties: { sinks: { additionalProperties: { anyOf: { properties: { type: unknown } }[] } } } };
  assert.ok(s.properties.sinks.additionalProperties.anyOf.some((v) => JSON.stringify(v.properties.type).includes('memory')));
});

test('the example config in docs/ (main file and conf.d) is valid, shown in docs/configuration.md and named in the README', () => {
  const dir = join(import.meta.dirname, '../docs');
  const text = readFileSync(join(dir, 'examples/plantsync.json'), 'utf8');
  const loaded = loadConfigFiles(join(dir, 'examples/plantsync.json'));
  assert.deepEqual(Object.keys(loaded.config.sources ?? {}), ['press-01', 'robot-cell']);
  assert.ok(readFileSync(join(dir, 'configuration.md'), 'utf8').includes(text.trim()));
  const readme = readFileSync(join(dir, '../README.md'), 'utf8');
  for (const f of loaded.files) assert.ok(readme.includes(f.slice(f.indexOf('examples/') + 'examples/'.length)), f);
});

test('the mapping example in docs/mapping.md is a valid mappings list', () => {
  const md = readFileSync(join(import.meta.dirname, '../docs/mapping.md'), 'utf8');
  const mappings = JSON.parse(/```json\n([\s\S]*?)```/.exec(md)![1]!);
  assert.doesNotThrow(() => parseConfig(JSON.stringify({ ...good, mappings }), 'docs/mapping.md'));
});

test('defaults are applied once, at load, from the schema: the agent, each sink (delivery included) and each source get complete values; a file may leave them out', () => {
  const { config } = parseConfig(
    JSON.stringify({
      agent: { id: 'gw-01', plant: '1000', stateDir: '/var/lib/plantsync' },
      sinks: { erp: { type: 'erp-http', url: 'https://erp.example/confirmations', delivery: { backoff: { baseMs: 100 } } } },
      sources: { hall: { type: 'mqtt', url: 'mqtts://broker:8883', subscriptions: [{ topic: 'werk/halle-2/#' }] } },
      routes: [{ sink: 'erp', types: '*' }],
    }),
    'plantsync.json',
  );
  assert.deepEqual(config.admin, { host: '127.0.0.1', port: 9464, enabled: true });
  assert.equal(config.routes[0]!.onReject, 'park');
  assert.equal(config.limits.maxPayloadDepth, 64);
  assert.deepEqual(config.readiness, { breakerOpenSeconds: 300, stallSeconds: 300 });
  assert.equal(config.spool.rejected.maxRecords, 100_000);
  const erp = config.sinks.erp!;
  assert.deepEqual(erp.delivery, { concurrency: 4, maxEvents: 500, maxBytes: 1_048_576, lingerMs: 0, backoff: { baseMs: 100, capMs: 60_000, maxRetryAfterMs: 3_600_000 } }, 'a set value stays, the rest is filled');
  assert.equal(erp.timeoutMs, 30_000);
  assert.equal(erp.mode, 'batch');
  assert.deepEqual((erp.protect as { breakerFailures: number }).breakerFailures, 5);
  assert.equal((config.sources!.hall as { protocolVersion?: number }).protocolVersion, 5);
  // The JSON Schema for central tooling does not demand what has a default.
  const schema = configJsonSchema() as { required: string[]; properties: { admin: { required?: string[] }; routes: { items: { required: string[] } } } };
  assert.deepEqual(schema.required, ['agent', 'sinks', 'routes']);
  assert.equal(schema.properties.admin.required, undefined);
  assert.deepEqual(schema.properties.routes.items.required, ['sink', 'types']);
});
