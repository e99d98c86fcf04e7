import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir, until } from '../test/helpers.ts';

const main = join(import.meta.dirname, 'main.ts');
const exec = promisify(execFile);

async function plantsync(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [main, ...args], { env: { ...process.env, PLANTSYNC_LOG_FORMAT: 'json' } });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('version names plantsync, the Node runtime and the spool schema', async () => {
  const r = await plantsync('version', '--json');
  const v = JSON.parse(r.stdout);
  assert.match(v.node, /^v24\./);
  assert.equal(typeof v.spoolSchema, 'number');
});

test('--version and -V are the version verb; --help lists every verb once (one module may serve two verbs)', async () => {
  for (const flag of ['--version', '-V']) assert.match((await plantsync(flag)).stdout, /^plantsync \d+\.\d+\.\d+ \(node v24\.\d+\.\d+, spool schema \d+\)$/m);
  const help = await plantsync('--help');
  assert.equal(help.code, 0, help.stderr);
  for (const verb of ['run', 'status', 'dlq', 'opcua', 'opcua-sim', 'erp-sim', 'version']) assert.equal(help.stdout.match(new RegExp(`^  ${verb}[ \\n]`, 'gm'))?.length, 1, `${verb} listed once`);
});

test('config validate accepts a good file and names file, path and reason for a bad one (exit 2)', async (t) => {
  const dir = tempDir(t);
  const good = join(dir, 'good.json');
  const bad = join(dir, 'bad.json');
  const cfg = { agent: { id: 'gw', plant: '1000', stateDir: dir }, sinks: { erp: { type: 'memory' } }, routes: [{ sink: 'erp', types: '*' }] };
  writeFileSync(good, JSON.stringify(cfg));
  writeFileSync(bad, JSON.stringify({ ...cfg, sinks: { erp: { type: 'memory', delivery: { maxEvents: 0 } } } }));
  const ok = await plantsync('config', 'validate', good);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /valid \(config version [0-9a-f]{12}\)/);
  const no = await plantsync('config', 'validate', bad);
  assert.equal(no.code, 2);
  assert.match(no.stderr, new RegExp(`${bad.replace(/[.]/g, '\\.')}: /sinks/erp/delivery/maxEvents: must be >= 1`));
  // --config PATH, like every other verb, for validate and show; two different files at once are refused.
  assert.match((await plantsync('config', 'validate', '--config', good)).stdout, /good\.json: valid/);
  assert.equal((await plantsync('config', 'validate', '--config', bad)).code, 2);
  const shown = await plantsync('config', 'show', '--config', good);
  assert.equal(shown.code, 0, shown.stderr);
  assert.deepEqual((JSON.parse(shown.stdout) as { files: string[] }).files, [good]);
  const both = await plantsync('config', 'show', bad, '--config', good);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /two config files given/);
});

test('the demo runs the OPC UA press and the MQTT robot through the agent into the ERP: every event posted once and in order, every part confirmed', async () => {
  const r = await plantsync('demo', '--duration', '9', '--outage-at', '1', '--outage-for', '1.5', '--rate', '40');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /ERP down for 1.5 s/);
  // What an operator watches: the press's state, what was booked per kind, the ERP and the breaker coming back.
  assert.match(r.stdout, /^t= +\d+s  press running \d+ parts · robot \d+ cycles · spooled \d+ \(\d+ resent\) · backlog \d+ · booked \d+ confirmations, \d+ consumptions, \d+ downtime starts\/ends, \d+ holds\/releases, \d+ goods receipts · 0 duplicate posts, 0 out of order/m);
  assert.match(r.stdout, /press HELD/, 'the quality hold (steps 250-300) shows');
  assert.match(r.stdout, /booked \d+ confirmations, \d+ consumptions, [1-9]\d* downtime starts\/ends, [1-9]\d* holds\/releases, [1-9]\d* goods receipts/, 'downtimes, holds and receipts counted');
  assert.equal(r.stdout.match(/^-- t=\d+s breaker opened/gm)?.length, 1, 'once per outage, whatever the probes between');
  assert.match(r.stdout, /^-- t=\d+s breaker closed: deliveries flow again$/m);
  assert.match(r.stdout, /^-- t=\d+s the ERP answers again: \d+ events waiting drain, paced$/m);
  // Warnings as sentences, each kind once; no JSON log line in the progress.
  assert.equal(r.stdout.match(/^-- agent warning: sink failing/gm)?.length, 1, r.stdout);
  assert.doesNotMatch(r.stdout, /^\{/m);
  // Not the default admin port (a gateway's own agent may hold it): any free one, said.
  const admin = /^the demo agent's admin listener: http:\/\/127\.0\.0\.1:(\d+) /m.exec(r.stdout);
  assert.ok(admin && Number(admin[1]) !== 9464, r.stdout);
  const m = /^OK: (\d+) events spooled, \1 posted to ERP exactly once \((\d+) resent robot messages recognised, \2 resent\), 0 out of order, 0 rejected; yield confirmed (\d+) of \3 parts counted by the press$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.ok(Number(m[3]) > 50, `${m[3]} parts`);
});

