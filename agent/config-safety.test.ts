// Config is data, never code or a trap: keys that reach object internals are refused by file and path; settings
// that weaken security are warned about; credentials never show in config show or in what an ERP echoes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { ConfigError, parseConfig, withDefaults, type ConfigInput } from './config.ts';
import { loadConfigFiles, maskSecrets } from './config-files.ts';
import { configWarnings } from './config-warnings.ts';
import { redactUrls, scrub } from './redact.ts';
import { Agent } from './agent.ts';
import { agentStatus } from './admin-http.ts';
import { confirmation, simResponse, startSim } from '../adapters/erp-http/sim/test-kit.ts';
import { tempDir, until } from '../test/helpers.ts';
import { spoolOf } from './inspect.ts';

function layout(t: import('node:test').TestContext, fragment: string) {
  const dir = tempDir(t);
  const main = join(dir, 'plantsync.json');
  writeFileSync(main, JSON.stringify({ agent: { id: 'gw', plant: '1000', stateDir: dir }, sinks: { erp: { type: 'memory' } }, routes: [{ sink: 'erp', types: '*' }] }));
  mkdirSync(join(dir, 'conf.d'));
  writeFileSync(join(dir, 'conf.d', '50-evil.json'), fragment);
  return main;
}

for (const key of ['__proto__', 'constructor', 'prototype']) {
  test(`a conf.d fragment with a "${key}" key is refused, naming file and path, and pollutes nothing`, (t) => {
    const main = layout(t, `{"sinks":{"erp":{"delivery":{"${key}":{"polluted":true,"concurrency":99}}}}}`);
    assert.throws(() => loadConfigFiles(main), (err: Error) => err instanceof ConfigError && /conf\.d\/50-evil\.json: \/sinks\/erp\/delivery\/.*: a key named/.test(err.message));
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
    assert.throws(() => parseConfig(`{"${key}":{"polluted":true}}`, 'one.json'), /one\.json: \/.*: a key named/);
  });
}

test('loud warnings for TLS verification off, credentials over http://, OPC UA security None with a password, an admin listener beyond loopback', () => {
  const cfg = {
    agent: { id: 'gw', plant: '1000', stateDir: '/tmp/x' },
    admin: { host: '0.0.0.0' },
    sinks: {
      erp: { type: 'erp-http', url: 'http://erp.plant.local/api', auth: { type: 'basic', user: 'u', password: 'p' }, tls: { rejectUnauthorized: false } },
    },
    sources: {
      robot: { type: 'mqtt', url: 'mqtt://broker:1883', username: 'u', password: 'p', tls: { rejectUnauthorized: false }, subscriptions: [{ topic: 'a/#' }] },
      press: { type: 'opcua', endpoint: 'opc.tcp://plc:4840', identity: { type: 'username', username: 'u', password: 'p' }, nodes: [] },
    },
    routes: [{ sink: 'erp', types: '*' }],
  } as unknown as ConfigInput;
  const w = configWarnings(withDefaults(cfg)).join('\n');
  assert.match(w, /\/admin\/host: .*beyond loopback/);
  assert.match(w, /\/sinks\/erp\/tls\/rejectUnauthorized: TLS certificate verification is off/);
  assert.match(w, /\/sinks\/erp\/url: credentials \(auth basic\) go over plain http:\/\//);
  assert.match(w, /\/sources\/robot\/tls\/rejectUnauthorized/);
  assert.match(w, /\/sources\/robot\/url: the broker password goes over plain mqtt:\/\//);
  assert.match(w, /\/sources\/press\/securityMode: security None with a user name and password/);
  assert.deepEqual(configWarnings(withDefaults({ agent: cfg.agent, sinks: { erp: { type: 'memory' } }, routes: cfg.routes })), [], 'a safe config has none');
});

test('config show and error texts mask URL credentials, key-like query values and credential headers', () => {
  const shown = JSON.stringify(maskSecrets({
    sinks: { erp: { type: 'erp-http', url: 'https://svc-plantsync:Geheim!2026@erp.example/api?sap-client=100&apikey=abc123&access_token=xyz', headers: { 'X-Api-Key': 'k-123', 'X-Auth-Password': 'pw', 'sap-client': '100' } } },
  }));
  assert.doesNotMatch(shown, /Geheim|abc123|xyz|k-123|"pw"/);
  assert.match(shown, /https:\/\/svc-plantsync:\*\*\*@erp\.example\/api\?sap-client=100&apikey=\*\*\*&access_token=\*\*\*/);
  assert.match(shown, /"sap-client":"100"/);
  assert.equal(redactUrls('connect ECONNREFUSED mqtts://robot:pa55@broker:8883'), 'connect ECONNREFUSED mqtts://robot:***@broker:8883');
  assert.equal(scrub('{"echo":"Authorization: Bearer eyJhbGciOi.secret"}', ['Bearer eyJhbGciOi.secret']), '{"echo":"Authorization: ***"}');
});

test('an ERP answer that echoes our Authorization and API key is scrubbed before it becomes a dead letter, a log line or /status', async (t) => {
  const sim = await startSim(t, { bearer: 'tok-Omega-4711' });
  const config = {
    agent: { id: 'gw', plant: '1000', stateDir: tempDir(t) },
    admin: { enabled: false },
    sinks: { erp: { type: 'erp-http', url: `${sim.url}/batch`, response: simResponse, auth: { type: 'bearer', token: 'tok-Omega-4711' }, headers: { 'X-Api-Key': 'key-8842-geheim' } } },
    routes: [{ sink: 'erp', types: '*', onReject: 'park' }],
  } as ConfigInput;
  const agent = new Agent({ config, configVersion: 'v1', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(500));
  sim.setFault({ mode: 'status', status: 400, body: '{"error":"bad request","echo":{"authorization":"Bearer tok-Omega-4711","x-api-key":"key-8842-geheim"}}' });
  await agent.ingest([confirmation(1, 'PO-1')]);
  await until(() => agent.sinkStatus('erp').deadLetters === 1, 'dead letter');
  const texts = [spoolOf(agent).admin.listDead()[0]!.reason, JSON.stringify(agentStatus(agent))].join('\n');
  assert.match(texts, /bad request/);
  assert.doesNotMatch(texts, /tok-Omega-4711|key-8842-geheim/);
});
