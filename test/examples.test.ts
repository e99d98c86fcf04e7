// docs/examples: the configs are valid, and the table that says how to run the press fragment against the OPC UA
// simulator names node ids the fragment and the simulator really have.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFiles } from '../agent/config-files.ts';
import { startSim } from '../adapters/opcua/sim/test-kit.ts';

const dir = join(import.meta.dirname, '../docs/examples');

test('the example config with its conf.d fragments is valid, and the README table maps every PLC node id to one the simulator serves', async (t) => {
  const loaded = loadConfigFiles(join(dir, 'plantsync.json'));
  assert.deepEqual(loaded.files.map((f) => f.slice(dir.length + 1)), ['plantsync.json', 'conf.d/10-press-line.json', 'conf.d/20-robot-cell.json']);
  const press = loaded.config.sources?.['press-01'] as unknown as { nodes: { nodeId?: string }[] };
  const plcIds = new Set(press.nodes.map((n) => n.nodeId));
  const rows = [...readFileSync(join(dir, 'README.md'), 'utf8').matchAll(/^\| `(ns=3;[^`]+)` \| `(ns=1;[^`]+)` \|$/gm)].map((m) => [m[1]!, m[2]!] as const);
  assert.equal(rows.length, plcIds.size, 'one row per node of the fragment');
  const sim = await startSim(t);
  const simIds = new Set(Object.values(sim.nodeIds));
  for (const [plc, simulated] of rows) {
    assert.ok(plcIds.has(plc), `${plc} is in 10-press-line.json`);
    assert.ok(simIds.has(simulated), `${simulated} is served by the simulator (it serves ${[...simIds].join(', ')})`);
  }
});
