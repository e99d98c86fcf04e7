// A running agent's spool, for tests only: they read what was committed and inject faults into the file the agent
// holds (the agent's exclusive lock keeps any other connection out). Nothing else may import this file (`npm run
// lint`: spool-stays-private); everything else reaches the spool through the agent's operations.
import type { Spool } from '../spool/spool.ts';

const spools = new WeakMap<object, Spool>();

/** Called by the agent once its spool is open. */
export function registerSpool(agent: object, spool: Spool): void {
  spools.set(agent, spool);
}

export function spoolOf(agent: object): Spool {
  const s = spools.get(agent);
  if (!s) throw new Error('this agent has not opened its spool (start it first)');
  return s;
}
