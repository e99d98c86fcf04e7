// What a config reload changes, worked out before anything is touched: which sources and sinks keep running as
// they are (their settings are the same), which restart, which go and which come, and which changes only a
// restart can apply (the spool file, the keys' namespace).
import { isDeepStrictEqual } from 'node:util';
import type { AgentConfig } from './config.ts';

export interface Diff {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
}

export interface ReloadReport {
  sources: Diff;
  sinks: Diff;
  mappingsChanged: boolean;
  routesChanged: boolean;
}

export interface ReloadPlan extends ReloadReport {
  adminChanged: boolean;
  /** Settings that differ and cannot change while running; non-empty: refuse the config. */
  restartNeeded: string[];
  summary: ReloadReport;
}

function diff(before: Record<string, unknown> = {}, after: Record<string, unknown> = {}): Diff {
  const d: Diff = { added: [], removed: [], changed: [], unchanged: [] };
  for (const name of Object.keys(after)) {
    if (!(name in before)) d.added.push(name);
    else (isDeepStrictEqual(before[name], after[name]) ? d.unchanged : d.changed).push(name);
  }
  d.removed = Object.keys(before).filter((n) => !(n in after));
  return d;
}

export function planReload(before: AgentConfig, after: AgentConfig): ReloadPlan {
  const restartNeeded: string[] = [];
  for (const k of ['id', 'plant', 'stateDir'] as const) if (before.agent[k] !== after.agent[k]) restartNeeded.push(`/agent/${k}`);
  if (!isDeepStrictEqual(before.spool, after.spool)) restartNeeded.push('/spool');
  const sources = diff(before.sources, after.sources);
  const sinks = diff(before.sinks, after.sinks);
  const mappingsChanged = !isDeepStrictEqual(before.mappings ?? [], after.mappings ?? []);
  const routesChanged = !isDeepStrictEqual(before.routes, after.routes);
  const summary = { sources, sinks, mappingsChanged, routesChanged };
  return { ...summary, summary, adminChanged: !isDeepStrictEqual(before.admin, after.admin), restartNeeded };
}
