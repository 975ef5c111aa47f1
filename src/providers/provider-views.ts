import { ParseUUIDPipe } from '@nestjs/common';
import { DomainError } from '../common/domain-error';
import type { ModelRate } from '../generated/prisma/client';
import { ModelType } from '../generated/prisma/enums';
import { decimalToNumber } from './rate-math';

/** A model rate as responses show it. Rates: credits per token; unit costs: USD per token. */
export interface ModelRateView {
  id: string;
  providerId: string;
  model: string;
  type: ModelType;
  inputRate: number;
  outputRate: number;
  /** null when the provider's prices are unknown */
  unitCosts: { input: number | null; output: number | null } | null;
  modelMetadata: Record<string, unknown>;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export function toRateView(r: ModelRate): ModelRateView {
  return {
    id: r.id,
    providerId: r.providerId,
    model: r.model,
    type: r.type,
    inputRate: decimalToNumber(r.inputRate) as number,
    outputRate: decimalToNumber(r.outputRate) as number,
    unitCosts:
      r.inputUnitCost == null && r.outputUnitCost == null
        ? null
        : { input: decimalToNumber(r.inputUnitCost), output: decimalToNumber(r.outputUnitCost) },
    modelMetadata: (r.metadata ?? {}) as Record<string, unknown>,
    enabled: r.enabled,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

/** LiteLLM's `mode` names for the public model list (`type: "chat"`; docs/api/providers.md). */
export const LITELLM_TYPE: Record<ModelType, string> = {
  chatCompletion: 'chat',
  embedding: 'embedding',
  imageGeneration: 'image_generation',
};

/** Path ids are UUIDs: anything else is a 400 naming the parameter. */
export const uuidParam = (field: string) =>
  new ParseUUIDPipe({
    exceptionFactory: () => DomainError.validationFailed(field, `${field} must be a UUID`),
  });

export const providerNotFound = (id: string) => DomainError.notFound('provider_not_found', `No provider ${id}`);
export const credentialNotFound = (id: string) => DomainError.notFound('credential_not_found', `No credential ${id} at this provider`);
export const rateNotFound = (id: string) => DomainError.notFound('model_rate_not_found', `No model rate ${id} at this provider`);
