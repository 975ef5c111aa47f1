import { Module } from '@nestjs/common';
import { ModelCallsModule } from '../model-calls/model-calls.module';
import { ProvidersModule } from '../providers/providers.module';
import { ClusterMetrics } from './cluster-metrics';
import { GatewayCallMetrics } from './gateway-call-metrics';
import { HttpMetricsHook } from './http-metrics.hook';
import { MetricsController } from './metrics.controller';
import { MetricsRegistry } from './metrics-registry';
import { MetricsRepository } from './metrics.repository';
import { ScrapeCollectors } from './scrape-collectors';
import { ServiceCounters } from './service-counters';

/**
 * Prometheus metrics of the api process at GET /metrics (docs/operations.md "Metrics"); with
 * API_WORKERS > 1, of the whole cluster, summed over its workers (ClusterMetrics). The worker
 * exports none: what it does shows in what the api reads on scrape (queue depths, ledger lag,
 * credential health).
 */
@Module({
  imports: [ModelCallsModule, ProvidersModule],
  controllers: [MetricsController],
  providers: [MetricsRegistry, ClusterMetrics, HttpMetricsHook, GatewayCallMetrics, ScrapeCollectors, ServiceCounters, MetricsRepository],
})
export class MetricsModule {}
