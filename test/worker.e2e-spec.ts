/**
 * The worker process (src/worker.ts) boots with its BullMQ processors, schedules its jobs, and
 * runs them against real Redis and PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { INestApplicationContext } from '@nestjs/common';
import { getQueueToken } from '@nestjs/bullmq';
import { NestFactory } from '@nestjs/core';
import { Queue, QueueEvents } from 'bullmq';
import { Client } from 'pg';
import { JOB, MAINTENANCE_QUEUE } from '../src/jobs/queues';
import { assertEveryJobHasAHandler, WorkerModule } from '../src/worker.module';
import { createTestDatabase, TestDatabase } from './support/database';
import { TEST_ENCRYPTION_KEYS, TEST_JWT_SECRET } from './support/gateway-harness';

describe('worker', () => {
  let db: TestDatabase;
  let worker: INestApplicationContext;
  const prefix = `tollgate-test-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    db = await createTestDatabase('worker');
    const saved = { ...process.env };
    Object.assign(process.env, {
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
      JWT_SECRET: TEST_JWT_SECRET,
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'warn',
    });
    try {
      worker = await NestFactory.createApplicationContext(WorkerModule, { logger: false });
      await worker.init();
    } finally {
      process.env = saved;
    }
  });

  afterAll(async () => {
    const queue = worker?.get<Queue>(getQueueToken(MAINTENANCE_QUEUE));
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await worker?.close();
    await db?.drop();
  });

  it('has a processor for every job name', () => {
    expect(() => assertEveryJobHasAHandler()).not.toThrow();
  });

  it('schedules the expired-hold sweep and runs it: expired holds go, live ones stay', async () => {
    const queue = worker.get<Queue>(getQueueToken(MAINTENANCE_QUEUE));
    const schedulers = await queue.getJobSchedulers();
    expect(schedulers.map((s) => s.key)).toContain(JOB.RELEASE_EXPIRED_HOLDS);

    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    try {
      const user = randomUUID();
      await pg.query(`INSERT INTO users (id, did, email) VALUES ($1, 'zWorkerTest', 'w@example.com')`, [user]);
      await pg.query(
        `INSERT INTO credit_holds (call_id, user_id, amount, expires_at) VALUES
         ($1, $3, 5, now() - interval '1 minute'), ($2, $3, 7, now() + interval '1 hour')`,
        [randomUUID(), randomUUID(), user],
      );
      const events = new QueueEvents(MAINTENANCE_QUEUE, { connection: { url: 'redis://127.0.0.1:6379' }, prefix });
      await events.waitUntilReady();
      const job = await queue.add(JOB.RELEASE_EXPIRED_HOLDS, {});
      const result = await job.waitUntilFinished(events, 20_000);
      await events.close();
      expect(result).toEqual({ deleted: 1 });
      const left = await pg.query('SELECT amount::text FROM credit_holds');
      expect(left.rows).toEqual([{ amount: '7.0000000000' }]);
    } finally {
      await pg.end();
    }
  });
});
