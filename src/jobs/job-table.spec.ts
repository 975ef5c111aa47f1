import 'reflect-metadata';
import { AuditRetentionProcessor } from '../audit/audit-retention.processor';
import { BullRegistrar, getQueueToken, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { DiscoveryService, ModuleRef } from '@nestjs/core';
import { CreditsMaintenanceProcessor } from '../credits/credits-maintenance.processor';
import { GrantExpiryProcessor } from '../credits/grant-expiry.processor';
import { CallRecoveryProcessor } from '../model-calls/call-recovery.processor';
import { StatsProcessor } from '../model-calls/stats.processor';
import { ModelHealthProcessor } from '../providers/model-health.processor';
import { JobScheduler } from './job-scheduler.service';
import { assertJobTable, describeProcessor, jobTableProblems, ProcessorInfo } from './job-table-check';
import { DEFAULT_JOB_OPTIONS, JOB_TABLE, jobOptions, JobTable, scheduledJobs } from './job-table';
import {
  ALL_QUEUES,
  AUDIT_QUEUE,
  CALL_RECOVERY_QUEUE,
  CREDIT_EXPIRY_QUEUE,
  JOB,
  MAINTENANCE_QUEUE,
  MODEL_HEALTH_QUEUE,
  STATS_QUEUE,
} from './queues';

const REAL = [
  CreditsMaintenanceProcessor,
  GrantExpiryProcessor,
  CallRecoveryProcessor,
  StatsProcessor,
  ModelHealthProcessor,
  AuditRetentionProcessor,
];
const real = (): ProcessorInfo[] => REAL.map((p) => describeProcessor(p)!);

/** The table without `name`. */
function without(name: string): JobTable {
  const t: Record<string, JobTable[string]> = { ...JOB_TABLE };
  delete t[name];
  return t;
}

@Processor(STATS_QUEUE)
class SecondStatsProcessor extends WorkerHost {
  static readonly handles = ['model-call-stats.compact'];
  async process(): Promise<void> {}
}

@Processor('tollgate-rogue')
class RogueProcessor extends WorkerHost {
  static readonly handles = [JOB.RECOVER_CALLS];
  async process(): Promise<void> {}
}

@Processor('tollgate-silent')
class NoHandlesProcessor extends WorkerHost {
  async process(): Promise<void> {}
}

class NotAProcessor {}

describe('job table', () => {
  it('has every job name, each on a registered queue', () => {
    expect(Object.keys(JOB_TABLE).sort()).toEqual(Object.values(JOB).sort());
    for (const spec of Object.values(JOB_TABLE)) expect(ALL_QUEUES).toContain(spec.queue);
  });

  it('schedules the periodic jobs and leaves the on-demand ones to their producers', () => {
    expect(
      scheduledJobs()
        .map((j) => [j.name, j.queue, j.everyMs])
        .sort(),
    ).toEqual(
      [
        [JOB.RECOVER_CALLS, CALL_RECOVERY_QUEUE, 10_000],
        [JOB.APPLY_PENDING_DEBITS, MAINTENANCE_QUEUE, 30_000],
        [JOB.EXPIRE_CREDIT_GRANTS, CREDIT_EXPIRY_QUEUE, 60_000],
        [JOB.AGGREGATE_HOURLY_STATS, STATS_QUEUE, 300_000],
        [JOB.AUDIT_RETENTION, AUDIT_QUEUE, 86_400_000],
      ].sort(),
    );
  });

  it('gives producers the options of the table, with the job id of a job that has a jobId rule', () => {
    expect(jobOptions(JOB.MODEL_HEALTH_CHECK, { rateId: 'r1' })).toEqual({
      attempts: 1,
      removeOnComplete: true,
      removeOnFail: true,
      jobId: 'model-health-r1',
    });
    expect(jobOptions(JOB.RECALCULATE_USER_STATS)).toEqual({ attempts: 1, removeOnComplete: 1000, removeOnFail: 5000 });
    expect(jobOptions(JOB.RECOVER_CALLS)).toEqual(DEFAULT_JOB_OPTIONS);
    // a copy: a producer that changes it does not change the table
    expect(jobOptions(JOB.RECOVER_CALLS)).not.toBe(DEFAULT_JOB_OPTIONS);
    // @ts-expect-error a job with a jobId rule needs the payload its id comes from
    expect(() => jobOptions(JOB.MODEL_HEALTH_CHECK)).toThrow(TypeError);
  });
});

describe('job table check', () => {
  it('reads a processor class: its @Processor queue and its static handles', () => {
    expect(describeProcessor(StatsProcessor)).toEqual({
      name: 'StatsProcessor',
      queue: STATS_QUEUE,
      handles: [JOB.AGGREGATE_HOURLY_STATS, JOB.RECALCULATE_USER_STATS],
    });
    expect(describeProcessor(NoHandlesProcessor)).toEqual({ name: 'NoHandlesProcessor', queue: 'tollgate-silent', handles: null });
    expect(describeProcessor(NotAProcessor)).toBeNull();
  });

  it('passes for the real table and processors', () => {
    expect(jobTableProblems(JOB_TABLE, real())).toEqual([]);
    expect(() => assertJobTable(JOB_TABLE, real())).not.toThrow();
  });

  it('refuses a table without a job that a processor handles', () => {
    expect(jobTableProblems(without(JOB.EXPIRE_CREDIT_GRANTS), real())).toEqual([
      'processor GrantExpiryProcessor handles job credit-grants.expire, which is not in the job table',
    ]);
  });

  it('refuses a job that no processor handles', () => {
    const table: JobTable = {
      ...JOB_TABLE,
      'model-calls.compact': { queue: CALL_RECOVERY_QUEUE, options: DEFAULT_JOB_OPTIONS, everyMs: null },
    };
    expect(jobTableProblems(table, real())).toEqual(['job model-calls.compact: no processor handles it']);
    expect(
      jobTableProblems(
        JOB_TABLE,
        real().filter((p) => p.name !== 'ModelHealthProcessor'),
      ),
    ).toEqual(['job model-health.check: no processor handles it']);
  });

  it('refuses a job whose queue is not its processor’s', () => {
    const table: JobTable = {
      ...JOB_TABLE,
      [JOB.APPLY_PENDING_DEBITS]: { ...JOB_TABLE[JOB.APPLY_PENDING_DEBITS], queue: CREDIT_EXPIRY_QUEUE },
    };
    expect(jobTableProblems(table, real())).toEqual([
      'job credits.apply-pending-debits: goes to queue tollgate-credit-expiry, but its processor CreditsMaintenanceProcessor consumes tollgate-maintenance',
    ]);
  });

  it('refuses a job handled by two processors, or a processor registered twice', () => {
    expect(jobTableProblems(JOB_TABLE, [...real(), describeProcessor(RogueProcessor)!])).toEqual([
      'job model-calls.recover: handled by 2 processors (CallRecoveryProcessor, RogueProcessor)',
    ]);
    expect(jobTableProblems(JOB_TABLE, [...real(), describeProcessor(CallRecoveryProcessor)!])).toEqual([
      'queue tollgate-call-recovery is consumed by 2 processors (CallRecoveryProcessor, CallRecoveryProcessor); each processor needs a queue of its own',
      'job model-calls.recover: handled by 2 processors (CallRecoveryProcessor, CallRecoveryProcessor)',
    ]);
  });

  it('refuses two processors on one queue, and a processor without handles or queue', () => {
    const table: JobTable = {
      ...JOB_TABLE,
      'model-call-stats.compact': { queue: STATS_QUEUE, options: DEFAULT_JOB_OPTIONS, everyMs: null },
    };
    expect(jobTableProblems(table, [...real(), describeProcessor(SecondStatsProcessor)!])).toEqual([
      'queue tollgate-stats is consumed by 2 processors (StatsProcessor, SecondStatsProcessor); each processor needs a queue of its own',
    ]);
    expect(
      jobTableProblems(JOB_TABLE, [...real(), describeProcessor(NoHandlesProcessor)!, { name: 'Nameless', queue: undefined, handles: [] }]),
    ).toEqual([
      'processor NoHandlesProcessor declares no `static handles`',
      'processor Nameless names no queue in @Processor()',
      'processor Nameless declares no `static handles`',
    ]);
  });

  it('refuses a bad schedule, a scheduled job with a jobId rule and an unregistered queue', () => {
    const table: JobTable = {
      ...JOB_TABLE,
      [JOB.RECOVER_CALLS]: { ...JOB_TABLE[JOB.RECOVER_CALLS], everyMs: 0 },
      [JOB.APPLY_PENDING_DEBITS]: { ...JOB_TABLE[JOB.APPLY_PENDING_DEBITS], jobId: () => 'sweep' },
    };
    expect(jobTableProblems(table, real())).toEqual([
      'job model-calls.recover: everyMs must be a positive integer or null, not 0',
      'job credits.apply-pending-debits: a scheduled job cannot have a jobId rule',
    ]);
    expect(
      jobTableProblems(
        JOB_TABLE,
        real(),
        ALL_QUEUES.filter((q) => q !== MODEL_HEALTH_QUEUE),
      ),
    ).toEqual(['job model-health.check: queue tollgate-model-health is not registered']);
  });

  it('throws with every problem listed', () => {
    expect(() =>
      assertJobTable(
        without(JOB.MODEL_HEALTH_CHECK),
        real().filter((p) => p.name !== 'StatsProcessor'),
      ),
    ).toThrow(
      [
        'worker: the job table (src/jobs/job-table.ts) and the processors disagree; refusing to start:',
        '- processor ModelHealthProcessor handles job model-health.check, which is not in the job table',
        '- job model-call-stats.aggregate-hourly: no processor handles it',
        '- job model-call-stats.recalculate-user: no processor handles it',
      ].join('\n'),
    );
  });
});

describe('JobScheduler', () => {
  function scheduler(classes: (abstract new (...args: never[]) => unknown)[], schedulersInRedis: string[] = []) {
    const discovery = {
      getProviders: () => [...classes, NotAProcessor].map((metatype) => ({ metatype, inject: undefined, instance: undefined })),
    } as unknown as DiscoveryService;
    const registrar = { register: jest.fn() };
    const queues = new Map(
      ALL_QUEUES.map((name) => [
        getQueueToken(name),
        {
          upsertJobScheduler: jest.fn(),
          getJobSchedulers: jest.fn(async () =>
            schedulersInRedis.filter((k) => k.startsWith(name)).map((k) => ({ key: k.slice(name.length + 1) })),
          ),
          removeJobScheduler: jest.fn(),
        },
      ]),
    );
    const moduleRef = { get: (token: string) => queues.get(token) } as unknown as ModuleRef;
    return {
      s: new JobScheduler(discovery, registrar as unknown as BullRegistrar, moduleRef),
      registrar,
      queue: (name: string) => queues.get(getQueueToken(name))!,
    };
  }

  it('finds the processors among the providers', () => {
    expect(scheduler(REAL).s.processors()).toEqual(real());
  });

  it('refuses to boot, starting no processor and scheduling nothing, when the check fails', async () => {
    const { s, registrar, queue } = scheduler([...REAL, RogueProcessor]);
    await expect(s.onApplicationBootstrap()).rejects.toThrow(
      'job model-calls.recover: handled by 2 processors (CallRecoveryProcessor, RogueProcessor)',
    );
    expect(registrar.register).not.toHaveBeenCalled();
    expect(queue(CALL_RECOVERY_QUEUE).upsertJobScheduler).not.toHaveBeenCalled();
  });

  it('starts the processors, upserts every schedule of the table and removes schedules it no longer has', async () => {
    const { s, registrar, queue } = scheduler(REAL, [
      `${STATS_QUEUE}:${JOB.AGGREGATE_HOURLY_STATS}`,
      `${STATS_QUEUE}:model-call-stats.old`,
    ]);
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      await s.onApplicationBootstrap();
      expect(warn).toHaveBeenCalledWith(
        'removed schedule model-call-stats.old from queue tollgate-stats: not a scheduled job of the job table',
      );
    } finally {
      warn.mockRestore();
    }
    expect(registrar.register).toHaveBeenCalledTimes(1);
    expect(queue(CALL_RECOVERY_QUEUE).upsertJobScheduler).toHaveBeenCalledWith(
      JOB.RECOVER_CALLS,
      { every: 10_000 },
      { name: JOB.RECOVER_CALLS, opts: DEFAULT_JOB_OPTIONS },
    );
    expect(queue(STATS_QUEUE).upsertJobScheduler).toHaveBeenCalledWith(
      JOB.AGGREGATE_HOURLY_STATS,
      { every: 300_000 },
      { name: JOB.AGGREGATE_HOURLY_STATS, opts: DEFAULT_JOB_OPTIONS },
    );
    expect(queue(MODEL_HEALTH_QUEUE).upsertJobScheduler).not.toHaveBeenCalled();
    expect(queue(STATS_QUEUE).removeJobScheduler).toHaveBeenCalledWith('model-call-stats.old');
    expect(queue(STATS_QUEUE).removeJobScheduler).toHaveBeenCalledTimes(1);
  });
});