test('the demo against the SAP simulator: confirmations and material movements booked as SAP documents once each through an SAP outage, the rest to the MES', async () => {
  const r = await plantsync('demo', '--erp', 'sap', '--duration', '5', '--outage-at', '1', '--outage-for', '1', '--rate', '40');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SAP OData sink -> SAP simulator/);
  const m = /^OK: (\d+) events spooled, \1 posted \((\d+) SAP documents, 0 booked twice\) exactly once .* 0 out of order, 0 rejected; yield confirmed (\d+) of \3 parts counted by the press$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.ok(Number(m[2]) > 50 && Number(m[3]) > 50, `${m[2]} SAP documents, ${m[3]} parts`);
});

test('run starts on a config, logs JSON lines, and stops cleanly on SIGTERM', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'plantsync.json');
  writeFileSync(path, JSON.stringify({ agent: { id: 'gw', plant: '1000', stateDir: dir }, admin: { port: 0 }, sinks: { erp: { type: 'memory' } }, routes: [{ sink: 'erp', types: '*' }] }));
  const p = spawn(process.execPath, [main, 'run', '--config', path], { env: { ...process.env, PLANTSYNC_LOG_FORMAT: 'json' } });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => out.includes('agent started'), 'agent started', 20_000);
  const exited = new Promise<number | null>((r) => p.once('exit', r));
  p.kill('SIGTERM');
  assert.equal(await exited, 0);
  const lines = out.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.some((l) => l.msg === 'agent stopped' && l.component === 'agent'));
});

test('erp-sim serves the batch endpoint and its counters over HTTP', async (t) => {
  const p = spawn(process.execPath, [main, 'erp-sim', '--port', '0', '--duration', '20']);
  t.after(() => p.kill('SIGKILL'));
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => /listening on (http:\/\/\S+)/.test(out), 'erp-sim up', 20_000);
  const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
  const post = await fetch(`${url}/batch`, { method: 'POST', body: JSON.stringify({ events: [{ idempotencyKey: 'k1', orderingKey: 'A', sequence: 1 }] }) });
  assert.deepEqual(await post.json(), { results: [{ idempotencyKey: 'k1', status: 201, documentNumber: '4900000000' }] });
  const counters = (await (await fetch(`${url}/_sim/counters`)).json()) as { accepted: number };
  assert.equal(counters.accepted, 1);
});

test('erp-sim --profile sap serves the SAP services: a CSRF token on Fetch, a $batch without one refused as SAP does', async (t) => {
  const p = spawn(process.execPath, [main, 'erp-sim', '--profile', 'sap', '--port', '0', '--duration', '20']);
  t.after(() => p.kill('SIGKILL'));
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => /listening on (http:\/\/\S+) /.test(out), 'the SAP simulator up', 20_000);
  const url = /listening on (http:\/\/\S+) /.exec(out)![1]!;
  const root = `${url}/sap/opu/odata/sap/API_PROD_ORDER_CONFIRMATION_2_SRV/`;
  const fetched = await fetch(root, { headers: { 'x-csrf-token': 'Fetch' } });
  assert.equal(fetched.status, 200);
  assert.match(fetched.headers.get('x-csrf-token') ?? '', /^\w{24}$/);
  const refused = await fetch(`${root}$batch`, { method: 'POST', headers: { 'content-type': 'multipart/mixed; boundary=b' }, body: '--b--\r\n' });
  assert.equal(refused.status, 403);
  assert.equal(refused.headers.get('x-csrf-token'), 'Required');
});

test('opcua-sim serves the press line and names its nodes', async (t) => {
  const r = await plantsync('opcua-sim', '--port', '0', '--tick', '50', '--duration', '1', '--pki', join(tempDir(t), 'pki'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^opcua-sim listening on opc\.tcp:\/\/127\.0\.0\.1:\d+\/UA\/PressLine \(server urn:/m);
  assert.match(r.stdout, /^ {2}parts +ns=1;s=PRESS-01\.Parts$/m);
});
