import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Decimal, roundCredits } from '../common/decimal';
import { CallRecord } from '../credits/call-settlement.repository';
import { CreditLedgerService } from '../credits/credit-ledger.service';
import { ModelType } from '../generated/prisma/enums';
import { ModelCallRecorder } from '../model-calls/model-call-recorder.service';
import { CatalogService, ModelRoute } from '../providers/catalog.service';
import { CallContext } from './call-context';
import { GatewayError } from './openai-error';

/** A call cleared to go upstream. */
export interface AdmittedCall {
  callId: string;
  route: ModelRoute;
  /** credits held for the call (0 when credit billing is off) */
  held: Decimal;
  /** set once the call's record is written (exactly once per call) */
  settled: boolean;
}

/** What the hold is sized from: worst-case tokens of the call. */
export interface HoldEstimate {
  promptTokens: number;
  completionTokens: number;
}

/**
 * Steps 2 and 4 of DESIGN.md's hot path: resolve the requested model to a provider and rate,
 * check the key's allowed models, and hold credits for the call (402 when the balance is used
 * up and credit billing is on). A refused call is recorded as a failed model call.
 */
@Injectable()
export class CallAdmissionService {
  constructor(
    private readonly catalog: CatalogService,
    private readonly ledger: CreditLedgerService,
    private readonly recorder: ModelCallRecorder,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Completion tokens assumed for the hold when a request sets no max_tokens. */
  get defaultCompletionTokens(): number {
    return this.config.credit.holdDefaultCompletionTokens;
  }

  /** Seed 004 `enableCredit`: when off, calls are metered and logged but not debited. */
  get billingEnabled(): boolean {
    return this.config.credit.billingEnabled;
  }

  /**
   * @throws GatewayError 404 model_not_found, 403 model_not_allowed, 402 insufficient_credits
   */
  async admit(ctx: CallContext, requestedModel: string, type: ModelType, estimate: HoldEstimate, stream: boolean): Promise<AdmittedCall> {
    const callId = randomUUID();
    const candidates = await this.catalog.candidates(requestedModel, type);
    if (candidates.length === 0) {
      await this.refuse(ctx, callId, requestedModel, type, stream, null, GatewayError.modelNotFound(requestedModel));
    }
    const allowed = candidates.filter((r) => isModelAllowed(ctx.principal.allowedModels, r));
    if (allowed.length === 0) {
      await this.refuse(ctx, callId, requestedModel, type, stream, candidates[0], GatewayError.modelNotAllowed(requestedModel));
    }
    const route = allowed[0];
    if (!this.config.credit.billingEnabled) return { callId, route, held: new Decimal(0), settled: false };

    const held = roundCredits(route.inputRate.mul(estimate.promptTokens).add(route.outputRate.mul(estimate.completionTokens)));
    const hold = await this.ledger.holdForCall(ctx.principal.userId, callId, held);
    if (!hold.admitted) {
      await this.refuse(ctx, callId, requestedModel, type, stream, route, GatewayError.insufficientCredits(this.config.credit.paymentLink));
    }
    return { callId, route, held, settled: false };
  }

  private async refuse(
    ctx: CallContext,
    callId: string,
    model: string,
    type: ModelType,
    stream: boolean,
    route: ModelRoute | null,
    error: GatewayError,
  ): Promise<never> {
    const record: CallRecord = {
      id: callId,
      userId: ctx.principal.userId,
      apiKeyId: ctx.principal.keyId,
      providerId: route?.provider.id ?? null,
      credentialId: null,
      model: route?.model ?? model,
      type,
      status: 'failed',
      stream,
      promptTokens: 0,
      completionTokens: 0,
      usageSource: 'none',
      credits: new Decimal(0),
      durationMs: Date.now() - ctx.startedAt,
      appDid: ctx.appDid,
      requestId: ctx.requestId,
      upstreamStatus: null,
      errorCode: error.code,
      errorMessage: error.message,
      createdAt: new Date(ctx.startedAt),
      billable: false,
    };
    await this.recorder.record(record);
    throw error;
  }
}

/**
 * A key's allowed models (DESIGN.md ApiKey.allowedModels): empty allows all; an entry matches
 * "model", "provider/model", "provider/*" or "*".
 */
export function isModelAllowed(allowed: readonly string[], route: ModelRoute): boolean {
  if (allowed.length === 0) return true;
  const p = route.provider.name;
  return allowed.some((a) => a === '*' || a === route.model || a === `${p}/${route.model}` || a === `${p}/*`);
}
