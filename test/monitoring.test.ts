// The shipped Prometheus alert rules and Grafana dashboard (docs/monitoring/) use only metrics a running agent
// exports: a relay with an MQTT source and a JetStream source is started, given one message on each, and every
// plantsync_* name in every rule and panel must be on its /metrics. With promtool on the PATH the rules are also
// checked by it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import type { ConfigInput } from '../agent/config.ts';
import { buildEvent } from '../agent/events.ts';
import { startBroker, uniquePrefix } from '../adapters/mqtt/sim/test-broker.ts';
import { createFleetStream, startNats } from '../adapters/jetstream/sim/nats-server.ts';
import { confirmation, startAgent } from '../adapters/jetstream/sim/test-kit.ts';
import { tempDir, until } from './helpers.ts';

const dir = join(import.meta.dirname, '../docs/monitoring');
const rules = JSON.parse(readFileSync(join(dir, 'plantsync-alerts.yml'), 'utf8').replace(/^#.*\n/gm, '')) as { groups: { rules: { alert: string; expr: string; annotations: { summary: string; description: string } }[] }[] };
const dashboard = JSON.parse(readFileSync(join(dir, 'grafana-dashboard.json'), 'utf8')) as { uid: string; panels: { title: string; targets: { expr: string }[] }[] };
const names = (expr: string) => [...expr.matchAll(/\bplantsync_[a-z_]+/g)].map((m) => m[0]);

test('every metric the alert rules and the dashboard use is exported by a running agent; the rules cover what the issue lists', async (t) => {
  const alerts = rules.groups.flatMap((g) => g.rules);
  assert.deepEqual(
    alerts.map((a) => a.alert).sort(),
    ['PlantsyncAgentDown', 'PlantsyncBacklogBeyondObjective', 'PlantsyncConfigRefused', 'PlantsyncDeadLettersGrowing', 'PlantsyncNoInput', 'PlantsyncSinkDown', 'PlantsyncSourceDisconnected', 'PlantsyncSpoolNearCap'],
  );
  for (const a of alerts) assert.ok(a.annotations.summary && a.annotations.description, `${a.alert} says what and what to do`);
  assert.equal(dashboard.uid, 'plantsync-fleet');

  const stateDir = tempDir(t);
  const broker = await startBroker(t);
  const nats = await startNats(t, stateDir);
  await createFleetStream(nats.url);
  const prefix = uniquePrefix();
  const agent = await startAgent(t, {
    agent: { id: 'relay-metrics', plant: '1000', stateDir },
    admin: { port: 0 },
    sources: {
      hall: { type: 'mqtt', url: broker.url, protocolVersion: broker.protocolVersion, subscriptions: [{ topic: `${prefix}/+`, qos: 1 }] },
      backbone: { type: 'jetstream', servers: [nats.url], stream: 'PLANTSYNC' },
    },
    sinks: { erp: { type: 'memory' } },
    routes: [{ sink: 'erp', types: '*' }],
    mappings: [],
  } as ConfigInput);
  const pub = await connectAsync(broker.url, { protocolVersion: broker.protocolVersion });
  await pub.publishAsync(`${prefix}/PRESS-01`, '{"not":"mapped"}', { qos: 1 });
  await pub.endAsync();
  const built = buildEvent(confirmation(1, 'Auftrag-4711'), 'gw');
  if (!built.ok) throw new Error(built.reason);
  const nc = await connect({ servers: nats.url });
  await jetstream(nc).publish('plantsync.1000.Linie_1.production_confirmation.2', JSON.stringify(built.event), { msgID: built.event.idempotencyKey });
  await nc.close();
  await until(() => agent.sinkStatus('erp').delivered === 1 && agent.sources.get('hall')!.status().received === 1, 'one message through each source');

  const metrics = await agent.metrics.registry.metrics(); // what /metrics serves
  const exported = new Set([...metrics.matchAll(/^# TYPE (plantsync_[a-z_]+)/gm)].map((m) => m[1]!));
  const used = [...alerts.map((a) => a.expr), ...dashboard.panels.flatMap((p) => p.targets.map((x) => x.expr))].flatMap(names);
  assert.ok(used.length > 10);
  for (const n of new Set(used)) assert.ok(exported.has(n), `${n} (used by a rule or panel) is exported`);

  const promtool = spawnSync('promtool', ['check', 'rules', join(dir, 'plantsync-alerts.yml')], { encoding: 'utf8' });
  if (promtool.error) t.diagnostic('promtool not installed here: the rules were checked by parsing and against /metrics only');
  else assert.equal(promtool.status, 0, promtool.stdout + promtool.stderr);
});
