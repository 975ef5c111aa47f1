import { Inject, Injectable } from '@nestjs/common';
import { Dispatcher } from 'undici';
import { DomainError } from '../common/domain-error';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ModelCallStatus } from '../generated/prisma/enums';
import { ChatMessageLike } from '../metering/token-counter';
import { TokenCounterService } from '../metering/token-counter.service';
import { CatalogService } from '../providers/catalog.service';
import { CallAbort } from './call-abort';
import { CallAdmissionService, HoldEstimate, isAllowedByEvery } from './call-admission.service';
import { CallContext, MeteredUsage, readUsage } from './call-context';
import { CallLog, GatewayCall, UpstreamTimes } from './call-log.service';
import { GatewayErrors } from './openai-error';
import { failStream, finishStream, relayStream } from './stream-relay';
import { UpstreamAnswer, UpstreamFailure, UpstreamForwarder } from './upstream-forwarder.service';

interface ChatBody {
  model: string;
  messages: ChatMessageLike[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  [k: string]: unknown;
}

/** The provider's answer, and the hold's late refusal when the answer came first (see admitAndForward). */
interface AdmittedAnswer {
  answer: UpstreamAnswer;
  refusal: Promise<unknown> | null;
}

interface EmbeddingsBody {
  model: string;
  input: unknown;
  [k: string]: unknown;
}

/** Largest max_tokens / max_completion_tokens accepted (PostgreSQL integer range). */
const MAX_COMPLETION_TOKENS = 2_147_483_647;

/**
 * The OpenAI-compatible gateway (docs/call-recording.md): validates the request, admits it
 * (route, allowed models, in-flight limit, credit hold), forwards it upstream, meters tokens, and
 * records + bills the call before the response's last bytes are sent. Writes the HTTP response
 * itself (`ctx.res`) so streams pass through event by event.
 */
@Injectable()
export class GatewayService {
  constructor(
    private readonly admission: CallAdmissionService,
    private readonly forwarder: UpstreamForwarder,
    private readonly callLog: CallLog,
    private readonly catalog: CatalogService,
    private readonly tokens: TokenCounterService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * POST /v1/chat/completions. Non-streaming: relays the provider's JSON once the call is
   * recorded. `stream: true`: relays SSE events as they arrive; asks the provider for the final
   * usage chunk and drops that chunk unless the client asked for it
   * (`stream_options.include_usage`); `data: [DONE]` follows the durable record. A request without
   * max_tokens / max_completion_tokens is forwarded with `max_completion_tokens` set to its
   * allowance (CREDIT_HOLD_DEFAULT_COMPLETION_TOKENS, or less when the balance affords less).
   * @throws DomainError (400, 402, 403, 404, 429, 502, 503) before any byte is written
   */
  async chatCompletions(ctx: CallContext, raw: unknown): Promise<void> {
    const body = validateChatBody(raw);
    const stream = body.stream === true;
    const requested = positiveInt(body.max_completion_tokens) ?? positiveInt(body.max_tokens);
    const promptBytes = Buffer.byteLength(JSON.stringify(body.messages));
    const estimate: HoldEstimate = {
      promptTokens: Math.ceil(promptBytes / 2) + 4 * body.messages.length,
      likelyPromptTokens: Math.ceil(promptBytes / 4),
      completionTokens: requested ?? this.admission.defaultCompletionTokens,
      cappable: requested === null,
    };
    const call = await this.admission.route(ctx, body.model, 'chatCompletion', stream);
    const release = await this.admission.limit(ctx, call);
    const clientWantsUsage = stream && body.stream_options?.include_usage === true;
    const upstreamBody = (completionTokens: number) =>
      JSON.stringify({
        ...body,
        model: call.route!.model,
        ...(requested === null ? { max_completion_tokens: completionTokens } : {}),
        ...(stream ? { stream_options: { ...(body.stream_options ?? {}), include_usage: true } } : {}),
      });
    const { abort, progress, stop } = watchClient(ctx, release);
    try {
      const { answer, refusal } = await this.admitAndForward(
        ctx,
        call,
        estimate,
        '/chat/completions',
        upstreamBody,
        abort,
        progress,
        stream,
      );
      if (stream) {
        // A hold refused after the relay began stops it (the refusal is recorded, as a failed call).
        let refused: unknown = null;
        const holdSettled = refusal?.then((err) => {
          if (err === null) return;
          refused = err;
          abort.abort();
        });
        const outcome = await relayStream(ctx, answer.response, clientWantsUsage, abort, this.config.gateway.streamStallTimeoutMs);
        await holdSettled;
        if (refused !== null) {
          failStream(ctx.res, refused);
          return;
        }
        if (call.upstream) Object.assign(call.upstream, { firstByteAt: outcome.firstChunkAt, doneAt: performance.now() });
        const usage: MeteredUsage = outcome.usage
          ? { ...outcome.usage, source: 'upstream' }
          : {
              promptTokens: await this.tokens.countPrompt(body.messages),
              completionTokens: await this.tokens.countText(outcome.completionText),
              source: 'tokenizer',
            };
        // A stream that broke off (either side) still delivered tokens: bill what was relayed.
        const status: ModelCallStatus = outcome.clientClosed || outcome.upstreamError ? 'aborted' : 'success';
        const error = outcome.upstreamError
          ? { code: 'upstream_stream_error', message: outcome.upstreamError }
          : outcome.stalled
            ? { code: 'client_stalled', message: 'the client stopped reading the stream' }
            : outcome.clientClosed
              ? { code: 'client_closed', message: 'client closed the stream' }
              : null;
        const recorded = await this.callLog
          .write(ctx, call, { status, usage, credentialId: answer.credential.id, upstreamStatus: answer.response.statusCode, error })
          .then(
            () => true,
            (err: Error) => {
              ctx.log.error(GatewayService.name, `stream call ${call.callId} could not be recorded: ${err.message}`);
              return false;
            },
          );
        finishStream(ctx.res, outcome, recorded);
        return;
      }
      const buf = await readAll(answer.response);
      if (call.upstream) call.upstream.doneAt = performance.now();
      const usage = await this.meterChatJson(buf, body.messages);
      await this.recordOrUnavailable(ctx, call, {
        status: 'success',
        usage,
        credentialId: answer.credential.id,
        upstreamStatus: answer.response.statusCode,
        error: null,
      });
      sendJson(ctx, answer.response.statusCode, buf);
    } catch (err) {
      await this.recordUnexpected(
        ctx,
        call,
        progress.upstreamStarted && abort.aborted ? () => this.tokens.countPrompt(body.messages) : null,
        err,
      );
      if (progress.clientLeft) return; // recorded; nobody is left to answer (the error is the abort's)
      throw err;
    } finally {
      stop();
      release();
    }
  }

  /**
   * POST /v1/embeddings: credits = prompt_tokens × inputRate.
   * @throws DomainError as chatCompletions
   */
  async embeddings(ctx: CallContext, raw: unknown): Promise<void> {
    const body = validateEmbeddingsBody(raw);
    const inputBytes = Buffer.byteLength(JSON.stringify(body.input));
    const estimate: HoldEstimate = {
      promptTokens: Math.ceil(inputBytes / 2) + 1,
      likelyPromptTokens: Math.ceil(inputBytes / 4),
      completionTokens: 0,
      cappable: false,
    };
    const call = await this.admission.route(ctx, body.model, 'embedding', false);
    const release = await this.admission.limit(ctx, call);
    const { abort, progress, stop } = watchClient(ctx, release);
    try {
      const { answer } = await this.admitAndForward(
        ctx,
        call,
        estimate,
        '/embeddings',
        () => JSON.stringify({ ...body, model: call.route!.model }),
        abort,
        progress,
      );
      const buf = await readAll(answer.response);
      if (call.upstream) call.upstream.doneAt = performance.now();
      const reported = readUsage(parseJson(buf)?.usage);
      const usage: MeteredUsage = reported
        ? { ...reported, completionTokens: 0, source: 'upstream' }
        : { promptTokens: await this.tokens.countEmbeddingInput(body.input), completionTokens: 0, source: 'tokenizer' };
      await this.recordOrUnavailable(ctx, call, {
        status: 'success',
        usage,
        credentialId: answer.credential.id,
        upstreamStatus: answer.response.statusCode,
        error: null,
      });
      sendJson(ctx, answer.response.statusCode, buf);
    } catch (err) {
      await this.recordUnexpected(
        ctx,
        call,
        progress.upstreamStarted && abort.aborted ? () => this.tokens.countEmbeddingInput(body.input) : null,
        err,
      );
      if (progress.clientLeft) return; // recorded; nobody is left to answer
      throw err;
    } finally {
      stop();
      release();
    }
  }

  /**
   * GET /v1/models: the models this key may call (its effective allowed models, the same check as
   * a call's; docs/api/keys.md), OpenAI's list shape
   * `{object:'list', data:[{id, object:'model', created, owned_by}]}`. A model offered by one
   * provider is listed by its name; where the key is limited to "provider/model", by that.
   */
  async listModels(
    ctx: Pick<CallContext, 'principal'>,
  ): Promise<{ object: 'list'; data: { id: string; object: 'model'; created: number; owned_by: string }[] }> {
    const seen = new Set<string>();
    const data: { id: string; object: 'model'; created: number; owned_by: string }[] = [];
    for (const route of await this.catalog.routes()) {
      const lists = ctx.principal.modelAllowLists;
      if (!isAllowedByEvery(lists, route)) continue;
      const bare = lists.every((list) => list.includes(route.model) || list.includes('*'));
      const id = bare ? route.model : `${route.provider.name}/${route.model}`;
      if (seen.has(id)) continue;
      seen.add(id);
      data.push({ id, object: 'model', created: 0, owned_by: route.provider.name });
    }
    return { object: 'list', data };
  }

  /**
   * Holds credits and forwards the call upstream. When the user's last hold showed ample
   * headroom the two run at the same time (CallAdmissionService.mayOverlap) with the full
   * allowance; otherwise the hold comes first and decides the allowance. Nothing is recorded
   * before the hold has resolved, so a hold is never left behind by a call already recorded.
   *
   * With `relayEarly` (streams) an overlapping call's answer is returned as soon as the provider
   * answers, even if the hold has not: `refusal` then settles later, to null when the hold is
   * admitted or to the refusal (already recorded as a failed call), on which the caller must stop
   * relaying and end the stream with that error (docs/call-recording.md "Admission"). Otherwise
   * `refusal` is null: the hold was admitted before this returned.
   * @throws DomainError 402/503 (refused hold, recorded) or the upstream failure (recorded, not
   *   billed); when the client left, the failure is left for recordUnexpected to record
   */
  private async admitAndForward(
    ctx: CallContext,
    call: GatewayCall,
    estimate: HoldEstimate,
    path: string,
    body: (completionTokens: number) => string,
    abort: CallAbort,
    progress: { upstreamStarted: boolean },
    relayEarly = false,
  ): Promise<AdmittedAnswer> {
    const send = (completionTokens: number) => {
      progress.upstreamStarted = !abort.aborted;
      const times: UpstreamTimes = { sentAt: performance.now(), firstByteAt: null, doneAt: null };
      call.upstream = times;
      return this.forwarder.send(call.route!.provider, path, body(completionTokens), abort, ctx.log).then(
        (answer) => {
          times.firstByteAt = performance.now();
          return answer;
        },
        (err: unknown) => {
          times.doneAt = performance.now();
          if (err instanceof UpstreamFailure) return err;
          throw err;
        },
      );
    };
    let forwarded: Promise<UpstreamAnswer | UpstreamFailure>;
    if (this.admission.mayOverlap(ctx.principal.userId, call, estimate)) {
      // The hold's refusal (already recorded by admission), or null once it is admitted.
      const refusal = this.admission.hold(ctx, call, { ...estimate, cappable: false }).then(
        () => null,
        (err: unknown) => err,
      );
      forwarded = send(estimate.completionTokens);
      const refuseLate = async (err: unknown): Promise<never> => {
        abort.abort();
        progress.upstreamStarted = false; // aborted by us, not the client: nothing to bill
        const late = await forwarded.catch(() => null);
        if (late && !(late instanceof UpstreamFailure)) late.response.body.destroy();
        throw err;
      };
      if (relayEarly) {
        // A stream may start before its hold has answered: whichever comes first.
        const answered = forwarded.then(
          (r) => (r instanceof UpstreamFailure ? null : r),
          () => null, // thrown again below, once the hold has answered
        );
        const first = await Promise.race([refusal.then(() => null), answered]);
        if (first) return { answer: first, refusal };
      }
      const err = await refusal;
      if (err !== null) await refuseLate(err);
    } else {
      const { completionTokens } = await this.admission.hold(ctx, call, estimate);
      forwarded = send(completionTokens);
    }
    const result = await forwarded;
    if (result instanceof UpstreamFailure) {
      if (abort.aborted) throw result.error; // the client left: recordUnexpected bills the prompt
      await this.callLog
        .write(ctx, call, {
          status: 'failed',
          usage: null,
          credentialId: result.credential?.id ?? null,
          upstreamStatus: result.upstreamStatus,
          error: { code: result.error.code, message: result.error.message },
        })
        .catch((err: Error) => ctx.log.warn(GatewayService.name, `failed call ${call.callId} not recorded: ${err.message}`));
      throw result.error;
    }
    return { answer: result, refusal: null };
  }

  /**
   * Records a finished call before its answer is sent.
   * @throws DomainError 503 record_failed when the record is nowhere durable: the client does not
   *   get an answer that was not recorded
   */
  private async recordOrUnavailable(ctx: CallContext, call: GatewayCall, outcome: Parameters<CallLog['write']>[2]): Promise<void> {
    try {
      await this.callLog.write(ctx, call, outcome);
    } catch (err) {
      ctx.log.error(GatewayService.name, `call ${call.callId} could not be recorded: ${(err as Error).message}`);
      throw GatewayErrors.recordFailed();
    }
  }

  /**
   * Every admitted call is recorded exactly once. For an error not already recorded: a client
   * that left after the request went upstream is billed for the prompt tokens ('aborted',
   * counted off the event loop); anything else is a failed call, not billed.
   */
  private async recordUnexpected(
    ctx: CallContext,
    call: GatewayCall,
    countPromptIfAborted: (() => Promise<number>) | null,
    err: unknown,
  ): Promise<void> {
    if (call.recording) {
      await call.recording.catch(() => undefined);
      return;
    }
    try {
      if (countPromptIfAborted) {
        await this.callLog.write(ctx, call, {
          status: 'aborted',
          usage: { promptTokens: await countPromptIfAborted(), completionTokens: 0, source: 'tokenizer' },
          credentialId: null,
          upstreamStatus: null,
          error: { code: 'client_closed', message: 'client closed the connection before the response' },
        });
        return;
      }
      if (!(err instanceof DomainError))
        ctx.log.error(GatewayService.name, `call ${call.callId} failed after admission: ${(err as Error)?.stack ?? String(err)}`);
      await this.callLog.write(ctx, call, {
        status: 'failed',
        usage: null,
        credentialId: null,
        upstreamStatus: null,
        error:
          err instanceof DomainError
            ? { code: err.code, message: err.message }
            : { code: 'internal_error', message: (err as Error)?.message ?? 'internal error' },
      });
    } catch (recordErr) {
      ctx.log.error(GatewayService.name, `call ${call.callId} could not be recorded: ${(recordErr as Error).message}`);
    }
  }

  /** Tokens of a chat completion response: its `usage`, else counted from prompt and content. */
  private async meterChatJson(buf: Buffer, messages: ChatMessageLike[]): Promise<MeteredUsage> {
    const parsed = parseJson(buf);
    const reported = readUsage(parsed?.usage);
    if (reported) return { ...reported, source: 'upstream' };
    const choices = Array.isArray(parsed?.choices) ? (parsed.choices as { message?: { content?: unknown } }[]) : [];
    const text = choices.map((c) => (typeof c?.message?.content === 'string' ? c.message.content : '')).join('');
    return {
      promptTokens: await this.tokens.countPrompt(messages),
      completionTokens: await this.tokens.countText(text),
      source: 'tokenizer',
    };
  }
}

/**
 * Follows the client of one call. When its connection closes before the answer is finished,
 * `abort` fires (the upstream request and relay stop), `progress.clientLeft` is set (an abort of our
 * own, a late refusal, leaves it false) and `releaseSlot` gives the call's in-flight slot back at
 * once. `progress.upstreamStarted` says whether the request had gone to the provider by then (the
 * prompt is billed); `stop` ends the watch.
 */
function watchClient(
  ctx: CallContext,
  releaseSlot: () => void,
): {
  abort: CallAbort;
  progress: { upstreamStarted: boolean; clientLeft: boolean };
  stop: () => void;
} {
  const abort = new CallAbort();
  const progress = { upstreamStarted: false, clientLeft: false };
  const onClose = () => {
    if (ctx.res.writableFinished) return;
    progress.clientLeft = true;
    abort.abort();
    // The upstream request ends with the abort, so the call no longer holds a connection: its
    // in-flight slot goes back now, not once the call is metered and recorded (metering an
    // abandoned call may wait for the tokenizer, and the record for the database).
    releaseSlot();
  };
  ctx.res.on('close', onClose);
  return { abort, progress, stop: () => ctx.res.off('close', onClose) };
}

function validateChatBody(raw: unknown): ChatBody {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw GatewayErrors.invalidRequest('The request body must be a JSON object');
  const b = raw as Partial<ChatBody>;
  if (typeof b.model !== 'string' || b.model.length === 0 || b.model.length > 256)
    throw GatewayErrors.invalidRequest('model must be a non-empty string', 'model');
  if (!Array.isArray(b.messages) || b.messages.length === 0)
    throw GatewayErrors.invalidRequest('messages must be a non-empty array', 'messages');
  for (const m of b.messages) {
    if (!m || typeof m !== 'object' || typeof (m as ChatMessageLike).role !== 'string')
      throw GatewayErrors.invalidRequest('each message needs a role', 'messages');
  }
  if (b.stream !== undefined && typeof b.stream !== 'boolean') throw GatewayErrors.invalidRequest('stream must be a boolean', 'stream');
  for (const k of ['max_tokens', 'max_completion_tokens'] as const) {
    const v = b[k];
    if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_COMPLETION_TOKENS)) {
      throw GatewayErrors.invalidRequest(`${k} must be an integer from 1 to ${MAX_COMPLETION_TOKENS}`, k);
    }
  }
  return b as ChatBody;
}

function validateEmbeddingsBody(raw: unknown): EmbeddingsBody {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw GatewayErrors.invalidRequest('The request body must be a JSON object');
  const b = raw as Partial<EmbeddingsBody>;
  if (typeof b.model !== 'string' || b.model.length === 0 || b.model.length > 256)
    throw GatewayErrors.invalidRequest('model must be a non-empty string', 'model');
  const ok = typeof b.input === 'string' || (Array.isArray(b.input) && b.input.length > 0);
  if (!ok) throw GatewayErrors.invalidRequest('input must be a string or a non-empty array', 'input');
  return b as EmbeddingsBody;
}

function positiveInt(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null;
}

async function readAll(response: Dispatcher.ResponseData): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of response.body) parts.push(chunk as Buffer);
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

function parseJson(buf: Buffer): Record<string, unknown> | null {
  try {
    const v = JSON.parse(buf.toString('utf8')) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function sendJson(ctx: CallContext, status: number, buf: Buffer): void {
  ctx.res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': buf.length,
    'x-request-id': ctx.requestId,
  });
  ctx.res.end(buf);
}
