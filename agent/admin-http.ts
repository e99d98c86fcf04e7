// The admin HTTP listener, on 127.0.0.1 by default: /metrics (Prometheus text), /healthz (the process answers),
// /readyz (the spool is open, every source is connected, no latency objective breached and no dead letters
// growing; 503 with the reasons otherwise), /status (the agent's view as JSON, what `plantsync status` prints). These are read-only and open. POST /dlq (dead letters), /rejected
// (rejected records) and /replay (re-send delivered events) need the bearer token in <stateDir>/admin.token
// (mode 0600): only who may read the agent's state directory may change what it owes the ERP.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdminRequestError, type DlqRequest, type DlqResult } from './dlq-ops.ts';
import { checkAdminRequest } from './admin-requests.ts';
import { configWarnings } from './config-warnings.ts';
import type { AgentConfig } from './config.ts';
import type { RejectedRequest, RejectedResult, ReplayRequest } from './rejected-ops.ts';
import type { Metrics } from './metrics.ts';
import type { ObjectivesView } from './objectives.ts';
import type { DispatcherStats } from './dispatcher.ts';
import type { SourceStatus } from './source.ts';
import type { SinkStats } from '../spool/types.ts';

/** What the listener reads from the agent (the Agent class, without importing it). */
export interface AdminView {
  readonly startedAt: number;
  readonly configVersion: string;
  readonly config: { agent: { id: string } };
  readonly configState: { files: string[]; lastReloadAt: number | undefined; error: { at: number; message: string } | undefined };
  readonly metrics: Metrics;
  readonly sources: ReadonlyMap<string, { status(): SourceStatus }>;
  readonly dispatchers: ReadonlyMap<string, unknown>;
  sinkStatus(name: string): SinkStats & DispatcherStats & { breaker: string };
  rejectedRecords(): number;
  /** Why the agent cannot commit or deliver now (agent/readiness.ts). */
  readiness(): string[];
  readonly objectives: { view(): ObjectivesView };
  dlq(r: DlqRequest): DlqResult;
  rejected(r: RejectedRequest): Promise<RejectedResult>;
  replay(r: ReplayRequest): { count: number };
  readonly adminToken: string;
}

export interface AgentStatus {
  agentId: string;
  configVersion: string;
  /** The config files read; the last applied reload; a refused config (the agent runs on the last good one). */
  config: { files: string[]; lastReloadAt: string | null; refused: { at: string; message: string } | null };
  startedAt: string;
  uptimeSec: number;
  ready: boolean;
  notReady: string[];
  sources: Record<string, { connected: boolean; lastMessageAt: string | null; reconnects: number; received: number; rejected: number }>;
  sinks: Record<string, { pending: number; held: number; inFlight: number; deadLetters: number; parkedKeys: number; oldestPendingAgeSec: number | null; delivered: number; retried: number; lastSuccessAt: string | null; lastError: string | null; lastErrorAt: string | null; breaker: string }>;
  rejectedRecords: number;
  /** Latency objectives breached now (also in notReady) and missed in the last 5 minutes; growing dead letters. */
  objectives: ObjectivesView;
  /** Settings that weaken security (agent/config-warnings.ts). */
  warnings: string[];
}

const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());

