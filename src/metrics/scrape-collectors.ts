import { getQueueToken } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Queue } from 'bullmq';
import { Gauge } from 'prom-client';
import { ALL_QUEUES } from '../jobs/queues';
import { METRIC_PREFIX, MetricsRegistry } from './metrics-registry';
import { MetricsRepository, SCRAPE_STATEMENT_TIMEOUT_MS } from './metrics.repository';

/** Longest a scrape waits for one collector (ms): a slow Redis or PostgreSQL never hangs it. */
export const COLLECT_BOUND_MS = 2_000;

/** Job states reported per queue. */
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** The collectors read on each scrape; each is bounded and reports its own error. */
export type CollectorName = 'queues' | 'database';

/**
 * Metrics read at scrape time from Redis and PostgreSQL, each source within COLLECT_BOUND_MS:
 * - `tollgate_queue_jobs{queue, state}`: BullMQ jobs waiting, active, delayed, failed per queue;
 * - `tollgate_ledger_pending_debits` and `tollgate_ledger_oldest_pending_debit_age_seconds`;
 * - `tollgate_credential_healthy{provider, credential}` 1/0 for each active credential of an
 *   enabled provider (its name, never its secret);
 * - `tollgate_metrics_collector_error{collector}` 1 when that source failed or did not answer in
 *   time on this scrape (its metrics are then left out, not shown stale), else 0.
 * A source still busy from an earlier scrape is not asked again: the scrape waits on the same
 * read, so a hung Redis costs one pending read, not one per scrape.
 */
@Injectable()
export class ScrapeCollectors {
  private readonly queueJobs: Gauge<'queue' | 'state'>;
  private readonly pendingDebits: Gauge;
  private readonly oldestPendingDebit: Gauge;
  private readonly credentialHealthy: Gauge<'provider' | 'credential'>;
  private readonly collectorError: Gauge<'collector'>;
  private readonly inFlight = new Map<CollectorName, Promise<unknown>>();

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly repository: MetricsRepository,
    metrics: MetricsRegistry,
  ) {
    // read at scrape time, the same from any process: never summed over api workers
    const registers = [metrics.scrapeRegistry];
    this.queueJobs = new Gauge({
      name: `${METRIC_PREFIX}queue_jobs`,
      help: 'BullMQ jobs per queue and state (waiting, active, delayed, failed), read on scrape',
      labelNames: ['queue', 'state'],
      registers,
    });
    this.pendingDebits = new Gauge({
      name: `${METRIC_PREFIX}ledger_pending_debits`,
      help: 'Debits of recorded calls not yet applied to balances (pending_debits rows), read on scrape',
      registers,
    });
    this.oldestPendingDebit = new Gauge({
      name: `${METRIC_PREFIX}ledger_oldest_pending_debit_age_seconds`,
      help: 'Age of the oldest debit not yet applied (seconds; 0 when none), read on scrape',
      registers,
    });
    this.credentialHealthy = new Gauge({
      name: `${METRIC_PREFIX}credential_healthy`,
      help: 'Health of each active provider credential (1 healthy, 0 unhealthy), by provider and credential name',
      labelNames: ['provider', 'credential'],
      registers,
    });
    this.collectorError = new Gauge({
      name: `${METRIC_PREFIX}metrics_collector_error`,
      help: 'Whether a scrape-time source (queues: Redis, database: PostgreSQL) failed or timed out on the last scrape (1) or not (0)',
      labelNames: ['collector'],
      registers,
    });
  }

  /** Reads every source, each within COLLECT_BOUND_MS, and updates its metrics. Never throws. */
  async refresh(): Promise<void> {
    await Promise.all([
      this.collect(
        'queues',
        () => this.readQueues(),
        (counts) => {
          this.queueJobs.reset();
          for (const [queue, states] of counts) for (const state of QUEUE_STATES) this.queueJobs.set({ queue, state }, states[state] ?? 0);
        },
        () => this.queueJobs.reset(),
      ),
      this.collect(
        'database',
        () => this.repository.read(Math.min(COLLECT_BOUND_MS, SCRAPE_STATEMENT_TIMEOUT_MS * 2)),
        (reading) => {
          this.pendingDebits.set(reading.pendingDebits);
          this.oldestPendingDebit.set(reading.oldestPendingDebitSeconds);
          this.credentialHealthy.reset();
          for (const c of reading.credentials)
            this.credentialHealthy.set({ provider: c.provider, credential: c.credential }, c.healthy ? 1 : 0);
        },
        () => {
          this.pendingDebits.reset();
          this.oldestPendingDebit.reset();
          this.credentialHealthy.reset();
        },
      ),
    ]);
  }

  private async collect<T>(name: CollectorName, read: () => Promise<T>, apply: (value: T) => void, clear: () => void): Promise<void> {
    let running = this.inFlight.get(name) as Promise<T> | undefined;
    if (!running) {
      running = read();
      const current = running;
      this.inFlight.set(name, current);
      void current.then(
        () => this.inFlight.delete(name),
        () => this.inFlight.delete(name),
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<{ ok: false }>((resolve) => (timer = setTimeout(() => resolve({ ok: false }), COLLECT_BOUND_MS)));
    const result = await Promise.race([
      running.then(
        (value) => ({ ok: true as const, value }),
        () => ({ ok: false as const }),
      ),
      timedOut,
    ]).finally(() => clearTimeout(timer));
    if (result.ok) {
      apply(result.value);
      this.collectorError.set({ collector: name }, 0);
    } else {
      clear();
      this.collectorError.set({ collector: name }, 1);
    }
  }

  private async readQueues(): Promise<Map<string, Record<string, number>>> {
    const counts = await Promise.all(
      ALL_QUEUES.map(async (name) => {
        const queue = this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
        return [name, await queue.getJobCounts(...QUEUE_STATES)] as const;
      }),
    );
    return new Map(counts);
  }
}
