import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** Prefix of every metric Tollgate exports, its own and Node's process metrics alike. */
export const METRIC_PREFIX = 'tollgate_';

/**
 * The api process's own prom-client registries (never prom-client's global one, so two apps in one
 * process, as in tests, do not share series), rendered by GET /metrics (docs/operations.md
 * "Metrics"):
 * - `registry`: Node's default process metrics (`tollgate_process_*`, `tollgate_nodejs_*`) and
 *   every metric this process counts itself (requests, calls, refusals…). With API_WORKERS > 1
 *   each worker's are summed into the cluster's (src/metrics/cluster-metrics.ts);
 * - `scrapeRegistry`: the metrics read from Redis and PostgreSQL at scrape time
 *   (src/metrics/scrape-collectors.ts), the same whichever process reads them: only the process
 *   answering the scrape reports them, never summed.
 */
@Injectable()
export class MetricsRegistry {
  readonly registry = new Registry();
  readonly scrapeRegistry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }

  /** The Prometheus text exposition of every metric of this process (both registries). */
  render(): Promise<string> {
    return Registry.merge([this.registry, this.scrapeRegistry]).metrics();
  }

  /** Content type of `render()`'s text (`text/plain; version=0.0.4; charset=utf-8`). */
  get contentType(): string {
    return this.registry.contentType;
  }
}
