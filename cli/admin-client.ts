// How the CLI reaches the running agent: its admin socket in the state directory the config names (never a TCP
// port, so with two configs on one machine it speaks to the right agent), with a peer proof of who is asking; with
// the pieces every changing verb shares.
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { ConfigError, type AgentConfig } from '../agent/config.ts';
import { adminSocketPath, PEER_HEADER, writeProof } from '../agent/peer-proof.ts';

const NOT_RUNNING = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK']);

function permissionDenied(where: string): Error {
  return new Error(`permission denied: cannot reach the agent at ${where}; run as the agent's user (sudo -u plantsync plantsync ...) or a member of its group`);
}

/**
 * One request to the running agent over its admin socket; undefined when no agent is running (no socket, or a
 * socket left by a crash that nobody answers on).
 */
export async function askAgent<T>(cfg: AgentConfig, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 600_000): Promise<T | undefined> {
  const socketPath = adminSocketPath(cfg.agent.stateDir);
  if (!existsSync(socketPath)) return undefined;
  const text = body === undefined ? '' : JSON.stringify(body);
  let proof: ReturnType<typeof writeProof> | undefined;
  if (method === 'POST') {
    try {
      proof = writeProof(cfg.agent.stateDir, method, path, text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EACCES') throw permissionDenied(socketPath);
      throw err;
    }
  }
  try {
    const answer = await new Promise<{ status: number; text: string } | undefined>((resolve, reject) => {
      const req = request({ socketPath, path, method, timeout: timeoutMs, headers: { 'content-type': 'application/json', ...(proof && { [PEER_HEADER]: proof.header }) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`the agent did not answer within ${timeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code && NOT_RUNNING.has(err.code)) resolve(undefined);
        else if (err.code === 'EACCES') reject(permissionDenied(socketPath));
        else reject(err);
      });
      req.end(text);
    });
    if (!answer) return undefined;
    const parsed = JSON.parse(answer.text || '{}') as T & { error?: string };
    if (answer.status >= 400) throw Object.assign(new Error(`agent: ${parsed.error ?? answer.status}`), { usage: answer.status === 400 });
    return parsed;
  } finally {
    proof?.remove();
  }
}

/**
 * Runs a changing request in the running agent (over its admin socket): while it runs it holds the spool's lock.
 * When no agent is running, `offline` runs it on the spool file instead.
 */
export async function viaAgentOrSpool<T>(cfg: AgentConfig, path: string, body: unknown, offline: () => Promise<T> | T): Promise<T> {
  const answer = await askAgent<T>(cfg, 'POST', path, body);
  return answer ?? offline();
}

/** A yes/no question on the terminal; false without one (scripts must say --yes). */
export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question(`${question} [y/N] `);
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

/** A time option: RFC 3339, epoch milliseconds, or a span before now (30m, 24h, 7d). */
export function timeOption(v: string | undefined, what: string, now = Date.now()): number | undefined {
  if (v === undefined) return undefined;
  const ago = /^(\d+(?:\.\d+)?)(m|h|d)$/.exec(v); // 30m, 24h, 7d: that long before now
  const t = ago ? now - Number(ago[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as 'm' | 'h' | 'd'] : /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(t)) throw new ConfigError(`--${what}: '${v}' is not a time (RFC 3339, epoch ms, or 30m, 24h, 7d before now)`);
  return t;
}

/** Exit code of a failed CLI operation: 2 for a usage or config problem, 1 otherwise. */
export function failure(err: unknown): void {
  const e = err as Error & { usage?: boolean };
  console.error(e.message);
  process.exitCode = err instanceof ConfigError || e.usage || e.name === 'AdminRequestError' ? 2 : 1;
}

/** The options of every verb that changes what the agent owes: a reason for the audit log, a dry run, no question. */
export function changeOptions(c: Command): Command {
  return c
    .option('--reason <text>', 'why (required; written to the audit log)')
    .option('--dry-run', 'show what would be touched; change nothing')
    .option('-y, --yes', 'do not ask');
}

const PAGE = 1000;

/**
 * Runs a changing request in pages of 1,000 (through the agent, each page is one short request; its lock on the
 * spool is never held for long), printing progress on stderr when there is more than one page. `limit` caps the
 * total. A page reports how many it examined and the last id, to page on after records it left in place.
 */
export async function inPages<T extends { count?: number; examined?: number; lastId?: number }>(
  total: number,
  limit: number | undefined,
  runPage: (page: { limit: number; afterId?: number }) => Promise<T>,
): Promise<T[]> {
  const pages: T[] = [];
  let seen = 0;
  let afterId: number | undefined;
  const want = Math.min(total, limit ?? Infinity);
  for (;;) {
    const size = Math.min(PAGE, (limit ?? Infinity) - seen);
    if (size <= 0) break;
    const p = await runPage({ limit: size, ...(afterId !== undefined && { afterId }) });
    pages.push(p);
    const examined = p.examined ?? p.count ?? 0;
    seen += examined;
    if (want > PAGE) process.stderr.write(`  ${Math.min(seen, want)} of ${want}\n`);
    if (examined < size) break;
    afterId = p.lastId;
  }
  return pages;
}
