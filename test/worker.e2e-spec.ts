/**
 * The worker process (src/worker.ts) boots with its BullMQ processors, checks them against the job
 * table, schedules its jobs, and runs them against real Redis and PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { INestApplicationContext } from '@nestjs/common';
import { getQueueToken } from '@nestjs/bullmq';
import { Queue, QueueEvents } from 'bullmq';
import { Client } from 'pg';
import { JobScheduler } from '../src/jobs/job-scheduler.service';
import { jobTableProblems } from '../src/jobs/job-table-check';
import { JOB_TABLE, scheduledJobs } from '../src/jobs/job-table';
import { ALL_QUEUES, JOB, MAINTENANCE_QUEUE, CALL_RECOVERY_QUEUE } from '../src/jobs/queues';
import { createTestDatabase, TestDatabase } from './support/database';
import { startTestWorker, TestWorker } from './support/worker-harness';

async function runJob(queue: Queue, name: string): Promise<void> {
  const events = new QueueEvents(queue.name, { connection: { url: 'redis://127.0.0.1:6379' }, prefix: queue.opts.prefix });
  await events.waitUntilReady();
  try {
    const job = await queue.add(name, {});
    await job.waitUntilFinished(events, 20_000);
  } finally {
    await events.close();
  }
}

async function sumOfCompleted(queue: Queue, name: string, field: string): Promise<number> {
  const jobs = await queue.getJobs(['completed'], 0, 1000);
  return jobs.filter((j) => j.name === name).reduce((s, j) => s + Number((j.returnvalue as Record<string, number>)[field] ?? 0), 0);
}

describe('worker', () => {
  let db: TestDatabase;
  let worker: INestApplicationContext;
  let testWorker: TestWorker;
  const prefix = `tollgate-test-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    db = await createTestDatabase('worker');
    testWorker = await startTestWorker(db.url, prefix);
    worker = testWorker.app;
  });

  afterAll(async () => {
    await testWorker?.close();
    await db?.drop();
  });

  it('registers one processor per queue, and they agree with the job table', () => {
    const processors = worker.get(JobScheduler).processors();
    expect(processors.map((p) => p.name).sort()).toEqual([
      'AuditRetentionProcessor',
      'CallRecoveryProcessor',
      'CreditsMaintenanceProcessor',
      'GrantExpiryProcessor',
      'ModelHealthProcessor',
      'StatsProcessor',
    ]);
    expect(jobTableProblems(JOB_TABLE, processors)).toEqual([]);
  });

  it('schedules every scheduled job of the table on its queue, with its interval and options, and nothing else', async () => {
    for (const name of ALL_QUEUES) {
      const schedulers = await testWorker.queue(name).getJobSchedulers();
      const expected = scheduledJobs().filter((j) => j.queue === name);
      expect(schedulers.map((s) => s.key).sort()).toEqual(expected.map((j) => j.name).sort());
      for (const j of expected) {
        const s = schedulers.find((x) => x.key === j.name)!;
        expect(s.every).toBe(j.everyMs);
        expect(s.template?.opts).toMatchObject(j.options);
      }
    }
  });

  it('schedules call recovery and runs it: an expired hold becomes an interrupted call billed for its prompt, live holds stay', async () => {
    const queue = worker.get<Queue>(getQueueToken(CALL_RECOVERY_QUEUE));
    const schedulers = await queue.getJobSchedulers();
    expect(schedulers.map((s) => s.key)).toContain(JOB.RECOVER_CALLS);

    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    try {
      const user = randomUUID();
      const [orphan, live] = [randomUUID(), randomUUID()];
      await pg.query(`INSERT INTO users (id, did, email) VALUES ($1, 'zWorkerTest', 'w@example.com')`, [user]);
      await pg.query(`INSERT INTO credit_accounts (user_id, balance, held) VALUES ($1, 50, 12)`, [user]);
      // The orphan: 100 likely prompt tokens at 0.01 = 1 credit (less than its hold of 5).
      await pg.query(
        `INSERT INTO credit_holds (call_id, user_id, amount, expires_at, model, stream, request_id, prompt_tokens, input_rate, created_at) VALUES
         ($1, $3, 5, now() - interval '1 minute', 'mock-model', true, 'req-orphan', 100, 0.01, now() - interval '3 minutes'),
         ($2, $3, 7, now() + interval '1 hour', 'mock-model', false, 'req-live', 10, 0.01, now())`,
        [orphan, live, user],
      );
      await runJob(queue, JOB.RECOVER_CALLS);
      await runJob(queue, JOB.RECOVER_CALLS);
      // The scheduler's own first run may have got there first: count what all runs wrote.
      expect(await sumOfCompleted(queue, JOB.RECOVER_CALLS, 'interrupted')).toBe(1);
      const left = await pg.query('SELECT call_id, amount::text FROM credit_holds');
      expect(left.rows).toEqual([{ call_id: live, amount: '7.0000000000' }]);
      const calls = await pg.query(
        'SELECT id, status, prompt_tokens, completion_tokens, usage_source, credits::text, request_id, stream FROM model_calls',
      );
      expect(calls.rows).toEqual([
        {
          id: orphan,
          status: 'interrupted',
          prompt_tokens: 100,
          completion_tokens: 0,
          usage_source: 'estimate',
          credits: '1.0000000000',
          request_id: 'req-orphan',
          stream: true,
        },
      ]);
      const account = await pg.query('SELECT balance::text, held::text FROM credit_accounts WHERE user_id = $1', [user]);
      expect(account.rows).toEqual([{ balance: '49.0000000000', held: '7.0000000000' }]);
      const tx = await pg.query('SELECT model_call_id, amount::text, balance_after::text FROM credit_transactions WHERE user_id = $1', [
        user,
      ]);
      expect(tx.rows).toEqual([{ model_call_id: orphan, amount: '-1.0000000000', balance_after: '49.0000000000' }]);
    } finally {
      await pg.end();
    }
  });

  it('debits recorded calls whose debit the api never wrote, exactly once', async () => {
    const queue = worker.get<Queue>(getQueueToken(MAINTENANCE_QUEUE));
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    try {
      const user = randomUUID();
      const [old, fresh] = [randomUUID(), randomUUID()];
      await pg.query(`INSERT INTO users (id, did, email) VALUES ($1, 'zSweep', 'sweep@example.com')`, [user]);
      await pg.query(`INSERT INTO credit_accounts (user_id, balance, held) VALUES ($1, 100, 9)`, [user]);
      await pg.query(
        `INSERT INTO model_calls (id, user_id, model, type, status, prompt_tokens, completion_tokens, credits, request_id, created_at) VALUES
         ($1, $3, 'm', 'chatCompletion', 'success', 10, 5, 4.5, 'r1', now() - interval '5 minutes'),
         ($2, $3, 'm', 'chatCompletion', 'success', 10, 5, 2.25, 'r2', now())`,
        [old, fresh, user],
      );
      await pg.query(
        `INSERT INTO pending_debits (call_id, user_id, credits, model, created_at) VALUES
         ($1, $3, 4.5, 'm', now() - interval '5 minutes'), ($2, $3, 2.25, 'm', now())`,
        [old, fresh, user],
      );
      await pg.query(`INSERT INTO credit_holds (call_id, user_id, amount, expires_at) VALUES ($1, $2, 9, now() + interval '1 hour')`, [
        old,
        user,
      ]);
      await runJob(queue, JOB.APPLY_PENDING_DEBITS);
      await runJob(queue, JOB.APPLY_PENDING_DEBITS);
      expect(await sumOfCompleted(queue, JOB.APPLY_PENDING_DEBITS, 'debited')).toBe(1);
      const balance = await pg.query('SELECT balance::text, held::text FROM credit_accounts WHERE user_id = $1', [user]);
      expect(balance.rows[0]).toEqual({ balance: '95.5000000000', held: '0.0000000000' });
      const tx = await pg.query('SELECT model_call_id, amount::text, balance_after::text FROM credit_transactions WHERE user_id = $1', [
        user,
      ]);
      expect(tx.rows).toEqual([{ model_call_id: old, amount: '-4.5000000000', balance_after: '95.5000000000' }]);
      const pending = await pg.query('SELECT call_id FROM pending_debits');
      expect(pending.rows).toEqual([{ call_id: fresh }]); // younger than the grace period: the api's to debit
      expect((await pg.query('SELECT count(*)::int AS n FROM credit_holds WHERE call_id = $1', [old])).rows[0].n).toBe(0);
    } finally {
      await pg.end();
    }
  });
});
