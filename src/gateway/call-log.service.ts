import { Injectable } from '@nestjs/common';
import { Decimal } from '../common/decimal';
import { CreditReserves } from '../credits/credit-reserves.service';
import { HoldLeases } from '../credits/hold-leases.service';
import { ModelCallStatus, ModelType } from '../generated/prisma/enums';
import { creditsFor } from '../metering/credits-formula';
import { CallRecord, UpstreamTiming } from '../model-calls/call-record';
import { RecordOutcome } from '../model-calls/call-record-writer';
import { CallRecorder } from '../model-calls/call-recorder.service';
import { ModelRoute } from '../providers/catalog.service';
import { CallContext, MeteredUsage } from './call-context';

/** One gateway call from admission on. */
export interface GatewayCall {
  callId: string;
  /** the requested model name (kept when no route was found) */
  requestedModel: string;
  type: ModelType;
  stream: boolean;
  route: ModelRoute | null;
  /** credits held for the call (0 when none) */
  held: Decimal;
  /** true once a hold (start-of-call row) was written for the call */
  hasHold: boolean;
  /** the credit reserve the call was admitted from instead of a hold (CreditReserves), else null */
  reserveId: string | null;
  /** credit billing on when the call arrived: hold and debit, or only meter and log */
  billingEnabled: boolean;
  /** where to buy credits (returned with 402) */
  paymentLink: string | null;
  /** the call's record, once asked for: a call is recorded once, whoever asks again */
  recording: Promise<RecordOutcome> | null;
  /** true once the record is durable */
  settled: boolean;
  /** when the call went upstream and heard back (performance.now() ms), for metrics; absent if it never went */
  upstream?: UpstreamTimes;
}

/** Moments of a call's upstream exchange (performance.now() ms). */
export interface UpstreamTimes {
  sentAt: number;
  firstByteAt: number | null;
  doneAt: number | null;
}

export interface CallOutcome {
  status: ModelCallStatus;
  usage: MeteredUsage | null;
  credentialId: string | null;
  upstreamStatus: number | null;
  error: { code: string; message: string } | null;
}

/**
 * Maps a gateway call's outcome onto its call-log record and hands it to the CallRecorder,
 * exactly once per call: the first outcome reported wins, later ones get the same promise.
 * Credits are the metered tokens at the route's rates; failed calls cost nothing. When the record
 * is durable (or could not be made so) the call's hold lease ends: an unrecordable call is then
 * found by the worker as an orphaned hold and recorded as `interrupted`. A call admitted from a
 * credit reserve gives its worst case back to the reserve then, less what it cost.
 */
@Injectable()
export class CallLog {
  constructor(
    private readonly recorder: CallRecorder,
    private readonly leases: HoldLeases,
    private readonly reserves: CreditReserves,
  ) {}

  /**
   * Resolves once the record is durable (the response may then be finished).
   * @throws when the record is nowhere durable (PostgreSQL and the Redis fallback both failed)
   */
  write(ctx: CallContext, call: GatewayCall, outcome: CallOutcome): Promise<RecordOutcome> {
    if (call.recording) return call.recording;
    const record = toRecord(ctx, call, outcome);
    const done = () => {
      this.leases.end(call.callId);
      if (call.reserveId) this.reserves.settle(record.userId, call.reserveId, call.held, record.billable ? record.credits : new Decimal(0));
    };
    call.recording = this.recorder.record(record).then(
      (where) => {
        call.settled = true;
        done();
        return where;
      },
      (err: unknown) => {
        done();
        throw err;
      },
    );
    return call.recording;
  }

  /** Records a call refused before it went upstream (403, 404, 402, 429, 503). */
  async refuse(ctx: CallContext, call: GatewayCall, error: { code: string; message: string }): Promise<void> {
    await this.write(ctx, call, { status: 'failed', usage: null, credentialId: null, upstreamStatus: null, error });
  }
}

function toRecord(ctx: CallContext, call: GatewayCall, outcome: CallOutcome): CallRecord {
  const usage = outcome.status === 'failed' ? null : outcome.usage;
  const route = call.route;
  const credits =
    usage && route ? creditsFor(usage.promptTokens, usage.completionTokens, route.inputRate, route.outputRate) : new Decimal(0);
  return {
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
    hasHold: call.hasHold,
    reserveId: call.reserveId,
    upstreamTiming: call.upstream ? upstreamTiming(call.upstream) : null,
  };
}

function upstreamTiming(t: UpstreamTimes): UpstreamTiming {
  const at = (moment: number) => Math.max(0, moment - t.sentAt);
  return { totalMs: at(t.doneAt ?? performance.now()), firstByteMs: t.firstByteAt === null ? null : at(t.firstByteAt) };
}
