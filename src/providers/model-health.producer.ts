import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { JOB_TABLE, jobOptions } from '../jobs/job-table';
import { JOB } from '../jobs/queues';
import { PrismaService } from '../prisma/prisma.service';

/** Payload of a model health-check job (re-validated by the processor). */
export interface ModelHealthJobData {
  rateId: string;
  /** which GET /ai-providers/test-models call enqueued it (for logs) */
  requestId: string;
}

/** Job id of a rate's health check (the job table's rule): one queued or running check per model at a time. */
export const modelHealthJobId = (rateId: string): string => JOB_TABLE[JOB.MODEL_HEALTH_CHECK].jobId({ rateId });

export interface TestModelsResult {
  /** jobs added now */
  enqueued: number;
  /** models whose check was already queued or running (deduplicated by job id) */
  alreadyQueued: number;
  jobs: { jobId: string; rateId: string; key: string; type: string; queued: boolean }[];
}

/** Enqueues one health check per enabled model at an enabled provider (GET /ai-providers/test-models). */
@Injectable()
export class ModelHealthProducer {
  constructor(
    private readonly prisma: PrismaService,
    @InjectQueue(JOB_TABLE[JOB.MODEL_HEALTH_CHECK].queue) private readonly queue: Queue<ModelHealthJobData>,
  ) {}

  async enqueueAll(): Promise<TestModelsResult> {
    const rates = await this.prisma.modelRate.findMany({
      where: { enabled: true, provider: { enabled: true } },
      select: { id: true, model: true, type: true, provider: { select: { name: true } } },
      orderBy: [{ provider: { name: 'asc' } }, { model: 'asc' }],
    });
    // BullMQ ignores an add whose job id exists (the dedupe); looking first only tells the caller which were new.
    const existing = await Promise.all(rates.map((r) => this.queue.getJob(modelHealthJobId(r.id))));
    const fresh = rates.filter((_, i) => !existing[i]);
    const requestId = randomUUID();
    await this.queue.addBulk(
      fresh.map((r) => ({
        name: JOB.MODEL_HEALTH_CHECK,
        data: { rateId: r.id, requestId },
        opts: jobOptions(JOB.MODEL_HEALTH_CHECK, { rateId: r.id }),
      })),
    );
    const list = rates.map((r, i) => ({
      jobId: modelHealthJobId(r.id),
      rateId: r.id,
      key: `${r.provider.name}/${r.model}`,
      type: r.type,
      queued: !existing[i],
    }));
    const enqueued = list.filter((j) => j.queued).length;
    return { enqueued, alreadyQueued: list.length - enqueued, jobs: list };
  }
}
