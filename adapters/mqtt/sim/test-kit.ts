// Shared pieces of the MQTT source's tests: an agent config with one MQTT source on the test broker and a press
// counter mapping (production confirmations keyed by machine and sequence number).
import type { ConfigInput } from '../../../agent/config.ts';
import type { TestBroker } from './test-broker.ts';

export function config(stateDir: string, broker: TestBroker, prefix: string, topics = [`${prefix}/machines/+/count`], extra: Record<string, unknown> = {}): ConfigInput {
  return {
    agent: { id: 'gw-mqtt', plant: '1000', stateDir },
    admin: { port: 0 }, // never the default port: an agent running on this machine holds it
    sources: { hall2: { type: 'mqtt', url: broker.url, protocolVersion: broker.protocolVersion, clientId: `plantsync-${prefix.replace(/\W/g, '')}`, subscriptions: topics.map((topic) => ({ topic, qos: 1 })), ...extra } },
    sinks: { erp: { type: 'memory' } },
    routes: [{ sink: 'erp', types: '*' }],
    mappings: [
      {
        name: 'count',
        topic: `${prefix}/machines/{machine}/{kind}`,
        emit: [
          {
            type: 'production.confirmation',
            key: '{{topic.machine}}/{{payload.seq}}',
            orderingKey: '{{payload.order}}/0010',
            payload: { order: '{{payload.order}}', operation: '0010', workCenter: '{{topic.machine}}', yield: '{{payload.good}}', scrap: 0, unit: 'PC', final: false },
          },
        ],
      },
    ],
  } as ConfigInput;
}
