import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service';
import { decimalToNumber } from './rate-math';
import { LITELLM_TYPE } from './provider-views';

/** One entry of GET /ai-providers/models (LiteLLM-compatible; docs/api/providers.md). */
export interface PublicModel {
  /** "provider/model" */
  key: string;
  model: string;
  /** chat | embedding | image_generation */
  type: string;
  provider: string;
  providerId: string;
  input_credits_per_token: number;
  output_credits_per_token: number;
  modelMetadata: Record<string, unknown>;
  /** last health check; null before the first */
  status: { id: string; lastChecked: string; latency: number | null; status: string } | null;
  providerDisplayName: string;
}

/** The public model catalogue: enabled rates at enabled providers, with their last health check. */
@Injectable()
export class ModelDiscoveryService {
  constructor(private readonly prisma: PrismaService) {}

  async models(): Promise<PublicModel[]> {
    const rates = await this.prisma.modelRate.findMany({
      where: { enabled: true, provider: { enabled: true } },
      include: { provider: { select: { name: true, displayName: true } }, status: true },
      orderBy: [{ provider: { name: 'asc' } }, { model: 'asc' }, { type: 'asc' }],
    });
    return rates.map((r) => ({
      key: `${r.provider.name}/${r.model}`,
      model: r.model,
      type: LITELLM_TYPE[r.type],
      provider: r.provider.name,
      providerId: r.providerId,
      input_credits_per_token: decimalToNumber(r.inputRate) as number,
      output_credits_per_token: decimalToNumber(r.outputRate) as number,
      modelMetadata: (r.metadata ?? {}) as Record<string, unknown>,
      status: r.status
        ? { id: r.status.id, lastChecked: r.status.lastChecked.toISOString(), latency: r.status.latencyMs, status: r.status.status }
        : null,
      providerDisplayName: r.provider.displayName,
    }));
  }
}
