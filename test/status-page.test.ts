// The local status page in Debian's Chromium (playwright-core drives it; no browser download): a real agent with an
// MQTT welding robot as its source and erp-sim as its ERP. The page shows the agent's own numbers (those /status
// gives), updates when more comes in, plots the history (which survives a restart of the agent), and shows an
// ERP's hostile error reply as text, never as markup. A screenshot is kept in test-artifacts/ (or $TEST_ARTIFACTS).
// Without /usr/bin/chromium the test is skipped with the reason; .ci/run installs it and sets
// PLANTSYNC_REQUIRE_BROWSER=1, which makes a missing browser a failure there.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Agent } from '../agent/agent.ts';
import type { AgentStatus } from '../agent/admin-http.ts';
import type { ConfigInput } from '../agent/config.ts';
import type { HistorySeries } from '../agent/history-series.ts';
import { confirmation, simResponse, startSim } from '../adapters/erp-http/sim/test-kit.ts';
import { robotMappings, robotSource, WeldingRobotSim } from '../adapters/mqtt/sim/machine.ts';
import { startBroker } from '../adapters/mqtt/sim/test-broker.ts';
import { tempDir, until } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const artifacts = process.env.TEST_ARTIFACTS ?? join(import.meta.dirname, '..', 'test-artifacts');

async function launch(t: TestContext): Promise<Browser> {
  // The flags these machines need (their network is closed: no background connections, no component updates).
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());
  return browser;
}

const text = (page: Page, selector: string) => page.locator(selector).innerText();

/** The page's document, typed for the few calls made on it (these files compile without the DOM library). */
type Doc = { querySelector(s: string): { textContent: string | null } | null; querySelectorAll(s: string): { length: number }; body: { dataset: Record<string, string | undefined> } };

/**
 * Waits until an element's text is `expected` (the page updates it by itself). A function, not a string: the
 * page's Content-Security-Policy forbids eval, and playwright evaluates strings with it.
 */
function textBecomes(page: Page, selector: string, expected: string): Promise<unknown> {
  return page.waitForFunction(([sel, want]) => (globalThis as unknown as { document: Doc }).document.querySelector(sel!)?.textContent === want, [selector, expected], { timeout: 10_000 });
}

async function status(url: string): Promise<AgentStatus> {
  return (await (await fetch(`${url}/status`)).json()) as AgentStatus;
}

