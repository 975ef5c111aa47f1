/**
 * The worker process (src/worker.module.ts) booted in a test against a test database, with the
 * queue prefix of the api under test so jobs the api enqueues reach it.
 */
import { getQueueToken } from '@nestjs/bullmq';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Queue } from 'bullmq';
import { ALL_QUEUES } from '../../src/jobs/queues';
import { WorkerModule } from '../../src/worker.module';
import { TEST_ENCRYPTION_KEYS, TEST_JWT_SECRET } from './gateway-harness';

export interface TestWorker {
  app: INestApplicationContext;
  queue(name: string): Queue;
  /** Obliterates every queue under the prefix and closes the worker. */
  close(): Promise<void>;
}

export async function startTestWorker(databaseUrl: string, queuePrefix: string, env: Record<string, string> = {}): Promise<TestWorker> {
  const saved = { ...process.env };
  Object.assign(process.env, {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
    JWT_SECRET: TEST_JWT_SECRET,
    QUEUE_PREFIX: queuePrefix,
    LOG_LEVEL: 'warn',
    ...env,
  });
  let app: INestApplicationContext;
  try {
    app = await NestFactory.createApplicationContext(WorkerModule, { logger: false });
    await app.init();
  } finally {
    process.env = saved;
  }
  const queue = (name: string) => app.get<Queue>(getQueueToken(name));
  return {
    app,
    queue,
    async close() {
      for (const name of ALL_QUEUES)
        await queue(name)
          .obliterate({ force: true })
          .catch(() => undefined);
      await app.close();
    },
  };
}
