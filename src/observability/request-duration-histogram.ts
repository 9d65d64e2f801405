/** One series: a route template, a method and a status, with its own bucket counts (not yet cumulative). */
interface Series {
  labels: { method: string; route: string; status: string };
  /** Observations per bucket: index i counts values above bound i − 1 and at most bound i; none above the last bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/** One value of the exposition, in the shape prom-client's registry formats: `labels` first, then `sharedLabels`. */
interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
  metricName: string;
  exemplar?: null;
}

/**
 * http_request_duration_seconds, exposed exactly as prom-client's Histogram exposes it (same lines, labels and
 * order), observed for every request without that class's per-call work: a new closure, the labels checked and
 * joined into a sorted key, and each bucket looked up by its bound turned into a property name. That came to about
 * half a microsecond a request on Node.js 24, a few per cent of a cached hit (docs/performance.md, "An eighteenth
 * host"). Registered in a prom-client Registry with registerMetric.
 */
export class RequestDurationHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** route → method → status → series: three lookups of strings and a number, no key built per request. */
  private readonly byRoute = new Map<string, Map<string, Map<number, Series>>>();
  /** Every series in the order it first appeared, the exposition's order. */
  private readonly series: Series[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {
    for (let i = 1; i < bounds.length; i++) if (!(bounds[i] > bounds[i - 1])) throw new Error('Histogram bounds must increase');
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    if (!Number.isFinite(seconds)) throw new TypeError(`Value is not a valid number: ${seconds}`);
    let byMethod = this.byRoute.get(route);
    if (byMethod === undefined) this.byRoute.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (series === undefined) {
      series = { labels: { method, route, status: String(status) }, counts: new Float64Array(this.bounds.length), sum: 0, count: 0 };
      byStatus.set(status, series);
      this.series.push(series);
    }
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]) {
        series.counts[i]++;
        break;
      }
    }
    series.sum += seconds;
    series.count++;
  }

  /** What prom-client's registry formats into the text exposition. */
  async getForPromString(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportedValue[] }> {
    const bucket = `${this.name}_bucket`;
    const values: ExportedValue[] = [];
    for (const series of this.series) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += series.counts[i];
        values.push({ labels: { le: this.bounds[i] }, sharedLabels: series.labels, value: cumulative, metricName: bucket, exemplar: null });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: series.labels, value: series.count, metricName: bucket, exemplar: null });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The same values with each one's labels in one object, as prom-client's get() gives them (the JSON form). */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Array<Omit<ExportedValue, 'sharedLabels'>> }> {
    const exported = await this.getForPromString();
    return { ...exported, values: exported.values.map(({ sharedLabels, labels, ...value }) => ({ ...value, labels: { ...labels, ...sharedLabels } })) };
  }

  reset(): void {
    this.byRoute.clear();
    this.series.length = 0;
  }
}
