/**
 * `tessera_store_operation_seconds`: a Prometheus histogram of store call durations, kept in
 * plain typed arrays instead of prom-client's `Histogram`. Every store call on the accept path
 * adds a sample, and prom-client's `observe` validates and hashes the labels on every call
 * (about half a microsecond); here the labels are bound once per operation at wiring time and a
 * sample is a bucket search and three additions (tens of nanoseconds). The exposition is built
 * only when Prometheus scrapes, in the shape prom-client's own histograms produce, so the
 * registry prints it like any other metric.
 */
import type { Metric, Registry } from 'prom-client';
import type { StoreObserver } from './hub-metrics';

interface Series {
  store: string;
  operation: string;
  /** Samples per bucket, not cumulative; the last slot counts samples above every bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

interface ExportedValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/** The histogram, registered on one registry. */
export class StoreLatencyHistogram {
  readonly name = 'tessera_store_operation_seconds';
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: readonly number[];
  private readonly series = new Map<string, Series>();

  constructor(options: { help: string; buckets: readonly number[]; registry: Registry }) {
    this.help = options.help;
    this.bounds = [...options.buckets].sort((a, b) => a - b);
    // The registry only calls get() and reset() on a metric (and reads its name and type).
    options.registry.registerMetric(this as unknown as Metric);
  }

  /** The observer for one operation; the same series for the same labels, however often asked. */
  observer(store: string, operation: string): StoreObserver {
    const key = `${store}\n${operation}`;
    let series = this.series.get(key);
    if (series === undefined) {
      series = { store, operation, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    const found = series;
    const bounds = this.bounds;
    return (seconds) => {
      let i = 0;
      while (i < bounds.length && seconds > bounds[i]!) i += 1;
      found.counts[i]! += 1;
      found.sum += seconds;
      found.count += 1;
    };
  }

  /** What the registry prints: cumulative `_bucket` lines with `le`, then `_sum` and `_count`, per series that has samples. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportedValue[] }> {
    const values: ExportedValue[] = [];
    for (const series of this.series.values()) {
      if (series.count === 0) continue;
      const labels = { store: series.store, operation: series.operation };
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += series.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: bound }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: series.count });
      values.push({ metricName: `${this.name}_sum`, labels, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: series.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const series of this.series.values()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
