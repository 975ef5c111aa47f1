import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { JOB, MODEL_HEALTH_QUEUE } from '../jobs/queues';
import { PrismaService } from '../prisma/prisma.service';

/** Payload of a model health-check job (re-validated by the processor). */
export interface ModelHealthJobData {
  rateId: string;
  /** which GET /ai-providers/test-models call enqueued it (for logs) */
  requestId: string;
}

/** Job id of a rate's health check: one queued or running check per model at a time. */
export const modelHealthJobId = (rateId: string) => `model-health-${rateId}`;

/**
 * Health-check jobs leave the queue when they finish, so the job id dedupes only checks that are
 * still waiting or running; one attempt: a check that fails has recorded its failure.
 */
export const MODEL_HEALTH_JOB_OPTIONS = { attempts: 1, removeOnComplete: true, removeOnFail: true } as const;

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
    @InjectQueue(MODEL_HEALTH_QUEUE) private readonly queue: Queue<ModelHealthJobData>,
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
      fresh.map((r) => ({ name: JOB.MODEL_HEALTH_CHECK, data: { rateId: r.id, requestId }, opts: { ...MODEL_HEALTH_JOB_OPTIONS, jobId: modelHealthJobId(r.id) } })),
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
