import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Decimal, exact, exactRate } from '../common/decimal';
import { creditsFor } from '../metering/credits-formula';
import { DomainError } from '../common/domain-error';
import { CreditLedgerService, HoldResult } from '../credits/credit-ledger.service';
import { CreditReserves } from '../credits/credit-reserves.service';
import { HoldLeases } from '../credits/hold-leases.service';
import { KeyCheckService } from '../keys/key-check.service';
import { ModelType } from '../generated/prisma/enums';
import { newCallId } from '../model-calls/call-id';
import { GatewayRateLimits } from '../rate-limit/gateway-rate-limits.service';
import { CatalogService, ModelRoute } from '../providers/catalog.service';
import { SettingsService } from '../settings/settings.service';
import { CallContext } from './call-context';
import { CallLog, GatewayCall } from './call-log.service';
import { ConcurrencyLimiter } from './concurrency-limiter';
import { GatewayErrors } from './openai-error';

/** What the hold is sized from: the call's worst case, in tokens. */
export interface HoldEstimate {
  /** upper bound of the prompt's tokens (UTF-8 bytes / 2 + framing) */
  promptTokens: number;
  /** the prompt's likely tokens (UTF-8 bytes / 4): what an interrupted call is billed for */
  likelyPromptTokens: number;
  /** completion tokens the call may use: the client's max_tokens, or the default allowance */
  completionTokens: number;
  /**
   * true when the client set no completion bound: if the allowance does not fit the balance,
   * the call is admitted with what the balance affords instead (and forwarded with that bound)
   */
  cappable: boolean;
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
 * Admission (docs/call-recording.md "Admission"): resolves the requested model to a provider and
 * rate, checks the key's allowed models, limits the calls a key and a user may have in flight,
 * and holds credits for the call's worst case. Every refusal is recorded as a failed model call.
 */
@Injectable()
export class CallAdmissionService {
  private readonly headroom = new Map<string, Headroom>();
  private readonly limiter: ConcurrencyLimiter;

  constructor(
    private readonly catalog: CatalogService,
    private readonly ledger: CreditLedgerService,
    private readonly leases: HoldLeases,
    private readonly reserves: CreditReserves,
    private readonly callLog: CallLog,
    private readonly settings: SettingsService,
    private readonly keyCheck: KeyCheckService,
    private readonly rateLimits: GatewayRateLimits,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.limiter = new ConcurrencyLimiter(config.gateway.maxConcurrentPerKey, config.gateway.maxConcurrentPerUser);
  }

  /** Completion tokens a call may use when it sets no max_tokens (CREDIT_HOLD_DEFAULT_COMPLETION_TOKENS). */
  get defaultCompletionTokens(): number {
    return this.config.credit.holdDefaultCompletionTokens;
  }

  /**
   * Routes a call: the first provider offering the model that the key may use (every list of
   * the key's effective allowed models, docs/api/keys.md), if the key's credit budget is not spent.
   * @throws DomainError 404 model_not_found, 403 model_not_allowed, 402 budget_exceeded (after
   *   recording the call)
   */
  async route(ctx: CallContext, requestedModel: string, type: ModelType, stream: boolean): Promise<GatewayCall> {
    const billing = await this.settings.billingForGateway();
    const call: GatewayCall = {
      callId: newCallId(),
      requestedModel,
      type,
      stream,
      route: null,
      held: new Decimal(0),
      hasHold: false,
      reserveId: null,
      billingEnabled: billing.creditBillingEnabled,
      paymentLink: billing.paymentLink,
      recording: null,
      settled: false,
    };
    const candidates = await this.catalog.candidates(requestedModel, type);
    if (candidates.length === 0) return this.refuse(ctx, call, GatewayErrors.modelNotFound(requestedModel));
    const allowed = candidates.filter((r) => isAllowedByEvery(ctx.principal.modelAllowLists, r));
    if (allowed.length === 0) {
      call.route = candidates[0];
      return this.refuse(ctx, call, GatewayErrors.modelNotAllowed(requestedModel));
    }
    call.route = allowed[0];
    if (await this.keyCheck.budgetExhausted(ctx.principal)) return this.refuse(ctx, call, GatewayErrors.budgetExceeded());
    return call;
  }

