import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { SecretBoxService } from '../crypto/secret-box.service';
import { JOB, JobName, MODEL_HEALTH_QUEUE } from '../jobs/queues';
import { PrismaService } from '../prisma/prisma.service';
import { CredentialHealthRecorder } from './credential-health.recorder';
import { ModelHealthJobData } from './model-health.producer';
import { ProbeResult, ProviderProbe } from './provider-probe.service';

export interface ModelHealthJobResult {
  rateId: string;
  /** operational | down | skipped (rate, provider or credential gone or disabled) */
  status: string;
  latencyMs: number | null;
  credentialId: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `model-health.check`: sends the model's minimal request upstream (ProviderProbe.pingModel) with
 * one of the provider's active credentials (the one checked longest ago, so repeated runs cover
 * them all), then records the model status and latency (model_statuses, upserted per rate) and
 * the credential's success or failure (credential_health). Safe to run twice: each run records
 * one more observation.
 */
@Processor(MODEL_HEALTH_QUEUE, { concurrency: 4 })
export class ModelHealthProcessor extends WorkerHost {
  private readonly log = new Logger(ModelHealthProcessor.name);
  static readonly handles: readonly JobName[] = [JOB.MODEL_HEALTH_CHECK];

  constructor(
    private readonly prisma: PrismaService,
    private readonly secretBox: SecretBoxService,
    private readonly probe: ProviderProbe,
    private readonly recorder: CredentialHealthRecorder,
  ) {
    super();
  }

  async process(job: Job<ModelHealthJobData>): Promise<ModelHealthJobResult> {
    if (job.name !== JOB.MODEL_HEALTH_CHECK) throw new Error(`no handler for job ${job.name}`);
    const rateId = job.data?.rateId;
    if (typeof rateId !== 'string' || !UUID.test(rateId)) throw new Error('model-health.check: data.rateId must be a UUID');
    const rate = await this.prisma.modelRate.findUnique({
      where: { id: rateId },
      include: {
        provider: {
          include: {
            credentials: { where: { active: true }, include: { health: { select: { lastSuccessAt: true, lastFailureAt: true } } } },
          },
        },
      },
    });
    if (!rate || !rate.enabled || !rate.provider.enabled) return { rateId, status: 'skipped', latencyMs: null, credentialId: null };
    const lastChecked = (c: (typeof rate.provider.credentials)[number]) =>
      Math.max(c.health?.lastSuccessAt?.getTime() ?? 0, c.health?.lastFailureAt?.getTime() ?? 0);
    const cred = [...rate.provider.credentials].sort((a, b) => lastChecked(a) - lastChecked(b) || a.name.localeCompare(b.name))[0];
    const now = new Date();
    let result: ProbeResult;
    if (!cred) {
      result = { outcome: 'unavailable', status: null, latencyMs: 0, error: 'no active credential' };
    } else {
      let secret: string;
      try {
        secret = this.secretBox.decrypt(cred.encryptedValue);
      } catch {
        secret = '';
      }
      result = secret
        ? await this.probe.pingModel(rate.provider.baseUrl, secret, rate.model, rate.type)
        : { outcome: 'unauthorized', status: null, latencyMs: 0, error: 'cannot decrypt' };
      if (result.outcome === 'ok' || result.outcome === 'rejected') await this.recorder.recordSuccess(cred.id);
      else await this.recorder.recordFailure(cred.id, result.error ?? 'error');
    }
    const status = result.outcome === 'ok' ? 'operational' : 'down';
    const latencyMs = result.status === null ? null : result.latencyMs;
    await this.prisma.modelStatus.upsert({
      where: { rateId },
      create: {
        rateId,
        status,
        latencyMs,
        upstreamStatus: result.status,
        error: result.error,
        credentialId: cred?.id ?? null,
        lastChecked: now,
      },
      update: { status, latencyMs, upstreamStatus: result.status, error: result.error, credentialId: cred?.id ?? null, lastChecked: now },
    });
    if (status === 'down') this.log.warn(`model ${rate.provider.name}/${rate.model} is down: ${result.error}`);
    return { rateId, status, latencyMs, credentialId: cred?.id ?? null };
  }
}
