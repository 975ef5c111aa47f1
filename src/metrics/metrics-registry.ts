import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** Prefix of every metric Tollgate exports, its own and Node's process metrics alike. */
export const METRIC_PREFIX = 'tollgate_';

/**
 * The api process's own prom-client registry (never prom-client's global one, so two apps in one
 * process, as in tests, do not share series). Holds Node's default process metrics
 * (`tollgate_process_*`, `tollgate_nodejs_*`) and every metric of src/metrics. Rendered by
 * GET /metrics (docs/operations.md "Metrics").
 */
@Injectable()
export class MetricsRegistry {
  readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content type of `render()`'s text (`text/plain; version=0.0.4; charset=utf-8`). */
  get contentType(): string {
    return this.registry.contentType;
  }
}