test('the status page shows a running agent\'s numbers, updates, plots a history that survives a restart, and never runs what an ERP sends', { skip: !existsSync(CHROMIUM) && !process.env.PLANTSYNC_REQUIRE_BROWSER && `${CHROMIUM} is not installed (apt-get install chromium; .ci/run does)` }, async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
  const broker = await startBroker(t);
  const erp = await startSim(t);
  const dir = tempDir(t);
  const cfg: ConfigInput = {
    agent: { id: 'gw-halle-3', plant: '1000', stateDir: dir },
    admin: { host: '127.0.0.1', port: 0 },
    sources: { robot: { ...robotSource(broker.url), protocolVersion: broker.protocolVersion } as { type: string } },
    mappings: robotMappings,
    sinks: { erp: { type: 'erp-http', url: `${erp.url}/batch`, response: simResponse, delivery: { backoff: { baseMs: 20, capMs: 50 } } } },
    routes: [{ sink: 'erp', types: '*', onReject: 'park' }],
    objectives: { latencySeconds: { 'material.consumption': 30, 'production.confirmation': 60 } },
  };
  let agent = new Agent({ config: cfg, configVersion: 'v1', log: pino({ level: 'silent' }) });
  t.after(() => agent.stop(1000));
  await agent.start();
  let url = agent.adminUrl!;

  // A welding robot on the line, an order the ERP refuses with a reply meant to run in the technician's browser.
  const hostile = '<img src=x onerror="window.__pwned=1">Auftrag 4711 gesperrt';
  erp.reject('1000/press-01/seq-1', 422, hostile);
  await agent.ingest([confirmation(1, 'Auftrag-4711')]);
  let robot = await WeldingRobotSim.start(broker.url, 40, () => 'Заказ-0815');
  await until(() => robot.published >= 60, 'robot cycles', 20_000);
  await robot.stop();
  await until(() => agent.sinkStatus('erp').deadLetters === 1 && agent.sinkStatus('erp').pending + agent.sinkStatus('erp').inFlight === 0, 'delivered, one dead letter', 20_000);
  agent.history.flush();

  const browser = await launch(t);
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(url);

  // The numbers of the running agent, as /status has them.
  let st = await status(url);
  await textBecomes(page, '#sources tr[data-name="robot"] td:nth-child(4)', st.sources.robot!.received.toLocaleString('en-US'));
  assert.equal(await text(page, '#agent-id'), 'gw-halle-3');
  assert.equal(await text(page, '#sources tr[data-name="robot"] td:nth-child(2)'), 'connected');
  const sinkRow = (n: number) => text(page, `#sinks tr[data-name="erp"] td:nth-child(${n})`);
  assert.equal(await sinkRow(7), '1', 'dead letters');
  assert.equal(await sinkRow(8), '1', 'parked keys');
  assert.equal(await sinkRow(9), st.sinks.erp!.delivered.toLocaleString('en-US'), 'delivered');
  assert.equal(await sinkRow(5), 'closed', 'breaker');
  assert.ok((await sinkRow(10)).includes(hostile), `the ERP reply shown as text: ${await sinkRow(10)}`);
  assert.equal(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned), undefined, 'and never run');
  assert.equal(await page.locator('#sinks img').count(), 0);
  // The dead letter itself, listed with its key and the ERP's answer (as text too), without its event body.
  await textBecomes(page, '#dead-letters tbody tr td:nth-child(4)', 'Auftrag-4711/0010');
  assert.equal(await text(page, '#dead-letters tbody tr td:nth-child(3)'), 'production.confirmation');
  assert.match(await text(page, '#dead-letters tbody tr td:nth-child(5)'), /^yes/);
  assert.equal(await text(page, '#dead-letters tbody tr td:nth-child(6)'), `HTTP 422: ${hostile}`);
  assert.equal(await page.locator('#dead-letters img').count(), 0);
  const listed = (await (await fetch(`${url}/dead-letters`)).json()) as Record<string, unknown>[];
  assert.deepEqual(listed.map((d) => [d.sink, d.orderingKey, 'body' in d]), [['erp', 'Auftrag-4711/0010', false]], 'no event bodies on the open listener');

  // The plots: events in and out, backlog, exceptions, and the delay of each type against its objective.
  await page.waitForFunction(() => (globalThis as unknown as { document: Doc }).document.body.dataset.historyAt !== undefined);
  for (const id of ['plot-events', 'plot-backlog', 'plot-exceptions']) assert.equal(await page.locator(`#${id} canvas`).count(), 1, id);
  assert.equal(await page.locator('#latency-plots [data-type="material.consumption"] canvas').count(), 1);
  assert.match(await page.locator('#latency-plots').innerText(), /objective 30 s/);
  assert.match(await page.locator('#plot-backlog').innerText(), /oldest waiting: erp/);
  const h = (await (await fetch(`${url}/history?hours=1`)).json()) as HistorySeries;
  const sum = (xs: (number | null)[]) => xs.reduce<number>((a, b) => a + (b ?? 0), 0);
  assert.equal(sum(h.eventsIn), agent.ingestStats.accepted, 'events in: what intake committed');
  assert.equal(sum(h.delivered.erp!), st.sinks.erp!.delivered, 'delivered: what the sink acknowledged');
  assert.ok(h.latency['material.consumption']!.p95Sec.some((v) => v !== null && v < 30));
  assert.equal(h.minutes.length, 10, `a new agent's history shows its last ten minutes, not an hour of nothing`);
  assert.equal((await fetch(`${url}/history?hours=49`)).status, 400);

  // It updates: the robot welds again, and the page follows by itself.
  robot = await WeldingRobotSim.start(broker.url, 40, () => 'Заказ-0815');
  await until(() => robot.published >= 40, 'more cycles', 20_000);
  await robot.stop();
  await until(() => agent.sources.get('robot')!.status().received >= st.sources.robot!.received + 40, 'received', 20_000);
  // The last cycles may still be arriving: the page must come to show what /status says once they have.
  let shown = '';
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
    st = await status(url);
    shown = await text(page, '#sources tr[data-name="robot"] td:nth-child(4)');
    if (shown === st.sources.robot!.received.toLocaleString('en-US')) break;
  }
  assert.equal(shown, st.sources.robot!.received.toLocaleString('en-US'), 'the page follows the agent');
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'status-page.png'), fullPage: true });

  // The history survives a restart: a new agent on the same spool plots what the old one counted.
  const before = (await (await fetch(`${url}/history?hours=1`)).json()) as HistorySeries;
  // The page is still open and asking every 2 s: the stop keeps its deadline (systemd's stop timeout depends on
  // it), where the listener's close used to wait ~45 s for the page's busy connection.
  assert.deepEqual(errors, [], 'no script errors on the page');
  // A page busier than ours (several open, or a slow network) is made here by asking every 20 ms.
  await page.evaluate(() => setInterval(() => void fetch('/status').catch(() => {}), 20));
  const stop = agent.stop(1000).then(() => 'stopped');
  assert.equal(await Promise.race([stop, new Promise((r) => setTimeout(r, 15_000, 'still stopping after 15 s'))]), 'stopped');
  agent = new Agent({ config: cfg, configVersion: 'v1', log: pino({ level: 'silent' }) });
  await agent.start();
  url = agent.adminUrl!;
  const after = (await (await fetch(`${url}/history?hours=1`)).json()) as HistorySeries;
  assert.ok(sum(after.eventsIn) >= sum(before.eventsIn) && sum(before.eventsIn) > 0, `${sum(after.eventsIn)} >= ${sum(before.eventsIn)}`);
  assert.equal(sum(after.delivered.erp!), st.sinks.erp!.delivered, 'everything the first agent delivered is in the restarted one\'s history');
  await page.goto(url);
  errors.length = 0; // the old page's requests to the stopped agent failed, as they should
  await page.waitForFunction(() => (globalThis as unknown as { document: Doc }).document.querySelectorAll('#plot-events canvas').length === 1);
  assert.deepEqual(errors, [], 'no script errors on the page of the restarted agent');
});
