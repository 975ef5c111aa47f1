import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Decimal, roundCredits } from '../common/decimal';
import { CreditLedgerService } from '../credits/credit-ledger.service';
import { ModelType } from '../generated/prisma/enums';
import { CatalogService, ModelRoute } from '../providers/catalog.service';
import { SettingsService } from '../settings/settings.service';
import { CallContext } from './call-context';
import { CallLog, GatewayCall } from './call-log.service';
import { GatewayError } from './openai-error';

/** What the hold is sized from: worst-case tokens of the call. */
export interface HoldEstimate {
  promptTokens: number;
  completionTokens: number;
}

/** Headroom remembered per user from their last hold, to decide whether to overlap. */
interface Headroom {
  /** credits still free after that hold */
  free: Decimal;
  at: number;
}

/** An overlap needs this many times the call's hold free at the last hold… */
const OVERLAP_HEADROOM_FACTOR = 20;
/** …measured no longer ago than this (ms). */
const OVERLAP_HEADROOM_MAX_AGE_MS = 2_000;
const HEADROOM_MAX_USERS = 100_000;

/**
 * Steps 2 and 4 of DESIGN.md's hot path: resolve the requested model to a provider and rate,
 * check the key's allowed models, and hold credits for the call (402 when the balance is used
 * up and credit billing is on). Every refusal is recorded as a failed model call.
 */
@Injectable()
export class CallAdmissionService {
  private readonly headroom = new Map<string, Headroom>();

  constructor(
    private readonly catalog: CatalogService,
    private readonly ledger: CreditLedgerService,
    private readonly callLog: CallLog,
    private readonly settings: SettingsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Completion tokens assumed for the hold when a request sets no max_tokens. */
  get defaultCompletionTokens(): number {
    return this.config.credit.holdDefaultCompletionTokens;
  }

  /**
   * Routes a call: the first provider offering the model that the key may use.
   * @throws GatewayError 404 model_not_found, 403 model_not_allowed (after recording the call)
   */
  async route(ctx: CallContext, requestedModel: string, type: ModelType, stream: boolean): Promise<GatewayCall> {
    const billing = await this.settings.billingForGateway();
    const call: GatewayCall = {
      callId: randomUUID(),
      requestedModel,
      type,
      stream,
      route: null,
      held: new Decimal(0),
      billingEnabled: billing.creditBillingEnabled,
      paymentLink: billing.paymentLink,
      settled: false,
    };
    const candidates = await this.catalog.candidates(requestedModel, type);
    if (candidates.length === 0) return this.refuse(ctx, call, GatewayError.modelNotFound(requestedModel));
    const allowed = candidates.filter((r) => isModelAllowed(ctx.principal.allowedModels, r));
    if (allowed.length === 0) {
      call.route = candidates[0];
      return this.refuse(ctx, call, GatewayError.modelNotAllowed(requestedModel));
    }
    call.route = allowed[0];
    return call;
  }

  /**
   * Holds the call's worst-case credits (a no-op with credit billing off).
   * @throws GatewayError 402 insufficient_credits with the payment link (after recording)
   */
  async hold(ctx: CallContext, call: GatewayCall, estimate: HoldEstimate): Promise<void> {
    if (!call.billingEnabled || !call.route) return;
    const amount = this.holdAmount(call.route, estimate);
    const result = await this.ledger.holdForCall(ctx.principal.userId, call.callId, amount);
    this.remember(ctx.principal.userId, result.balance.sub(result.held).sub(amount));
    if (!result.admitted) {
      await this.refuse(ctx, call, GatewayError.insufficientCredits(call.paymentLink));
    }
    call.held = amount;
  }

  /**
   * Whether the upstream request may start while the hold is still being taken (saves one
   * database round trip of latency): only when, at this user's last hold a moment ago, many
   * times this call's worst case was free, so the hold is all but certain. If it is refused
   * after all, the upstream request is aborted before anything reaches the client.
   */
  mayOverlap(userId: string, call: GatewayCall, estimate: HoldEstimate): boolean {
    if (!call.billingEnabled || !call.route) return true;
    const h = this.headroom.get(userId);
    if (!h || Date.now() - h.at > OVERLAP_HEADROOM_MAX_AGE_MS) return false;
    return h.free.gte(this.holdAmount(call.route, estimate).mul(OVERLAP_HEADROOM_FACTOR));
  }

  private holdAmount(route: ModelRoute, estimate: HoldEstimate): Decimal {
    return roundCredits(route.inputRate.mul(estimate.promptTokens).add(route.outputRate.mul(estimate.completionTokens)));
  }

  private remember(userId: string, free: Decimal): void {
    if (this.headroom.size >= HEADROOM_MAX_USERS && !this.headroom.has(userId)) this.headroom.clear();
    this.headroom.set(userId, { free, at: Date.now() });
  }

  private async refuse(ctx: CallContext, call: GatewayCall, error: GatewayError): Promise<never> {
    await this.callLog.refuse(ctx, call, error);
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
