// Prometheus metrics (prom-client) behind a small get-or-create facade, so components and adapters declare what
// they record without touching the registry: the same metric is shared by every sink, told apart by its labels.
import client from 'prom-client';

export type Counter = client.Counter<string>;
export type Gauge = client.Gauge<string>;
export type Histogram = client.Histogram<string>;

/** Latency buckets in seconds, from a fast loopback post to a posting held for hours by an outage. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];

export class Metrics {
  readonly registry = new client.Registry();

  counter(name: string, help: string, labelNames: string[]): Counter {
    return (this.registry.getSingleMetric(name) as Counter | undefined) ?? new client.Counter({ name, help, labelNames, registers: [this.registry] });
  }

  gauge(name: string, help: string, labelNames: string[]): Gauge {
    return (this.registry.getSingleMetric(name) as Gauge | undefined) ?? new client.Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  histogram(name: string, help: string, labelNames: string[], buckets = LATENCY_BUCKETS): Histogram {
    return (this.registry.getSingleMetric(name) as Histogram | undefined) ?? new client.Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  /** A gauge read at scrape time from state kept elsewhere (a source's status()): nothing to update per message. */
  sampled(name: string, help: string, labelNames: string[], read: () => [Record<string, string>, number][]): void {
    if (this.registry.getSingleMetric(name)) return;
    new client.Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [labels, v] of read()) this.set(labels, v);
      },
    });
  }

  /** Current value of a counter or gauge for the given labels (0 when never set); for status views and tests. */
  async value(name: string, labels: Record<string, string>): Promise<number> {
    const m = this.registry.getSingleMetric(name);
    if (!m) return 0;
    const data = await m.get();
    const hit = data.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x));
    return hit?.value ?? 0;
  }
}
