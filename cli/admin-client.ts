// How the CLI reaches the running agent: its admin listener, from the config (a wildcard listen address is asked
// on loopback), and the token for requests that change something; with the pieces every changing verb shares.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { ConfigError, type AgentConfig } from '../agent/config.ts';

/** The admin listener's base URL, or undefined when the config turns it off. */
export function adminBase(cfg: AgentConfig): string | undefined {
  const a = cfg.admin ?? {};
  if (a.enabled === false) return undefined;
  const host = !a.host || a.host === '0.0.0.0' || a.host === '::' ? '127.0.0.1' : a.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${a.port ?? 9464}`;
}

/** The bearer token the agent keeps in its state directory (readable by who may act for it). */
export function adminToken(cfg: AgentConfig): string {
  return readFileSync(join(cfg.agent.stateDir, 'admin.token'), 'utf8').trim();
}

/**
 * Runs a changing request in the running agent (POST to its admin listener with the token): while it runs it holds
 * the spool's lock. When no agent answers, `offline` runs it on the spool file instead.
 */
export async function viaAgentOrSpool<T>(cfg: AgentConfig, path: string, body: unknown, offline: () => Promise<T> | T): Promise<T> {
  const base = adminBase(cfg);
  if (base) {
    let res: Response | undefined;
    try {
      res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken(cfg)}`, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(600_000) });
    } catch {
      res = undefined; // no token yet, or nobody listening: the agent is not running
    }
    if (res) {
      const answer = (await res.json()) as T & { error?: string };
      if (!res.ok) throw Object.assign(new Error(`agent: ${answer.error ?? res.status}`), { usage: res.status === 400 });
      return answer;
    }
  }
  return offline();
}

/** A yes/no question on the terminal; false without one (scripts must say --yes). */
export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question(`${question} [y/N] `);
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

/** A time option: RFC 3339 or epoch milliseconds. */
export function timeOption(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(t)) throw new ConfigError(`--${what}: '${v}' is not a time (RFC 3339 or epoch ms)`);
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