  /**
   * Applies the key's and the user's rate limits (rpm/tpm, docs/rate-limits.md; their
   * x-ratelimit-* headers are set on the response), then takes one of the key's and the user's
   * in-flight slots (GATEWAY_MAX_CONCURRENT_PER_KEY / _PER_USER, per api process).
   * @returns the release function: call it when the response is finished
   * @throws DomainError 429 rate_limit_exceeded with x-ratelimit-* and Retry-After, 503
   *   rate_limit_unavailable (Redis failed, policy closed), 429 too_many_concurrent_requests
   *   with Retry-After (each after recording)
   */
  async limit(ctx: CallContext, call: GatewayCall): Promise<() => void> {
    const rate = await this.rateLimits.admit(ctx.principal, call.callId);
    if (rate.kind === 'refused') return this.refuse(ctx, call, GatewayErrors.rateLimited(rate.message, rate.headers));
    if (rate.kind === 'unavailable') return this.refuse(ctx, call, GatewayErrors.rateLimiterUnavailable());
    if (rate.kind === 'allowed') for (const [name, value] of Object.entries(rate.headers)) ctx.res.setHeader(name, value);
    const slot = this.limiter.acquire(ctx.principal.keyId, ctx.principal.userId);
    if ('release' in slot) return slot.release;
    return this.refuse(ctx, call, GatewayErrors.tooManyConcurrent(slot.limit, slot.max));
  }

  /**
   * Admits the call: holds its worst-case credits (credit billing on) and writes its
   * start-of-call row either way, which is renewed while the call runs. A call of a user with a
   * credit reserve in this process is admitted from it instead, in memory, with its full
   * allowance; a stream still writes its start-of-call row, holding 0 (CreditReserves;
   * docs/call-recording.md "Reserves"). A hold that leaves ample credits free asks for such a
   * reserve for the user's next calls.
   * @returns the completion tokens the call may use: `estimate.completionTokens`, or fewer when
   *   the call was cappable and the balance affords only that many
   * @throws DomainError 402 insufficient_credits (with payment_link and the completion tokens the
   *   balance affords), 503 service_unavailable when the database does not answer (both recorded)
   */
  async hold(ctx: CallContext, call: GatewayCall, estimate: HoldEstimate): Promise<{ completionTokens: number }> {
    const route = call.route!;
    let completionTokens = estimate.completionTokens;
    let amount = call.billingEnabled ? this.holdAmount(route, estimate.promptTokens, completionTokens) : new Decimal(0);
    if (call.billingEnabled) {
      call.reserveId = this.reserves.admit(ctx.principal.userId, amount);
      if (call.reserveId) {
        call.held = amount;
        // A stream keeps its start-of-call row ("Interrupted calls"), holding nothing: its
        // credits are in the reserve. The row's statement leaves the account row alone.
        if (call.stream) await this.tryHold(ctx, call, estimate, new Decimal(0), false);
        return { completionTokens };
      }
    }
    let result = await this.tryHold(ctx, call, estimate, amount);
    if (!result.admitted) {
      const free = result.balance.sub(result.held);
      const affordable = affordableCompletionTokens(route, estimate.promptTokens, free);
      if (estimate.cappable && affordable >= 1 && affordable < completionTokens) {
        completionTokens = affordable;
        amount = this.holdAmount(route, estimate.promptTokens, completionTokens);
        result = await this.tryHold(ctx, call, estimate, amount);
      }
      if (!result.admitted) {
        const left = affordableCompletionTokens(route, estimate.promptTokens, result.balance.sub(result.held));
        await this.refuse(
          ctx,
          call,
          GatewayErrors.insufficientCredits(call.paymentLink, {
            needed: amount,
            affordableCompletionTokens: left,
            requestedCompletionTokens: completionTokens,
          }),
        );
      }
    }
    const free = result.balance.sub(result.held).sub(amount);
    this.remember(ctx.principal.userId, free);
    if (call.billingEnabled) this.reserves.offer(ctx.principal.userId, amount, free);
    call.held = amount;
    return { completionTokens };
  }

  /**
   * Whether the upstream request may start while the hold is still being taken (saves one
   * database round trip of latency): only when, at this user's last hold a moment ago, many
   * times this call's worst case was free, so the hold is all but certain, or when the user's
   * credit reserve in this process covers the call (it is then admitted from the reserve). If a
   * hold is refused after all, the upstream request is aborted before anything reaches the client.
   */
  mayOverlap(userId: string, call: GatewayCall, estimate: HoldEstimate): boolean {
    if (!call.billingEnabled || !call.route) return true;
    const amount = this.holdAmount(call.route, estimate.promptTokens, estimate.completionTokens);
    if (this.reserves.covers(userId, amount)) return true;
    const h = this.headroom.get(userId);
    if (!h || Date.now() - h.at > OVERLAP_HEADROOM_MAX_AGE_MS) return false;
    return h.free.gte(amount.mul(OVERLAP_HEADROOM_FACTOR));
  }

