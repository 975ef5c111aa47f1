/**
 * Queue names, job names and default job options: the one place they are defined. Processors
 * live with their module; only the worker registers them.
 */
export const MAINTENANCE_QUEUE = 'tollgate-maintenance';
/** Model health checks (providers module): one job per model, deduped by jobId. */
export const MODEL_HEALTH_QUEUE = 'tollgate-model-health';
/** Usage statistics (model-calls module): hourly aggregation, recalculation. */
export const STATS_QUEUE = 'tollgate-stats';
/**
 * Credit grant expiry (credits module). Its own queue, not MAINTENANCE_QUEUE: a BullMQ queue
 * hands any job to any of its workers, and the maintenance queue's processor fails jobs it does
 * not know, so each processor class needs a queue of its own.
 */
export const CREDIT_EXPIRY_QUEUE = 'tollgate-credit-expiry';
/** Call recording's recovery (model-calls module): fallback drain, interrupted calls. */
export const CALL_RECOVERY_QUEUE = 'tollgate-call-recovery';

/** Every queue; the api registers them as producers, the worker as consumers. */
export const ALL_QUEUES = [MAINTENANCE_QUEUE, MODEL_HEALTH_QUEUE, STATS_QUEUE, CREDIT_EXPIRY_QUEUE, CALL_RECOVERY_QUEUE] as const;

export const JOB = {
  /**
   * Drains call records from the Redis fallback into PostgreSQL, then records calls whose hold
   * lease expired (their api process died) as `interrupted` (CALL_RECOVERY_QUEUE).
   */
  RECOVER_CALLS: 'model-calls.recover',
  /** Debits recorded calls whose debit an api process did not write (it died in between). */
  APPLY_PENDING_DEBITS: 'credits.apply-pending-debits',
  /** Expires credit grants whose expiresAt passed: unconsumed remainder → `expiry` transaction. */
  EXPIRE_CREDIT_GRANTS: 'credit-grants.expire',
  /** Checks one model rate upstream: records model status, latency and credential health (MODEL_HEALTH_QUEUE). */
  MODEL_HEALTH_CHECK: 'model-health.check',
  /** Folds closed hours (and calls recorded late) of the call log into model_call_hourly_stats. */
  AGGREGATE_HOURLY_STATS: 'model-call-stats.aggregate-hourly',
  /** Rebuilds one user's hourly stats in a time range from the call log (admin, seed 004). */
  RECALCULATE_USER_STATS: 'model-call-stats.recalculate-user',
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

/**
 * How often call recovery runs (ms): how long a record can wait in the fallback once PostgreSQL is
 * back, and how long after its lease expired an interrupted call is recorded.
 */
export const RECOVER_CALLS_EVERY_MS = 10_000;

/** How often expired credit grants are expired (ms): a due grant counts at most this long. */
export const EXPIRE_CREDIT_GRANTS_EVERY_MS = 60_000;

/** How often the pending-debit sweep runs (ms). */
export const APPLY_PENDING_DEBITS_EVERY_MS = 30_000;

/** A pending debit younger than this is the api's to write; the sweep leaves it alone (ms). */
export const PENDING_DEBIT_GRACE_MS = 30_000;
