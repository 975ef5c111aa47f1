import { Injectable } from '@nestjs/common';
import { Decimal } from '../common/decimal';
import { CallRecord } from '../credits/call-settlement.repository';
import { ModelCallStatus, ModelType } from '../generated/prisma/enums';
import { creditsFor } from '../metering/credits-formula';
import { ModelCallRecorder } from '../model-calls/model-call-recorder.service';
import { ModelRoute } from '../providers/catalog.service';
import { CallContext, MeteredUsage } from './call-context';

/** One gateway call from admission on. `settled` flips when its record is written. */
export interface GatewayCall {
  callId: string;
  /** the requested model name (kept when no route was found) */
  requestedModel: string;
  type: ModelType;
  stream: boolean;
  route: ModelRoute | null;
  /** credits held for the call (0 when none) */
  held: Decimal;
  /** seed 004 enableCredit when the call arrived: hold and debit, or only meter and log */
  billingEnabled: boolean;
  /** where to buy credits (returned with 402) */
  paymentLink: string | null;
  settled: boolean;
}

export interface CallOutcome {
  status: ModelCallStatus;
  usage: MeteredUsage | null;
  credentialId: string | null;
  upstreamStatus: number | null;
  error: { code: string; message: string } | null;
}

/**
 * Writes a gateway call's row in the call log (and, for billable calls, its debit) exactly
 * once: the first outcome reported for a call wins, later ones are ignored. Credits are the
 * metered tokens at the route's rates; failed calls cost nothing.
 */
@Injectable()
export class CallLog {
  constructor(private readonly recorder: ModelCallRecorder) {}

  /** Resolves once the record is durably committed (the response may then be finished). */
  async write(ctx: CallContext, call: GatewayCall, outcome: CallOutcome): Promise<void> {
    if (call.settled) return;
    call.settled = true;
    const usage = outcome.status === 'failed' ? null : outcome.usage;
    const route = call.route;
    const credits = usage && route ? creditsFor(usage.promptTokens, usage.completionTokens, route.inputRate, route.outputRate) : new Decimal(0);
    const record: CallRecord = {
      id: call.callId,
      userId: ctx.principal.userId,
      apiKeyId: ctx.principal.keyId,
      providerId: route?.provider.id ?? null,
      credentialId: outcome.credentialId,
      model: route?.model ?? call.requestedModel,
      type: call.type,
      status: outcome.status,
      stream: call.stream,
      promptTokens: usage?.promptTokens ?? 0,
      completionTokens: usage?.completionTokens ?? 0,
      usageSource: usage?.source ?? 'none',
      credits,
      durationMs: Date.now() - ctx.startedAt,
      appDid: ctx.appDid,
      requestId: ctx.requestId,
      upstreamStatus: outcome.upstreamStatus,
      errorCode: outcome.error?.code ?? null,
      errorMessage: outcome.error?.message ?? null,
      createdAt: new Date(ctx.startedAt),
      billable: usage !== null && route !== null && call.billingEnabled,
      // any call that reached the hold step may hold credits (a failed hold attempt leaves none)
      hasHold: route !== null && call.billingEnabled,
    };
    await this.recorder.record(record);
  }

  /** Records a call refused before it went upstream (403, 404, 402) and throws the error. */
  async refuse(ctx: CallContext, call: GatewayCall, error: { code: string; message: string }): Promise<void> {
    await this.write(ctx, call, { status: 'failed', usage: null, credentialId: null, upstreamStatus: null, error });
  }
}
