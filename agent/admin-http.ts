// The admin HTTP listener on TCP, 127.0.0.1 by default, read-only and open: / (the status page, status-page.ts), /metrics (Prometheus text), /healthz
// (the process answers), /readyz (the agent can commit and deliver; 503 with the reasons otherwise), /status (the
// agent's view as JSON). Requests that change what the agent owes go only through the admin socket in the state
// directory (admin-socket.ts), guarded by file permissions: a process squatting this port learns nothing it could
// use, and two agents on one machine are never confused.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DlqRequest, DlqResult } from './dlq-ops.ts';
import type { KeysRequest, KeysResult } from './keys-ops.ts';
import { configWarnings } from './config-warnings.ts';
import type { AgentConfig } from './config.ts';
import type { RejectedRequest, RejectedResult, ReplayRequest } from './rejected-ops.ts';
import type { Metrics } from './metrics.ts';
import type { ObjectivesView } from './objectives.ts';
import type { DispatcherStats } from './dispatcher.ts';
import type { SourceStatus } from './source.ts';
import type { SinkStats } from '../spool/types.ts';
import type { AuditEntry } from '../spool/admin.ts';
import type { AuditRequest } from './admin-requests.ts';
import { servePage, type PageView } from './status-page.ts';
import type { Report, ReportRequest } from './report.ts';

/** What the listener reads from the agent (the Agent class, without importing it). */
export interface AdminView extends PageView {
  readonly startedAt: number;
  readonly adminUrl: string | undefined;
  readonly configVersion: string;
  readonly configState: { files: string[]; lastReloadAt: number | undefined; error: { at: number; message: string } | undefined };
  readonly metrics: Metrics;
  readonly sources: ReadonlyMap<string, { status(): SourceStatus }>;
  readonly dispatchers: ReadonlyMap<string, unknown>;
  sinkStatus(name: string): SinkStats & DispatcherStats & { breaker: string };
  rejectedRecords(): number;
  rejectedBySource(): Record<string, number>;
  /** Why the agent cannot commit or deliver now (agent/readiness.ts). */
  readiness(): string[];
  readonly objectives: { view(): ObjectivesView };
  dlq(r: DlqRequest): DlqResult;
  rejected(r: RejectedRequest): Promise<RejectedResult>;
  replay(r: ReplayRequest): { count: number };
  keys(r: KeysRequest): KeysResult;
  audit(r: AuditRequest): { entries: AuditEntry[] };
  report(r: ReportRequest): Report;
  readonly config: AgentConfig;
}

export interface AgentStatus {
  agentId: string;
  configVersion: string;
  /** The config files read; the last applied reload; a refused config (the agent runs on the last good one). */
  config: { files: string[]; lastReloadAt: string | null; refused: { at: string; message: string } | null };
  startedAt: string;
  /** The status page's address (the admin listener), or null when the listener is off or could not start. */
  statusPage: string | null;
  uptimeSec: number;
  ready: boolean;
  notReady: string[];
  /** `rejected`: this source's rejected records in the spool (they add up to rejectedRecords with those of sources no longer configured); `rejectedSinceStart`: counted by this run. */
  sources: Record<string, { connected: boolean; lastMessageAt: string | null; reconnects: number; received: number; rejected: number; rejectedSinceStart: number; lastError: string | null }>;
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
  const stored = agent.rejectedBySource();
  const sources = Object.fromEntries(
    [...agent.sources].map(([name, s]) => {
      const st = s.status();
      return [name, { connected: st.connected, lastMessageAt: iso(st.lastMessageAt), reconnects: st.reconnects, received: st.received, rejected: stored[name] ?? 0, rejectedSinceStart: st.rejected, lastError: st.lastError ?? null }];
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
    statusPage: agent.adminUrl ? `${agent.adminUrl}/` : null,
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
    warnings: configWarnings(agent.config),
  };
}

/** GET /healthz, /metrics, /readyz, /status: what both listeners answer (TCP and the admin socket). */
export function serveReadOnly(agent: AdminView, path: string | undefined, send: (status: number, body: string, type?: string) => void): void {
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
    send(404, JSON.stringify({ error: `no ${path}; try / (the status page), /metrics, /healthz, /readyz, /status` }));
}

export async function startAdminHttp(agent: AdminView, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return send(405, JSON.stringify({ error: 'read-only: GET only; changes go through the admin socket in the state directory (plantsync dlq, rejected, replay, keys)' }));
    // The status page and its history (agent/status-page.ts): for a browser, so only on this listener.
    const page = (status: number, body: string | Buffer, headers: Record<string, string>) => {
      res.writeHead(status, { 'cache-control': 'no-store', ...headers });
      res.end(body);
    };
    if (servePage(agent, req.url ?? '/', page)) return;
    serveReadOnly(agent, path, send);
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
