// The ERP (or whatever answers in its place) cannot make the agent believe the wrong thing: results matched by
// idempotency key, a login page is not a delivery, a year-long Retry-After is capped, a redirect is no dead letter,
// a huge token answer is bounded, and an unusable 2xx backs off like any failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Agent } from '../../agent/agent.ts';
import type { ConfigInput } from '../../agent/config.ts';
import { sleep, tempDir, until } from '../../test/helpers.ts';
import type { ErpSim } from './sim/erp-sim.ts';
import type { ErpHttpSink } from './sink.ts';
import { batchOf, confirmation, never, openSink, simResponse, startSim } from './sim/test-kit.ts';
import { spoolOf } from '../../agent/inspect.ts';

test('per-event results in another order are matched by idempotency key: the accepted one is delivered, the rejected one dead-lettered', async (t) => {
  const sim = await startSim(t);
  const sink = await openSink(t, { url: `${sim.url}/batch` });
  const b = batchOf([confirmation(1, 'Заказ-1'), confirmation(2, '订单-2'), confirmation(3, 'Auftrag-3')]);
  sim.reject(b.events[0]!.idempotencyKey, 422, 'order closed');
  sim.setFault({ mode: 'reorder' });
  const out = await sink.deliver(b, never);
  assert.equal(out.kind, 'partial');
  assert.deepEqual(out.kind === 'partial' && out.results.map((r) => r.kind), ['rejected', 'delivered', 'delivered']);
  const first = out.kind === 'partial' ? out.results[0] : undefined;
  assert.match(first?.kind === 'rejected' ? first.reason : '', /order closed/);
});

test('an answer that leaves an event out is no verdict on it: that event goes again', async (t) => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ results: [{ idempotencyKey: '1000/press-01/seq-2', status: 201, documentNumber: '4711' }] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const sink = await openSink(t, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/batch` });
  const out = await sink.deliver(batchOf([confirmation(1, 'A'), confirmation(2, 'B')]), never);
  assert.deepEqual(out.kind === 'partial' && out.results.map((r) => r.kind), ['retry', 'delivered']);
});

async function agentOn(t: import('node:test').TestContext, sim: ErpSim, sink: Record<string, unknown> = {}) {
  const config = {
    agent: { id: 'gw', plant: '1000', stateDir: tempDir(t) },
    admin: { port: 0 }, // never the default port in a test
    sinks: { erp: { type: 'erp-http', url: `${sim.url}/batch`, response: simResponse, protect: { breakerFailures: 3, breakerOpenMs: 50 }, delivery: { backoff: { baseMs: 20, capMs: 2000 } }, ...sink } },
    routes: [{ sink: 'erp', types: '*', onReject: 'park' }],
  } as ConfigInput;
  const agent = new Agent({ config, configVersion: 't', log: pino({ level: 'silent' }) });
  await agent.start();
  t.after(() => agent.stop(500));
  return agent;
}

test('a 2xx HTML login page from a proxy is not a delivery: retried with a clear error, never dead-lettered, and it counts toward the breaker', async (t) => {
  const sim = await startSim(t);
  sim.setFault({ mode: 'status', status: 200, body: '<html><body>Single sign-on: please log in</body></html>', headers: { 'content-type': 'text/html; charset=utf-8' } });
  const agent = await agentOn(t, sim, { response: {} }); // no per-event results: any 2xx used to count as delivered
  await agent.ingest([confirmation(1, 'PO-1')]);
  await until(() => agent.sinkStatus('erp').retried >= 3, 'retried');
  const st = agent.sinkStatus('erp');
  assert.equal(st.delivered, 0);
  assert.equal(st.deadLetters, 0);
  assert.match(st.lastError ?? '', /text\/html, not application\/json/);
  assert.notEqual((agent.sinks.get('erp') as ErpHttpSink).health().breaker, 'closed');
  sim.setFault(undefined);
  await until(() => sim.counters.accepted === 1, 'delivered once the real ERP answers');
});

test('a 2xx with unusable per-event results backs off like any failure, even while other batches are delivered', async (t) => {
  // A receiver that books good batches and answers one order's batches with a 2xx that has no results.
  let badRequests = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const doc = JSON.parse(Buffer.concat(chunks).toString()) as { events: { idempotencyKey: string; orderingKey: string }[] };
      res.writeHead(200, { 'content-type': 'application/json' });
      if (doc.events.some((e) => e.orderingKey.startsWith('PO-BAD'))) {
        badRequests++;
        return res.end('{"message":"accepted, results follow by mail"}');
      }
      res.end(JSON.stringify({ results: doc.events.map((e) => ({ idempotencyKey: e.idempotencyKey, status: 201 })) }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const sim = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` } as ErpSim;
  const agent = await agentOn(t, sim, { protect: { breakerFailures: 1000 }, delivery: { concurrency: 2, backoff: { baseMs: 300, capMs: 5000 } } });
  await agent.ingest([confirmation(0, 'PO-BAD')]);
  await until(() => badRequests >= 1, 'the bad batch was tried');
  const before = badRequests;
  // Good batches keep succeeding meanwhile: each success used to make the waiting bad batch due at once.
  for (let i = 1; i <= 40; i++) {
    await agent.ingest([confirmation(i, `PO-${i}`)]);
    await sleep(25);
  }
  const tries = badRequests - before;
  assert.ok(tries <= 4, `backed off: ${tries} requests for the unusable batch in ~1 s beside 40 good ones`);
  assert.match(agent.sinkStatus('erp').lastError ?? '', /no per-event results at 'results'/);
});

