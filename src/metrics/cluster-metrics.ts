import cluster from 'node:cluster';
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import {
  isMessage,
  METRICS_PEER_BOUND_MS,
  MetricsCollect,
  MetricsCollected,
  MetricsSnapshot,
  MetricsSnapshotResult,
  MSG_METRICS_COLLECT,
  MSG_METRICS_COLLECTED,
  MSG_METRICS_SNAPSHOT,
  MSG_METRICS_SNAPSHOT_RESULT,
} from '../cluster/cluster-messages';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { GatewayCallMetrics } from './gateway-call-metrics';
import { METRIC_PREFIX, MetricsRegistry } from './metrics-registry';

/** Longest this worker waits for the primary's answer (ms): its own bound plus a margin. */
const PRIMARY_BOUND_MS = METRICS_PEER_BOUND_MS + 1_000;

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * What GET /metrics renders. In a single api process: this process's metrics
 * (MetricsRegistry.render). In a worker of the api cluster (API_WORKERS > 1,
 * src/cluster/api-cluster.ts) the cluster's, whichever worker the scrape reached
 * (docs/operations.md "Metrics" and "Several api processes on one machine"):
 * - every metric of `MetricsRegistry.registry` of every worker, merged with prom-client's
 *   `AggregatorRegistry.aggregate`: counters and histograms are summed (the cluster's totals),
 *   gauges too unless prom-client's default metric says otherwise (event loop lag is averaged,
 *   the Node version taken once, the start time left out);
 * - the scrape-time metrics (`MetricsRegistry.scrapeRegistry`) of this worker only;
 * - `tollgate_cluster_worker_http_requests_total{pid}`: requests each worker answered (all routes
 *   but /metrics), one series per live worker;
 * - `tollgate_cluster_workers{state}`: workers whose metrics are in this answer (`reporting`,
 *   this one included) and configured workers whose are not (`missing`: restarting, or no answer
 *   within METRICS_PEER_BOUND_MS). A worker that died takes its counts with it: the sums drop,
 *   which Prometheus's rate() reads as a counter reset.
 * The other workers' metrics come through the primary (src/cluster/cluster-messages.ts); this
 * service also answers the primary's requests for this worker's metrics.
 */
@Injectable()
export class ClusterMetrics implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger(ClusterMetrics.name);
  /** a worker of our own cluster (not merely run under some other cluster manager with API_WORKERS = 1) */
  readonly clustered: boolean;
  private readonly workers: number;
  private readonly waiting = new Map<number, (answer: MetricsCollected | null) => void>();
  private nextId = 1;
  private listener: ((message: unknown) => void) | null = null;

  constructor(
    private readonly metrics: MetricsRegistry,
    private readonly calls: GatewayCallMetrics,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.workers = config.apiWorkers;
    this.clustered = cluster.isWorker && config.apiWorkers > 1 && typeof process.send === 'function';
  }

  onModuleInit(): void {
    if (!this.clustered) return;
    this.listener = (message: unknown) => {
      if (isMessage<MetricsSnapshot>(message, MSG_METRICS_SNAPSHOT)) void this.answerSnapshot(message.id);
      else if (isMessage<MetricsCollected>(message, MSG_METRICS_COLLECTED)) this.settle(message.id, message);
    };
    process.on('message', this.listener);
  }

  onModuleDestroy(): void {
    if (this.listener) process.off('message', this.listener);
    this.listener = null;
    for (const id of [...this.waiting.keys()]) this.settle(id, null);
  }

  /**
   * The Prometheus text of GET /metrics: this process's metrics, or in a cluster worker the
   * cluster's (see the class). The caller refreshes the scrape-time collectors and waits for
   * recorded calls to be counted first. Answers within about METRICS_PEER_BOUND_MS + 1 s even when
   * a worker or the primary does not answer. Never throws for another worker's fault.
   */
  async render(): Promise<string> {
    if (!this.clustered) return this.metrics.render();
    const [own, peers, scrape] = await Promise.all([this.snapshot(), this.collectPeers(), this.metrics.scrapeRegistry.getMetricsAsJSON()]);
    const summary = new Registry();
    const workers = new Gauge({
      name: `${METRIC_PREFIX}cluster_workers`,
      help: 'Api workers of this cluster whose metrics are in this answer (reporting) and those whose are not (missing)',
      labelNames: ['state'],
      registers: [summary],
    });
    workers.set({ state: 'reporting' }, 1 + peers.snapshots.length);
    workers.set({ state: 'missing' }, peers.missing);
    return AggregatorRegistry.aggregate([own, ...peers.snapshots, scrape, await summary.getMetricsAsJSON()]).metrics();
  }

  /** This worker's metrics as prom-client JSON, with its own `tollgate_cluster_worker_http_requests_total{pid}`. */
  private async snapshot(): Promise<MetricsJson> {
    const own = await this.metrics.registry.getMetricsAsJSON();
    const requests = own.find((m) => m.name === `${METRIC_PREFIX}http_requests_total`);
    const answered = (requests?.values ?? []).reduce((sum, v) => sum + v.value, 0);
    const perWorker = new Registry();
    new Counter({
      name: `${METRIC_PREFIX}cluster_worker_http_requests_total`,
      help: 'HTTP requests answered by each api worker of this cluster (all routes but /metrics), by its process id',
      labelNames: ['pid'],
      registers: [perWorker],
    }).inc({ pid: String(process.pid) }, answered);
    return [...own, ...(await perWorker.getMetricsAsJSON())];
  }

  /** The primary asks for this worker's metrics (another worker answers a scrape). */
  private async answerSnapshot(id: number): Promise<void> {
    let result: MetricsSnapshotResult;
    try {
      await this.calls.settled();
      result = { type: MSG_METRICS_SNAPSHOT_RESULT, id, metrics: await this.snapshot() };
    } catch (err) {
      result = { type: MSG_METRICS_SNAPSHOT_RESULT, id, metrics: null, error: (err as Error).message };
    }
    this.send(result);
  }

  /** The other workers' metrics through the primary; none (all missing) when it does not answer in time. */
  private collectPeers(): Promise<{ snapshots: MetricsJson[]; missing: number }> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(id, null), PRIMARY_BOUND_MS);
      this.waiting.set(id, (answer) => {
        clearTimeout(timer);
        if (!answer)
          this.log.warn("the api cluster primary did not send the other workers' metrics in time: this answer has only this worker's");
        resolve(
          answer ? { snapshots: answer.snapshots as MetricsJson[], missing: answer.missing } : { snapshots: [], missing: this.workers - 1 },
        );
      });
      const ask: MetricsCollect = { type: MSG_METRICS_COLLECT, id };
      if (!this.send(ask)) this.settle(id, null);
    });
  }

  private settle(id: number, answer: MetricsCollected | null): void {
    const done = this.waiting.get(id);
    if (!done) return;
    this.waiting.delete(id);
    done(answer);
  }

  /** Sends to the primary; false when the channel is gone. */
  private send(message: MetricsCollect | MetricsSnapshotResult): boolean {
    if (!process.send || !process.connected) return false;
    try {
      process.send(message, undefined, undefined, (err: Error | null) => {
        if (err) this.log.warn(`message to the api cluster primary not sent: ${err.message}`);
      });
      return true;
    } catch {
      return false;
    }
  }
}
