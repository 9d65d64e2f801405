import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { PrometheusExporter } from '../observability/prometheus-exporter.js';

/** toolbox_xapi_statements_total{mapped}: statements stored, by whether they made an activity event. */
@Injectable()
export class XapiStats {
  private readonly counter: Counter<'mapped'>;

  constructor(exporter: PrometheusExporter) {
    this.counter = new Counter({
      name: 'toolbox_xapi_statements_total',
      help: 'xAPI statements stored (re-sent ones not counted), by whether they made an activity event (mapped="true") or not',
      labelNames: ['mapped'] as const,
      registers: [exporter.registry],
    });
    // Both series exist from the start, so a rate() over them works before the first statement.
    this.counter.inc({ mapped: 'true' }, 0);
    this.counter.inc({ mapped: 'false' }, 0);
  }

  record(mapped: number, unmapped: number): void {
    if (mapped > 0) this.counter.inc({ mapped: 'true' }, mapped);
    if (unmapped > 0) this.counter.inc({ mapped: 'false' }, unmapped);
  }
}
