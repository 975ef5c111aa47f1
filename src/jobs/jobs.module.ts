import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { JobScheduler } from './job-scheduler.service';
import { DEFAULT_JOB_OPTIONS } from './job-table';
import { ALL_QUEUES } from './queues';

/**
 * BullMQ connection and queues (producers: inject with @InjectQueue(NAME), add with jobOptions()
 * from ./job-table.ts). The api imports `JobsModule`; the worker imports `JobsModule.forWorker()`,
 * which adds the JobScheduler. Processors' BullMQ workers are started by hand (manualRegistration),
 * by the JobScheduler once its check of the job table passed, so none runs in a worker that then
 * refuses to boot.
 */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        connection: { url: config.redisUrl, maxRetriesPerRequest: null },
        prefix: config.queuePrefix,
        defaultJobOptions: DEFAULT_JOB_OPTIONS,
      }),
      extraOptions: { manualRegistration: true },
    }),
    BullModule.registerQueue(...ALL_QUEUES.map((name) => ({ name }))),
  ],
  exports: [BullModule],
})
export class JobsModule {
  /** The worker's: the queues plus the boot check, the processors' start and the schedules (JobScheduler). */
  static forWorker(): DynamicModule {
    return { module: JobsModule, imports: [DiscoveryModule], providers: [JobScheduler] };
  }
}