export function agentStatus(agent: AdminView): AgentStatus {
  const now = Date.now();
  const sources = Object.fromEntries(
    [...agent.sources].map(([name, s]) => {
      const st = s.status();
      return [name, { connected: st.connected, lastMessageAt: iso(st.lastMessageAt), reconnects: st.reconnects, received: st.received, rejected: st.rejected }];
    }),
  );
  const sinks = Object.fromEntries(
    [...agent.dispatchers.keys()].map((name) => {
      const s = agent.sinkStatus(name);
      return [
        name,
        {
          pending: s.pending,
          held: s.held,
          inFlight: s.inFlight,
          deadLetters: s.deadLetters,
          parkedKeys: s.parkedKeys,
          oldestPendingAgeSec: s.oldestPendingAt === undefined ? null : Math.round((now - s.oldestPendingAt) / 1000),
          delivered: s.delivered,
          retried: s.retried,
          lastSuccessAt: iso(s.lastSuccessAt),
          lastError: s.lastError ?? null,
          lastErrorAt: iso(s.lastErrorAt),
          breaker: s.breaker,
        },
      ];
    }),
  );
  const objectives = agent.objectives.view();
  const notReady = [...agent.readiness(), ...Object.entries(sources).flatMap(([n, s]) => (s.connected ? [] : [`source '${n}' is not connected`])), ...objectives.breached];
  return {
    agentId: agent.config.agent.id,
    configVersion: agent.configVersion,
    config: {
      files: agent.configState.files,
      lastReloadAt: iso(agent.configState.lastReloadAt),
      refused: agent.configState.error ? { at: new Date(agent.configState.error.at).toISOString(), message: agent.configState.error.message } : null,
    },
    startedAt: new Date(agent.startedAt).toISOString(),
    uptimeSec: Math.round((now - agent.startedAt) / 1000),
    ready: notReady.length === 0,
    notReady,
    sources,
    sinks,
    rejectedRecords: agent.rejectedRecords(),
    objectives,
    warnings: configWarnings(agent.config as AgentConfig),
  };
}

export async function startAdminHttp(agent: AdminView, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const path = (req.url ?? '/').split('?')[0];
    const op = req.method === 'POST' && path ? operations[path] : undefined;
    if (op) return void handleOperation(agent, path!, op, req, send);
    if (req.method !== 'GET') return send(405, JSON.stringify({ error: 'read-only: GET only' }));
    if (path === '/healthz') return send(200, JSON.stringify({ ok: true }));
    if (path === '/metrics') {
      agent.metrics.registry.metrics().then(
        (text) => send(200, text, agent.metrics.registry.contentType),
        (err: Error) => send(500, JSON.stringify({ error: err.message })),
      );
      return;
    }
    if (path === '/readyz' || path === '/status') {
      let st: AgentStatus;
      try {
        st = agentStatus(agent);
      } catch (err) {
        // The state cannot be read (a damaged spool): not ready, with the reason; never a crash of the listener.
        return send(path === '/readyz' ? 503 : 500, JSON.stringify({ ready: false, notReady: [`status unavailable: ${(err as Error).message}`] }));
      }
      if (path === '/status') return send(200, JSON.stringify(st));
      return send(st.ready ? 200 : 503, JSON.stringify({ ready: st.ready, notReady: st.notReady }));
    }
    send(404, JSON.stringify({ error: `no ${path}; try /metrics, /healthz, /readyz, /status` }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

export function adminUrl(server: Server): string {
  const a = server.address() as AddressInfo;
  return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}

type Send = (status: number, body: string) => void;

/** The changing requests, each the same request shape the CLI runs on the spool file when the agent is stopped. */
const operations: Record<string, (agent: AdminView, body: never) => unknown> = {
  '/dlq': (agent, r: DlqRequest) => agent.dlq(r),
  '/rejected': (agent, r: RejectedRequest) => agent.rejected(r),
  '/replay': (agent, r: ReplayRequest) => agent.replay(r),
};

async function handleOperation(agent: AdminView, path: string, op: (agent: AdminView, body: never) => unknown, req: import('node:http').IncomingMessage, send: Send): Promise<void> {
  const given = Buffer.from(String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
  const want = Buffer.from(agent.adminToken);
  if (given.length !== want.length || !timingSafeEqual(given, want)) return send(401, JSON.stringify({ error: 'the bearer token of <stateDir>/admin.token is needed' }));
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 65_536) return send(413, JSON.stringify({ error: 'request larger than 64 KiB' }));
    chunks.push(c);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    return send(400, JSON.stringify({ error: `not JSON: ${(err as Error).message}` }));
  }
  try {
    checkAdminRequest(path, body); // before anything runs: a typo is a 400 that touches nothing
    send(200, JSON.stringify(await op(agent, body as never)));
  } catch (err) {
    send(err instanceof AdminRequestError ? 400 : 500, JSON.stringify({ error: (err as Error).message }));
  }
}

/** Reads the admin token, making it (random, mode 0600) the first time. */
export function adminToken(stateDir: string): string {
  const file = join(stateDir, 'admin.token');
  if (!existsSync(file)) {
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(file, randomBytes(24).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return readFileSync(file, 'utf8').trim();
}
