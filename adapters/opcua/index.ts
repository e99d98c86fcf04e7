// The OPC UA source adapter, as the registry sees it.
import type { SourceAdapter } from '../../agent/adapter-kit.ts';
import { OpcuaSourceConfig } from './config.ts';

export const opcuaAdapter: SourceAdapter<typeof OpcuaSourceConfig> = {
  type: 'opcua',
  description: 'OPC UA client: subscriptions, triggers (edges, counters, transitions, thresholds), read-on-trigger, PLC handshake',
  configSchema: OpcuaSourceConfig,
  check: (c) => {
    const names = new Set(c.nodes.map((n) => n.name));
    const problems: string[] = [];
    if (c.nodes.length === 0 && !c.events?.length) problems.push('/nodes: no nodes and no events: nothing to watch');
    const eventNames = new Set<string>();
    (c.events ?? []).forEach((e, i) => {
      if (names.has(e.name) || eventNames.has(e.name)) problems.push(`/events/${i}/name: '${e.name}' is used twice`);
      eventNames.add(e.name);
    });
    c.nodes.forEach((n, i) => {
      if (!n.nodeId === !n.browsePath) problems.push(`/nodes/${i}: give exactly one of nodeId and browsePath`);
      for (const r of n.read ?? []) if (!names.has(r)) problems.push(`/nodes/${i}/read: no node named '${r}' in /nodes`);
      if (n.handshake && !names.has(n.handshake.ackNode)) problems.push(`/nodes/${i}/handshake/ackNode: no node named '${n.handshake.ackNode}' in /nodes`);
      if (c.nodes.findIndex((x) => x.name === n.name) !== i) problems.push(`/nodes/${i}/name: '${n.name}' is used twice`);
    });
    if ((c.securityMode === 'None') !== (c.securityPolicy === 'None')) problems.push('/securityPolicy: securityMode None goes with securityPolicy None, and Sign / SignAndEncrypt with a real policy');
    return problems;
  },
  warnings: (c) =>
    c.securityMode === 'None' && c.identity?.type === 'username'
      ? ['/securityMode: security None with a user name and password: the password crosses the network without encryption']
      : [],
  createSource: async (name, config) => new (await import('./source.ts')).OpcuaSource(name, config),
};
