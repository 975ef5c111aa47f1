import type { JobsOptions } from 'bullmq';
import {
  AUDIT_QUEUE,
  CALL_RECOVERY_QUEUE,
  CREDIT_EXPIRY_QUEUE,
  JOB,
  JobName,
  MAINTENANCE_QUEUE,
  MODEL_HEALTH_QUEUE,
  QueueName,
  STATS_QUEUE,
} from './queues';

/** What BullMQ does with a job of this kind: retries, and how many finished jobs it keeps. */
export type JobRunOptions = Pick<JobsOptions, 'attempts' | 'backoff' | 'removeOnComplete' | 'removeOnFail'>;

export interface JobSpec<D = unknown> {
  /** The queue the job is added to; the one processor that handles the job consumes it. */
  readonly queue: QueueName;
  readonly options: JobRunOptions;
  /**
   * Job id computed from the payload. BullMQ does not add a job whose id is already in the queue,
   * so this dedupes jobs that are waiting or running. On-demand jobs only: BullMQ names the jobs
   * of a schedule itself.
   */
  jobId?(data: D): string;
  /** Milliseconds between two runs, scheduled by the worker at boot; null: added on demand. */
  readonly everyMs: number | null;
}

/** The table's type as the worker's boot check sees it (any job name, any payload). */
export type JobTable = Readonly<Record<string, JobSpec>>;

/**
 * Retried jobs: 3 attempts 1 s then 2 s apart; the last 1000 completed and 5000 failed jobs stay
 * in Redis for inspection. Also the queues' default, for a job added without jobOptions().
 */
export const DEFAULT_JOB_OPTIONS: JobRunOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: 1000,
  removeOnFail: 5000,
};

/**
 * Every job: its queue, its options and its schedule, the one place they are defined (what each
 * job does and why it is safe to run twice: docs/jobs.md). The worker schedules the jobs with an
 * `everyMs` at boot (JobScheduler) and refuses to boot unless each job has exactly one processor,
 * on the job's queue (./job-table-check.ts). Producers take options from jobOptions().
 */
export const JOB_TABLE = {
  /** Drains call records from the Redis fallback into PostgreSQL, then records calls of dead api processes as interrupted. */
  [JOB.RECOVER_CALLS]: {
    queue: CALL_RECOVERY_QUEUE,
    options: DEFAULT_JOB_OPTIONS,
    // How long a record can wait in the fallback once PostgreSQL is back, and how long after its
    // lease expired an interrupted call is recorded.
    everyMs: 10_000,
  },
  /** Debits recorded calls whose debit an api process did not write (it died in between). */
  [JOB.APPLY_PENDING_DEBITS]: {
    queue: MAINTENANCE_QUEUE,
    options: DEFAULT_JOB_OPTIONS,
    everyMs: 30_000,
  },
  /** Expires credit grants whose expiresAt passed: unconsumed remainder → `expiry` transaction. */
  [JOB.EXPIRE_CREDIT_GRANTS]: {
    queue: CREDIT_EXPIRY_QUEUE,
    options: DEFAULT_JOB_OPTIONS,
    // A grant past its expiry counts in balances at most this long.
    everyMs: 60_000,
  },
  /** Folds closed hours (and calls recorded late) of the call log into model_call_hourly_stats. */
  [JOB.AGGREGATE_HOURLY_STATS]: {
    queue: STATS_QUEUE,
    options: DEFAULT_JOB_OPTIONS,
    // Readers stay exact in between: they add the not-yet-aggregated tail of the call log.
    everyMs: 5 * 60_000,
  },
  /** Checks one model rate upstream; records model status, latency and credential health. Payload {rateId, requestId}. */
  [JOB.MODEL_HEALTH_CHECK]: {
    queue: MODEL_HEALTH_QUEUE,
    // One attempt: a failed check has recorded its failure. Finished checks leave the queue, so
    // the job id dedupes only checks still waiting or running.
    options: { attempts: 1, removeOnComplete: true, removeOnFail: true },
    jobId: (data: { rateId: string }) => `model-health-${data.rateId}`,
    everyMs: null, // GET /ai-providers/test-models
  },
  /** Rebuilds one user's hourly stats in a time range from the call log. Payload {userId, start, end, dryRun}. */
  [JOB.RECALCULATE_USER_STATS]: {
    queue: STATS_QUEUE,
    // One attempt: the admin who asked waits for the result and can ask again.
    options: { attempts: 1, removeOnComplete: 1000, removeOnFail: 5000 },
    everyMs: null, // POST /user/recalculate-stats
  },
  /** Deletes audit entries older than AUDIT_RETENTION_DAYS (0 = keep forever), 10,000 rows per statement. */
  [JOB.AUDIT_RETENTION]: {
    queue: AUDIT_QUEUE,
    options: DEFAULT_JOB_OPTIONS,
    everyMs: 24 * 60 * 60_000,
  },
} satisfies Record<JobName, JobSpec>;

type Table = typeof JOB_TABLE;

/** The payload a job's id is computed from, for the jobs that have a jobId rule. */
type JobIdData<N extends JobName> = Table[N] extends { jobId: (data: infer D) => string } ? D : never;

/**
 * Options to add job `name` with: the table's options, plus the job id from `data` for a job
 * with a jobId rule (then `data` is required).
 */
export function jobOptions<N extends JobName>(name: N, ...data: [JobIdData<N>] extends [never] ? [] : [data: JobIdData<N>]): JobsOptions {
  const spec: JobSpec = JOB_TABLE[name];
  const opts: JobsOptions = { ...spec.options };
  if (spec.jobId) opts.jobId = spec.jobId(data[0]);
  return opts;
}

export interface ScheduledJob {
  name: string;
  queue: string;
  everyMs: number;
  options: JobRunOptions;
}

/** The jobs of `table` that run on a schedule. */
export function scheduledJobs(table: JobTable = JOB_TABLE): ScheduledJob[] {
  return Object.entries(table)
    .filter(([, spec]) => spec.everyMs !== null)
    .map(([name, spec]) => ({ name, queue: spec.queue, everyMs: spec.everyMs as number, options: spec.options }));
}
