import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { CallRecord } from '../model-calls/call-record';
import { RecordOutcome } from '../model-calls/call-record-writer';
import { CallRecorder } from '../model-calls/call-recorder.service';
import { CatalogService, ModelRoute } from '../providers/catalog.service';
import { DeferredCounter, PendingCount } from './deferred-counter';
import { modelLabel, NO_PROVIDER } from './metric-labels';
import { METRIC_PREFIX, MetricsRegistry } from './metrics-registry';

/** Upstream time buckets (seconds): a first token in 50 ms to a long completion in minutes. */
const UPSTREAM_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300];

/** Longest a scrape waits for calls recorded before it to be counted (ms). */
const SETTLE_BOUND_MS = 1_000;

/** A counter or histogram bound to one label set (prom-client's `labels()`: no label object per call). */
type CounterChild = Counter.Internal;
type HistogramChild = Histogram.Internal<'provider' | 'stream'>;

/** What one provider/model pair is counted with: calls by status, tokens by kind, credits. */
interface CallSeries {
  /** its model label */
  model: string;
  /** status → pending count of `calls` (at most the 4 statuses) */
  calls: Map<string, PendingCount>;
  /** pending counts of `tokens` */
  prompt: PendingCount;
  completion: PendingCount;
  /** credits are no whole numbers: counted through their child, in call order */
  credits: CounterChild;
}

/**
 * A provider of the routing table (or the `none` one): its label, its enabled models, and the
 * series of its calls met so far, created on first use: at most models.size + 1 (`other`) model
 * series, and the upstream timings of its streamed and unstreamed calls.
 */
interface ProviderSeries {
  name: string;
  models: Set<string>;
  /** model label (an enabled model or `other`) → its series */
  byModel: Map<string, CallSeries>;
  /** `stream` label false, true → [upstream, first byte] children */
  timing: [[HistogramChild, HistogramChild] | null, [HistogramChild, HistogramChild] | null];
}

/** provider id → its series; rebuilt (so emptied) with each routing table */
type RouteNames = Map<string, ProviderSeries>;

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
 *
 * Per call, on the recorder's write path: the records a write announces share one lookup of the
 * table (no promise per call), and each series is counted through what is kept for it per routing
 * table (RouteNames): the pending count of a DeferredCounter (calls, tokens, records), or a
 * label-bound child (credits, timings), so a call builds no label object. A reset of the registry
 * leaves them usable: a child hashes its labels at each inc/observe, a DeferredCounter applies
 * (then drops) what is pending first.
 */
@Injectable()
export class GatewayCallMetrics implements OnModuleInit {
  private readonly log = new Logger(GatewayCallMetrics.name);
  private readonly calls: DeferredCounter<'provider' | 'model' | 'status'>;
  private readonly tokens: DeferredCounter<'provider' | 'model' | 'kind'>;
  private readonly credits: Counter<'provider' | 'model'>;
  private readonly upstream: Histogram<'provider' | 'stream'>;
  private readonly firstByte: Histogram<'provider' | 'stream'>;
  private readonly records: DeferredCounter<'outcome'>;
  /** `records` by outcome (the 4 RecordOutcome values) */
  private readonly outcomes = new Map<RecordOutcome, PendingCount>();
  /** calls without a known provider: `none`, model `other` (kept across routing tables) */
  private readonly noProvider: ProviderSeries = newProvider(NO_PROVIDER, new Set());
  /** calls recorded and not yet counted: they wait for one routing table lookup per batch */
  private waiting: CallRecord[] = [];
  /** that lookup, then the counting of `waiting`; null when nothing waits */
  private counting: Promise<void> | null = null;
  private names: { routes: readonly ModelRoute[]; byId: RouteNames } | null = null;

