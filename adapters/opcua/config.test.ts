// The OPC UA source's config: the README's sample is valid, and mistakes between fields name their JSON path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../agent/config.ts';

const md = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
const sample = JSON.parse(/```json\n([\s\S]*?)```/.exec(md)![1]!) as { nodes: Record<string, unknown>[] } & Record<string, unknown>;
const wrap = (press: unknown) => JSON.stringify({ agent: { id: 'gw', plant: '1000', stateDir: '/tmp/x' }, sources: { press }, sinks: { erp: { type: 'memory' } }, routes: [{ sink: 'erp', types: '*' }] });

test('the sample config in the README is a valid opcua source', () => {
  assert.doesNotThrow(() => parseConfig(wrap(sample), 'adapters/opcua/README.md'));
});

test('references between fields are checked and named by their JSON path', () => {
  const nodes = sample.nodes;
  const bad = (over: Record<string, unknown>) => () => parseConfig(wrap({ ...sample, ...over }), 'plantsync.json');
  assert.throws(bad({ nodes: [{ ...nodes[0], read: ['ordr'] }, ...nodes.slice(1)] }), /plantsync\.json: \/sources\/press\/nodes\/0\/read: no node named 'ordr' in \/nodes/);
  assert.throws(bad({ nodes: [...nodes.slice(0, 4), { ...nodes[4], handshake: { ackNode: 'nope' } }, ...nodes.slice(5)] }), /\/sources\/press\/nodes\/4\/handshake\/ackNode: no node named 'nope'/);
  assert.throws(bad({ nodes: [{ name: 'x' }] }), /\/sources\/press\/nodes\/0: give exactly one of nodeId and browsePath/);
  assert.throws(bad({ nodes: [...nodes, { name: 'order', nodeId: 'i=1' }] }), /'order' is used twice/);
  assert.throws(bad({ securityMode: 'Sign', securityPolicy: 'None' }), /\/sources\/press\/securityPolicy: securityMode None goes with securityPolicy None/);
  assert.throws(bad({ nodes: [{ ...nodes[0], trigger: { kind: 'counter', rollover: 10 } }] }), /\/sources\/press\/nodes\/0\/trigger/);
  assert.throws(bad({ endpoint: 'http://plc:4840' }), /\/sources\/press\/endpoint/);
  assert.throws(bad({ nodes: [] }), /\/sources\/press\/nodes: no nodes and no events: nothing to watch/);
  assert.doesNotThrow(bad({ nodes: [], events: [{ name: 'alarms' }] }));
});