test('a Retry-After of one year waits at most backoff.maxRetryAfterMs (one hour by default), with no timer overflow', async (t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const sim = await startSim(t);
  sim.setFault({ mode: 'status', status: 503, retryAfter: String(365 * 24 * 3600) });
  const agent = await agentOn(t, sim);
  await agent.ingest([confirmation(1, 'PO-1')]);
  await until(() => agent.sinkStatus('erp').retried >= 1, 'retried');
  const wait = spoolOf(agent).nextDueAt('erp')! - Date.now();
  assert.ok(wait > 3_590_000 && wait <= 3_600_000, `waits ${wait} ms`);
  const requests = sim.counters.requests;
  await sleep(300);
  assert.equal(sim.counters.requests, requests, 'nothing sent meanwhile');
  assert.deepEqual(warnings.filter((w) => w === 'TimeoutOverflowWarning'), []);
});

test('a 301/308 to a moved endpoint is a retry naming the Location, never a dead letter', async (t) => {
  const sim = await startSim(t);
  const agent = await agentOn(t, sim);
  for (const status of [301, 308]) {
    sim.setFault({ mode: 'status', status, headers: { location: 'https://erp-new.example/api/batch' } });
    await agent.ingest([confirmation(status, `PO-${status}`)]);
  }
  await until(() => agent.sinkStatus('erp').retried >= 2, 'retried');
  const st = agent.sinkStatus('erp');
  assert.equal(st.deadLetters, 0);
  assert.match(st.lastError ?? '', /HTTP 30[18]: the endpoint moved to https:\/\/erp-new.example\/api\/batch/);
  sim.setFault(undefined);
  await until(() => sim.counters.accepted === 2, 'delivered once the url is right again');
});

test('an OAuth2 token answer is read up to 64 KiB, not whatever size the endpoint sends', async (t) => {
  let served = 0;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    // 50 MB of a "token", in chunks: the agent must stop reading long before the end.
    const chunk = Buffer.alloc(1 << 20, 'a');
    let n = 0;
    const write = () => {
      while (n < 50 && res.write(chunk)) (n++, (served += chunk.length));
      if (n >= 50) res.end();
      else res.once('drain', write);
    };
    res.write('{"access_token":"');
    write();
    res.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sink = await openSink(t, { url: `${url}/batch`, auth: { type: 'oauth2', tokenUrl: `${url}/token`, clientId: 'plantsync', clientSecret: 's3cret' } });
  const out = await sink.deliver(batchOf([confirmation(1)]), never);
  assert.equal(out.kind, 'retry');
  assert.match(out.kind === 'retry' ? out.error : '', /token endpoint answer is larger than 65536 bytes/);
  assert.ok(served < 20 << 20, `stopped reading early (${served} bytes sent)`);
});
