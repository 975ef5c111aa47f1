/**
 * Queue names, job names and default job options: the one place they are defined
 * (STYLE.md "Jobs"). Processors live with their module; only the worker registers them.
 */
export const MAINTENANCE_QUEUE = 'tollgate-maintenance';
/** Model health checks (providers module): one job per model, deduped by jobId. */
export const MODEL_HEALTH_QUEUE = 'tollgate-model-health';
/** Usage statistics (model-calls module): hourly aggregation, recalculation. */
export const STATS_QUEUE = 'tollgate-stats';

/** Every queue; the api registers them as producers, the worker as consumers. */
export const ALL_QUEUES = [MAINTENANCE_QUEUE, MODEL_HEALTH_QUEUE, STATS_QUEUE] as const;

export const JOB = {
  /** Deletes credit holds past their expiry (left by a process that died mid-call). */
  RELEASE_EXPIRED_HOLDS: 'credit-holds.release-expired',
  /** Debits recorded calls whose debit an api process did not write (it died in between). */
  APPLY_PENDING_DEBITS: 'credits.apply-pending-debits',
} as const;

export type JobName = (typeof JOB)[keyof typeof JOB];

/** Every job name the worker must have a handler for; it refuses to boot otherwise. */
export const ALL_JOB_NAMES: readonly JobName[] = Object.values(JOB);

export const DEFAULT_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: 1000,
  removeOnFail: 5000,
} as const;

/** How often the hold sweep runs (ms). */
export const RELEASE_EXPIRED_HOLDS_EVERY_MS = 5 * 60_000;

/** How often the pending-debit sweep runs (ms). */
export const APPLY_PENDING_DEBITS_EVERY_MS = 30_000;

/** A pending debit younger than this is the api's to write; the sweep leaves it alone (ms). */
export const PENDING_DEBIT_GRACE_MS = 30_000;
