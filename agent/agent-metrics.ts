// The agent's state as Prometheus gauges read when scraped (sources, sinks, config): nothing is updated per
// message, and what a reload adds or removes shows at the next scrape.
import type { Metrics } from './metrics.ts';
import type { SourceStatus } from './source.ts';

/** What the gauges read from the agent (the Agent class, without importing it). */
export interface MetricsView {
  readonly metrics: Metrics;
  readonly sources: ReadonlyMap<string, { status(): SourceStatus }>;
  readonly dispatchers: ReadonlyMap<string, unknown>;
  readonly configVersion: string;
  readonly configState: { error: unknown };
  sinkStatus(name: string): { pending: number; held: number; deadLetters: number };
}

/** What the gauges read from the spool. */
export interface SpoolView {
  maintenance: { fullness(): { full: boolean; usedBytes: number; capBytes: number } };
  admin: { rejectedBudget: { bytes: number; records: number } };
  counter(name: string): number;
}

type Sample = [Record<string, string>, number];

export function registerAgentMetrics(a: MetricsView, spool: SpoolView): void {
  const m = a.metrics;
  const source = (f: (s: SourceStatus) => number) => () => [...a.sources].map(([name, s]): Sample => [{ source: name }, f(s.status())]);
  m.sampled('plantsync_source_connected', 'Source connected to its server or broker (1) or not (0)', ['source'], source((s) => (s.connected ? 1 : 0)));
  m.sampled('plantsync_source_last_message_timestamp_seconds', 'When the source last received a message or value (0: never)', ['source'], source((s) => (s.lastMessageAt ?? 0) / 1000));
  m.sampled('plantsync_source_reconnects', 'Connections the source rebuilt since the agent started', ['source'], source((s) => s.reconnects));
  m.sampled('plantsync_source_received', 'Messages or values the source received since the agent started', ['source'], source((s) => s.received));
  m.sampled('plantsync_source_rejected', 'Input the source could not decode since the agent started', ['source'], source((s) => s.rejected));
  m.sampled('plantsync_source_held', 'Messages the source holds in memory, taken in and not yet committed (bounded: maxInFlight)', ['source'], source((s) => s.held ?? 0));

  const sink = (f: (s: ReturnType<MetricsView['sinkStatus']>) => number) => () => [...a.dispatchers.keys()].map((name): Sample => [{ sink: name }, f(a.sinkStatus(name))]);
  m.sampled('plantsync_sink_backlog_events', 'Events a sink still owes (waiting, held behind a key)', ['sink'], sink((s) => s.pending + s.held));
  m.sampled('plantsync_sink_dead_letters', 'Events a sink rejected, waiting for a person (plantsync dlq)', ['sink'], sink((s) => s.deadLetters));

  const fill = (f: (x: { full: boolean; usedBytes: number; capBytes: number }) => number) => () => [[{}, f(spool.maintenance.fullness())] as Sample];
  m.sampled('plantsync_spool_used_bytes', 'Bytes of the spool file in use (live pages)', [], fill((x) => x.usedBytes));
  m.sampled('plantsync_spool_cap_bytes', 'Byte cap of the spool (spool.capBytes)', [], fill((x) => x.capBytes));
  m.sampled('plantsync_spool_backpressure', 'The spool refuses business events at its cap (1): sources stop acknowledging; else 0', [], fill((x) => (x.full ? 1 : 0)));

  m.sampled('plantsync_rejected_records', 'Rejected records kept (within spool.rejected.maxRecords)', [], () => [[{}, spool.admin.rejectedBudget.records]]);
  m.sampled('plantsync_rejected_bytes', 'Bytes of rejected records kept (within spool.rejected.maxBytes, outside capBytes)', [], () => [[{}, spool.admin.rejectedBudget.bytes]]);
  m.sampled('plantsync_rejected_evicted', 'Rejected records evicted (oldest first) to keep their budget, since the spool was made', [], () => [[{}, spool.counter('rejected_evicted')]]);

  m.sampled('plantsync_config_info', 'The config the agent runs (its version as a label); always 1', ['version'], () => [[{ version: a.configVersion }, 1]]);
  m.sampled('plantsync_config_refused', 'The last config read was refused and the agent runs on the one before (1), or not (0)', [], () => [[{}, a.configState.error ? 1 : 0]]);
}
