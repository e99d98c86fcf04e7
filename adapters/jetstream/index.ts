// The NATS JetStream adapters, as the registry sees them: a sink (gateways publish their events to the fleet's
// stream) and a source (central relays consume them, per partition, and post them to the ERP through their sinks).
import type { SinkAdapter, SourceAdapter } from '../../agent/adapter-kit.ts';
import { JetStreamSinkConfig, JetStreamSourceConfig } from './config.ts';

const tlsOff = (tls: { rejectUnauthorized?: boolean | undefined } | undefined) => (tls?.rejectUnauthorized === false ? ['/tls/rejectUnauthorized: TLS certificate verification is off: anyone on the path can read and change events'] : []);
const plainSecrets = (c: { servers: string[]; auth?: { type: string } | undefined }) =>
  c.auth && c.auth.type !== 'none' && c.auth.type !== 'nkey' && c.auth.type !== 'creds' && c.servers.some((s) => s.startsWith('nats://')) ? [`/servers: credentials (auth ${c.auth.type}) go over plain nats:// unless the server requires TLS`] : [];

export const jetStreamSinkAdapter: SinkAdapter<typeof JetStreamSinkConfig> = {
  type: 'jetstream',
  description: 'NATS JetStream: events published to the fleet\'s stream (de-duplicated by idempotency key, per-key order, partitioned)',
  configSchema: JetStreamSinkConfig,
  warnings: (c) => [...tlsOff(c.tls), ...plainSecrets(c)],
  createSink: async (name, config, ctx) => new (await import('./sink.ts')).JetStreamSink(name, config, ctx),
};

export const jetStreamSourceAdapter: SourceAdapter<typeof JetStreamSourceConfig> = {
  type: 'jetstream',
  description: 'NATS JetStream (central relay): the gateways\' events, per partition, committed then acknowledged',
  configSchema: JetStreamSourceConfig,
  check: (c) => (c.take ?? []).filter((p) => p >= c.partitions).map((p) => `/take: partition ${p} does not exist (partitions: ${c.partitions})`),
  warnings: (c) => [...tlsOff(c.tls), ...plainSecrets(c)],
  createSource: async (name, config) => new (await import('./source.ts')).JetStreamSource(name, config),
};
