import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { CallRecord } from '../model-calls/call-record';
import { RecordOutcome } from '../model-calls/call-record-writer';
import { CallRecorder } from '../model-calls/call-recorder.service';
import { CatalogService, ModelRoute } from '../providers/catalog.service';
import { callLabels } from './metric-labels';
import { METRIC_PREFIX, MetricsRegistry } from './metrics-registry';

/** Upstream time buckets (seconds): a first token in 50 ms to a long completion in minutes. */
const UPSTREAM_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300];

/** Longest a scrape waits for calls recorded before it to be counted (ms). */
const SETTLE_BOUND_MS = 1_000;

type RouteNames = Map<string, { name: string; models: Set<string> }>;

/**
 * Gateway call metrics, counted from each durable call record (CallRecorder.onRecorded), never
 * from the database (docs/operations.md "Metrics"):
 * - `tollgate_gateway_calls_total{provider, model, status}` (success, failed, aborted, interrupted);
 * - `tollgate_gateway_tokens_total{provider, model, kind}` metered tokens, kind prompt|completion;
 * - `tollgate_gateway_credits_total{provider, model}` credits charged (billable calls only;
 *   converted from Decimal to a float here, at export: a metric, not money);
 * - `tollgate_gateway_upstream_seconds{provider, stream}` and
 *   `tollgate_gateway_upstream_first_byte_seconds{provider, stream}` for calls that went upstream;
 * - `tollgate_call_records_total{outcome}` where records went (written, scrubbed, fallback, dead).
 * Labels come from the routing table (CatalogService): a model that is no enabled rate of the
 * call's provider is `other`, a call without a provider `none`.
 */
@Injectable()
export class GatewayCallMetrics implements OnModuleInit {
  private readonly log = new Logger(GatewayCallMetrics.name);
  private readonly calls: Counter<'provider' | 'model' | 'status'>;
  private readonly tokens: Counter<'provider' | 'model' | 'kind'>;
  private readonly credits: Counter<'provider' | 'model'>;
  private readonly upstream: Histogram<'provider' | 'stream'>;
  private readonly firstByte: Histogram<'provider' | 'stream'>;
  private readonly records: Counter<'outcome'>;
  /** observations waiting for the routing table (usually none: it is cached) */
  private readonly pending = new Set<Promise<void>>();
  private names: { routes: readonly ModelRoute[]; byId: RouteNames } | null = null;

  constructor(
    private readonly recorder: CallRecorder,
    private readonly catalog: CatalogService,
    metrics: MetricsRegistry,
  ) {
    const registers = [metrics.registry];
    this.calls = new Counter({
      name: `${METRIC_PREFIX}gateway_calls_total`,
      help: 'Gateway calls recorded, by provider, model and status (success, failed, aborted, interrupted)',
      labelNames: ['provider', 'model', 'status'],
      registers,
    });
    this.tokens = new Counter({
      name: `${METRIC_PREFIX}gateway_tokens_total`,
      help: 'Tokens metered on gateway calls, by provider, model and kind (prompt, completion)',
      labelNames: ['provider', 'model', 'kind'],
      registers,
    });
    this.credits = new Counter({
      name: `${METRIC_PREFIX}gateway_credits_total`,
      help: 'Credits charged for gateway calls (billable calls), by provider and model; approximate (float), the ledger is exact',
      labelNames: ['provider', 'model'],
      registers,
    });
    this.upstream = new Histogram({
      name: `${METRIC_PREFIX}gateway_upstream_seconds`,
      help: "Time from sending a call upstream to the end of the provider's answer or failure (seconds), retries included",
      labelNames: ['provider', 'stream'],
      buckets: UPSTREAM_BUCKETS,
      registers,
    });
    this.firstByte = new Histogram({
      name: `${METRIC_PREFIX}gateway_upstream_first_byte_seconds`,
      help: "Time from sending a call upstream to the provider's response headers, or a stream's first chunk (seconds)",
      labelNames: ['provider', 'stream'],
      buckets: UPSTREAM_BUCKETS,
      registers,
    });
    this.records = new Counter({
      name: `${METRIC_PREFIX}call_records_total`,
      help: 'Call records made durable, by where they went (written, scrubbed, fallback, dead)',
      labelNames: ['outcome'],
      registers,
    });
  }

  onModuleInit(): void {
    this.recorder.onRecorded((record, outcome) => {
      const done: Promise<void> = this.observe(record, outcome)
        .catch((err: Error) => this.log.warn(`call ${record.id} not counted in metrics: ${err.message}`))
        .finally(() => this.pending.delete(done));
      this.pending.add(done);
    });
  }

  /** Resolves when every call recorded so far is counted, or after SETTLE_BOUND_MS; never throws. */
  async settled(): Promise<void> {
    if (this.pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, SETTLE_BOUND_MS)));
    await Promise.race([Promise.allSettled([...this.pending]), bound]).finally(() => clearTimeout(timer));
  }

  private async observe(record: CallRecord, outcome: RecordOutcome): Promise<void> {
    this.records.inc({ outcome });
    const labels = callLabels(await this.routeNames(), record.providerId, record.model);
    this.calls.inc({ ...labels, status: record.status });
    if (record.promptTokens > 0) this.tokens.inc({ ...labels, kind: 'prompt' }, record.promptTokens);
    if (record.completionTokens > 0) this.tokens.inc({ ...labels, kind: 'completion' }, record.completionTokens);
    if (record.billable && record.credits.gt(0)) this.credits.inc(labels, record.credits.toNumber());
    const timing = record.upstreamTiming;
    if (timing) {
      const upstreamLabels = { provider: labels.provider, stream: String(record.stream) };
      this.upstream.observe(upstreamLabels, timing.totalMs / 1000);
      if (timing.firstByteMs !== null) this.firstByte.observe(upstreamLabels, timing.firstByteMs / 1000);
    }
  }

  /**
   * provider id → name and enabled models, rebuilt when the routing table was reloaded; the last
   * one known while the table cannot be loaded (PostgreSQL away).
   */
  private async routeNames(): Promise<RouteNames> {
    let routes: readonly ModelRoute[];
    try {
      routes = await this.catalog.routes();
    } catch {
      return this.names?.byId ?? new Map();
    }
    if (this.names?.routes === routes) return this.names.byId;
    const byId: RouteNames = new Map();
    for (const r of routes) {
      const entry = byId.get(r.provider.id) ?? { name: r.provider.name, models: new Set<string>() };
      entry.models.add(r.model);
      byId.set(r.provider.id, entry);
    }
    this.names = { routes, byId };
    return byId;
  }
}