  constructor(
    private readonly recorder: CallRecorder,
    private readonly catalog: CatalogService,
    metrics: MetricsRegistry,
  ) {
    const registers = [metrics.registry];
    this.calls = new DeferredCounter({
      name: `${METRIC_PREFIX}gateway_calls_total`,
      help: 'Gateway calls recorded, by provider, model and status (success, failed, aborted, interrupted)',
      labelNames: ['provider', 'model', 'status'],
      registers,
    });
    this.tokens = new DeferredCounter({
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
    this.records = new DeferredCounter({
      name: `${METRIC_PREFIX}call_records_total`,
      help: 'Call records made durable, by where they went (written, scrubbed, fallback, dead)',
      labelNames: ['outcome'],
      registers,
    });
  }

  onModuleInit(): void {
    this.recorder.onRecorded((record, outcome) => this.recorded(record, outcome));
  }

  /** Resolves when every call recorded so far is counted, or after SETTLE_BOUND_MS; never throws. */
  async settled(): Promise<void> {
    const counting = this.counting;
    if (!counting) return;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, SETTLE_BOUND_MS)));
    await Promise.race([counting, bound]).finally(() => clearTimeout(timer));
  }

  /**
   * Counts the record's outcome at once, and queues the call for its labels, which need the
   * routing table: the records announced together (one batch of CallRecorder's writes) share one
   * lookup of the table, usually cached, so a call costs no promise of its own.
   */
  private recorded(record: CallRecord, outcome: RecordOutcome): void {
    let pending = this.outcomes.get(outcome);
    if (!pending) this.outcomes.set(outcome, (pending = this.records.cell({ outcome })));
    pending.n++;
    this.waiting.push(record);
    this.counting ??= this.catalog.routes().then(
      (routes) => this.count(routes),
      () => this.count(null),
    );
  }

  /** Counts the waiting calls with the names of `routes`, or the last ones known when it is null. */
  private count(routes: readonly ModelRoute[] | null): void {
    const batch = this.waiting;
    this.waiting = [];
    this.counting = null;
    const byId = routes === null ? (this.names?.byId ?? new Map<string, ProviderSeries>()) : this.routeNames(routes);
    for (const record of batch) {
      try {
        this.observe(byId, record);
      } catch (err) {
        this.log.warn(`call ${record.id} not counted in metrics: ${(err as Error).message}`);
      }
    }
  }

  private observe(byId: RouteNames, record: CallRecord): void {
    const provider = (record.providerId === null ? undefined : byId.get(record.providerId)) ?? this.noProvider;
    const series = this.callSeries(provider, modelLabel(provider.models, record.model));
    let calls = series.calls.get(record.status);
    if (!calls)
      series.calls.set(record.status, (calls = this.calls.cell({ provider: provider.name, model: series.model, status: record.status })));
    calls.n++;
    if (record.promptTokens > 0) series.prompt.n += record.promptTokens;
    if (record.completionTokens > 0) series.completion.n += record.completionTokens;
    if (record.billable && record.credits.gt(0)) series.credits.inc(record.credits.toNumber());
    const timing = record.upstreamTiming;
    if (timing) {
      const stream = record.stream ? 1 : 0;
      let children = provider.timing[stream];
      if (!children) {
        const labels = { provider: provider.name, stream: String(record.stream) };
        provider.timing[stream] = children = [this.upstream.labels(labels), this.firstByte.labels(labels)];
      }
      children[0].observe(timing.totalMs / 1000);
      if (timing.firstByteMs !== null) children[1].observe(timing.firstByteMs / 1000);
    }
  }

  /** The series of `model` (a model label) at `provider`, created on first use. */
  private callSeries(provider: ProviderSeries, model: string): CallSeries {
    let series = provider.byModel.get(model);
    if (!series) {
      const labels = { provider: provider.name, model };
      series = {
        model,
        calls: new Map(),
        prompt: this.tokens.cell({ ...labels, kind: 'prompt' }),
        completion: this.tokens.cell({ ...labels, kind: 'completion' }),
        credits: this.credits.labels(labels),
      };
      provider.byModel.set(model, series);
    }
    return series;
  }

  /**
   * provider id → name, enabled models and series, rebuilt when the routing table was reloaded
   * (a new `routes` array), so the series of a table are dropped with it.
   */
  private routeNames(routes: readonly ModelRoute[]): RouteNames {
    if (this.names?.routes === routes) return this.names.byId;
    const byId: RouteNames = new Map();
    for (const r of routes) {
      let entry = byId.get(r.provider.id);
      if (!entry) byId.set(r.provider.id, (entry = newProvider(r.provider.name, new Set())));
      entry.models.add(r.model);
    }
    this.names = { routes, byId };
    return byId;
  }
}

function newProvider(name: string, models: Set<string>): ProviderSeries {
  return { name, models, byModel: new Map(), timing: [null, null] };
}