  /** One hold statement for the call; `enforce` false writes the start-of-call row without touching the account. */
  private async tryHold(
    ctx: CallContext,
    call: GatewayCall,
    estimate: HoldEstimate,
    amount: Decimal,
    enforce = call.billingEnabled,
  ): Promise<HoldResult> {
    const route = call.route!;
    // From here the call may have a start-of-call row (a hold whose outcome we did not learn
    // counts): settling it releases whatever exists.
    call.hasHold = true;
    let result: HoldResult;
    try {
      result = await this.ledger.holdForCall({
        userId: ctx.principal.userId,
        callId: call.callId,
        amount,
        enforce,
        apiKeyId: ctx.principal.keyId,
        providerId: route.provider.id,
        model: route.model,
        type: call.type,
        stream: call.stream,
        requestId: ctx.requestId,
        appDid: ctx.appDid,
        promptTokensEstimate: estimate.likelyPromptTokens,
        inputRate: route.inputRate,
        startedAt: ctx.startedAt,
      });
    } catch (err) {
      ctx.log.warn(CallAdmissionService.name, `hold for call ${call.callId} failed: ${(err as Error).message}`);
      return this.refuse(ctx, call, GatewayErrors.unavailable('Tollgate cannot reach its database right now; retry shortly'));
    }
    call.hasHold = result.admitted;
    if (result.admitted) this.leases.start(call.callId);
    return result;
  }

  /** A call's worst case: its tokens at the route's rates, priced as its record will be (creditsFor). */
  private holdAmount(route: ModelRoute, promptTokens: number, completionTokens: number): Decimal {
    return creditsFor(promptTokens, completionTokens, route.inputRate, route.outputRate);
  }

  private remember(userId: string, free: Decimal): void {
    if (this.headroom.size >= HEADROOM_MAX_USERS && !this.headroom.has(userId)) this.headroom.clear();
    this.headroom.set(userId, { free, at: Date.now() });
  }

  private async refuse(ctx: CallContext, call: GatewayCall, error: DomainError): Promise<never> {
    // The refusal is the answer; if even its record fails, the client still gets it (and an
    // orphaned start-of-call row, if any, is recorded by the worker).
    await this.callLog
      .refuse(ctx, call, error)
      .catch((err: Error) => ctx.log.warn(CallAdmissionService.name, `refused call ${call.callId} not recorded: ${err.message}`));
    throw error;
  }
}

/**
 * Completion tokens the free credits pay for after the prompt's worst case: floor((free −
 * prompt cost) / output rate), at least 0. A free output rate affords any number
 * (Number.MAX_SAFE_INTEGER) once the prompt fits.
 */
export function affordableCompletionTokens(route: ModelRoute, promptTokens: number, free: Decimal): number {
  const left = exact(free).sub(exactRate(route.inputRate).mul(promptTokens));
  if (left.lte(0)) return 0;
  if (route.outputRate.lte(0)) return Number.MAX_SAFE_INTEGER;
  // Rounding of the hold amount (half up, 10 places) may add < 1e-10: leave room for it.
  const n = left.sub(new Decimal('1e-10')).div(route.outputRate).floor();
  return n.lte(0) ? 0 : Math.min(Number.MAX_SAFE_INTEGER, n.toNumber());
}

/**
 * A key's allowed models: empty allows all; an entry matches "model", "provider/model",
 * "provider/*" or "*".
 */
export function isModelAllowed(allowed: readonly string[], route: ModelRoute): boolean {
  if (allowed.length === 0) return true;
  const p = route.provider.name;
  return allowed.some((a) => a === '*' || a === route.model || a === `${p}/${route.model}` || a === `${p}/*`);
}

/** Whether every list allows the route (isModelAllowed each); no list at all allows every model. */
export function isAllowedByEvery(lists: readonly (readonly string[])[], route: ModelRoute): boolean {
  return lists.every((list) => isModelAllowed(list, route));
}
