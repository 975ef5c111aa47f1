import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators';
import { DomainError } from '../common/domain-error';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ClusterMetrics } from './cluster-metrics';
import { GatewayCallMetrics } from './gateway-call-metrics';
import { MetricsRegistry } from './metrics-registry';
import { ScrapeCollectors } from './scrape-collectors';

/** SHA-256 of a text: both sides of the token check have the same length, whatever was sent. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * GET /metrics for Prometheus (docs/operations.md "Metrics"). Public for the management guard:
 * when METRICS_BEARER_TOKEN is set the token is checked here instead (the scraper is no user).
 */
@Public()
@Controller()
export class MetricsController {
  private readonly tokenDigest: Buffer | null;

  constructor(
    private readonly metrics: MetricsRegistry,
    private readonly collectors: ScrapeCollectors,
    private readonly calls: GatewayCallMetrics,
    private readonly cluster: ClusterMetrics,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.tokenDigest = config.metrics.bearerToken ? digest(config.metrics.bearerToken) : null;
  }

  /**
   * Every metric in the Prometheus text format (content type `text/plain; version=0.0.4;
   * charset=utf-8`), with the scrape-time sources (queues, ledger lag, credential health) read
   * first, each within 2 s (COLLECT_BOUND_MS): a scrape answers within about 3 s even when Redis or
   * PostgreSQL hangs. With API_WORKERS > 1 the cluster's metrics, whichever worker answers
   * (ClusterMetrics: totals summed over the workers).
   * @throws DomainError 401 `metrics_unauthorized` when METRICS_BEARER_TOKEN is set and the request
   *   lacks `Authorization: Bearer <that token>`
   */
  @Get('metrics')
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    this.authorize(authorization);
    await Promise.all([this.collectors.refresh(), this.calls.settled()]);
    const text = await this.cluster.render();
    void reply.header('content-type', this.metrics.contentType).header('cache-control', 'no-store');
    return text;
  }

  /** Constant-time check of the bearer token (digests compared, so length leaks nothing). */
  private authorize(authorization: string | undefined): void {
    if (!this.tokenDigest) return;
    const match = /^Bearer (.+)$/i.exec(authorization ?? '');
    const sent = digest(match ? match[1] : '');
    if (!match || !timingSafeEqual(sent, this.tokenDigest)) {
      throw DomainError.unauthorized('metrics_unauthorized', 'GET /metrics needs Authorization: Bearer <METRICS_BEARER_TOKEN>');
    }
  }
}
