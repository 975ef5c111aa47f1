/**
 * Queue names and job names. They are Redis keys and job names of jobs already in Redis: never
 * rename them. Which queue a job goes to, its options and its schedule are in ./job-table.ts.
 */
export const MAINTENANCE_QUEUE = 'tollgate-maintenance';
/** Model health checks (providers module): one job per model, deduped by jobId. */
export const MODEL_HEALTH_QUEUE = 'tollgate-model-health';
/** Usage statistics (model-calls module): hourly aggregation, recalculation. */
export const STATS_QUEUE = 'tollgate-stats';
/**
 * Credit grant expiry (credits module). Its own queue, not MAINTENANCE_QUEUE: a BullMQ queue
 * hands any job to any of its workers, and a processor fails jobs it does not know, so each
 * processor class needs a queue of its own (the worker's boot check enforces it).
 */
export const CREDIT_EXPIRY_QUEUE = 'tollgate-credit-expiry';
/** Call recording's recovery (model-calls module): fallback drain, interrupted calls. */
export const CALL_RECOVERY_QUEUE = 'tollgate-call-recovery';

/** The audit log's retention (audit module). */
export const AUDIT_QUEUE = 'tollgate-audit';

/** Every queue; the api registers them as producers, the worker as consumers. */
export const ALL_QUEUES = [
  MAINTENANCE_QUEUE,
  MODEL_HEALTH_QUEUE,
  STATS_QUEUE,
  CREDIT_EXPIRY_QUEUE,
  CALL_RECOVERY_QUEUE,
  AUDIT_QUEUE,
] as const;

export type QueueName = (typeof ALL_QUEUES)[number];

/** Job names; what each does, its queue, options and schedule: JOB_TABLE (./job-table.ts). */
export const JOB = {
  RECOVER_CALLS: 'model-calls.recover',
  APPLY_PENDING_DEBITS: 'credits.apply-pending-debits',
  EXPIRE_CREDIT_GRANTS: 'credit-grants.expire',
  MODEL_HEALTH_CHECK: 'model-health.check',
  AGGREGATE_HOURLY_STATS: 'model-call-stats.aggregate-hourly',
  RECALCULATE_USER_STATS: 'model-call-stats.recalculate-user',
  AUDIT_RETENTION: 'audit.retention',
} as const;

export type JobName = (typeof JOB)[keyof typeof JOB];

/** Every job name. */
export const ALL_JOB_NAMES: readonly JobName[] = Object.values(JOB);
