// Where the CLI finds the running agent: its admin listener, from the config (a wildcard listen address is asked
// on loopback), and the token for requests that change something.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentConfig } from '../agent/config.ts';

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
