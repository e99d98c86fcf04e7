// The admin socket: <stateDir>/admin/admin.sock, an HTTP listener on a Unix domain socket. It answers GET /status
// (and the other read-only paths) and takes the requests that change what the agent owes: POST /dlq, /rejected,
// /replay, /keys. Who may connect is decided by file permissions (the folder 3770 and the socket 0660, group of the
// agent's user), and the CLI finds it through the config's state directory, so with two configs on one machine it
// always speaks to the right agent, and no process squatting a TCP port can receive anything. Every changing request
// names its OS user through a peer proof (peer-proof.ts), which the audit log records.
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { AdminRequestError } from './dlq-ops.ts';
import { AuditRequestSchema, ReportRequestSchema, DlqRequestSchema, KeysRequestSchema, RejectedRequestSchema, ReplayRequestSchema, requestParser } from './admin-requests.ts';
import { serveReadOnly, type AdminView } from './admin-http.ts';
import { adminDir, adminSocketPath, PEER_HEADER, verifyProof } from './peer-proof.ts';

/** Runs one request, checked against its schema first; `actor` is who the kernel says is asking. */
type Op = (agent: AdminView, body: unknown, actor: string) => unknown;

const dlq = requestParser('/dlq', DlqRequestSchema);
const rejected = requestParser('/rejected', RejectedRequestSchema);
const replay = requestParser('/replay', ReplayRequestSchema);
const keys = requestParser('/keys', KeysRequestSchema);
const audit = requestParser('/audit', AuditRequestSchema);
const report = requestParser('/report', ReportRequestSchema);

/** The changing requests, each the same request shape the CLI runs on the spool file when the agent is stopped. */
const operations: Record<string, Op> = {
  '/dlq': (agent, body, actor) => agent.dlq({ ...dlq(body), actor }),
  '/rejected': (agent, body, actor) => agent.rejected({ ...rejected(body), actor }),
  '/replay': (agent, body, actor) => agent.replay({ ...replay(body), actor }),
  '/keys': (agent, body, actor) => agent.keys({ ...keys(body), actor }),
  // Read-only, but only here: the audit log names OS users and their reasons, for the agent's group, not the TCP port.
  '/audit': (agent, body) => agent.audit(audit(body)),
  '/report': (agent, body) => agent.report(report(body)),
};

/** Listens on the admin socket. The agent holds the spool's lock, so a socket file left by a crash is its own. */
export async function startAdminSocket(agent: AdminView): Promise<Server> {
  const stateDir = agent.config.agent.stateDir;
  const dir = adminDir(stateDir);
  const path = adminSocketPath(stateDir);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o3770); // group may connect and leave peer proofs; sticky: nobody removes another's file
  if (existsSync(path)) unlinkSync(path);
  const server = createServer((req, res) => {
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const p = (req.url ?? '/').split('?')[0]!;
    const op = operations[p];
    if (req.method === 'POST' && op) return void handle(agent, stateDir, p, op, req, send);
    if (req.method !== 'GET') return send(405, JSON.stringify({ error: `no ${req.method} ${p}` }));
    serveReadOnly(agent, p, send);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o660);
  return server;
}

async function handle(agent: AdminView, stateDir: string, path: string, op: Op, req: IncomingMessage, send: (status: number, body: string) => void): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 65_536) return send(413, JSON.stringify({ error: 'request larger than 64 KiB' }));
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const peer = verifyProof(stateDir, header(req, PEER_HEADER), 'POST', path, text);
  if (!peer) return send(403, JSON.stringify({ error: 'who is asking cannot be told (no valid peer proof): use the plantsync CLI as a member of the agent\'s group' }));
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return send(400, JSON.stringify({ error: `not JSON: ${(err as Error).message}` }));
  }
  try {
    // The audit log records the OS user the kernel vouches for, with what the client says of itself.
    const claimed = body !== null && typeof body === 'object' && 'actor' in body && typeof body.actor === 'string' ? body.actor : undefined;
    const actor = claimed && !claimed.startsWith(`${peer.user}@`) ? `${peer.user} (says ${claimed})` : (claimed ?? peer.user);
    send(200, JSON.stringify(await op(agent, body, actor))); // the op checks the body first: a typo touches nothing
  } catch (err) {
    send(err instanceof AdminRequestError ? 400 : 500, JSON.stringify({ error: (err as Error).message }));
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
