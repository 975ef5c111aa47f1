import { Injectable, Logger } from '@nestjs/common';
import { Dispatcher } from 'undici';
import { Decimal } from '../common/decimal';
import { CallRecord } from '../credits/call-settlement.repository';
import { ModelCallStatus, ModelType } from '../generated/prisma/enums';
import { creditsFor } from '../metering/credits-formula';
import { countEmbeddingInputTokens, countPromptTokens, countTextTokens, ChatMessageLike } from '../metering/token-counter';
import { ModelCallRecorder } from '../model-calls/model-call-recorder.service';
import { CatalogService, RouteCredential } from '../providers/catalog.service';
import { AdmittedCall, CallAdmissionService, isModelAllowed } from './call-admission.service';
import { CallContext, MeteredUsage, readUsage } from './call-context';
import { GatewayError } from './openai-error';
import { relayStream } from './stream-relay';
import { UpstreamFailure, UpstreamForwarder } from './upstream-forwarder.service';

interface ChatBody {
  model: string;
  messages: ChatMessageLike[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  [k: string]: unknown;
}

interface EmbeddingsBody {
  model: string;
  input: unknown;
  [k: string]: unknown;
}

/**
 * The OpenAI-compatible gateway (issue 3; DESIGN.md "The hot path"): validates the request,
 * admits it (route, allowed models, credit hold), forwards it upstream, meters tokens, and
 * records + bills the call before the response is finished. Writes the HTTP response itself
 * (`ctx.res`) so streams pass through chunk by chunk.
 */
@Injectable()
export class GatewayService {
  private readonly log = new Logger(GatewayService.name);

  constructor(
    private readonly admission: CallAdmissionService,
    private readonly forwarder: UpstreamForwarder,
    private readonly recorder: ModelCallRecorder,
    private readonly catalog: CatalogService,
  ) {}

  /**
   * POST /v1/chat/completions. Non-streaming: relays the provider's JSON. `stream: true`: relays
   * SSE events as they arrive; asks the provider for the final usage chunk and drops that chunk
   * unless the client asked for it (`stream_options.include_usage`).
   * @throws GatewayError (400, 402, 403, 404, 429, 502, 503) before any byte is written
   */
  async chatCompletions(ctx: CallContext, raw: unknown): Promise<void> {
    const body = validateChatBody(raw);
    const stream = body.stream === true;
    const maxTokens = positiveInt(body.max_completion_tokens) ?? positiveInt(body.max_tokens);
    const call = await this.admission.admit(ctx, body.model, 'chatCompletion', {
      promptTokens: estimatePromptTokens(body.messages),
      completionTokens: maxTokens ?? this.admission.defaultCompletionTokens,
    }, stream);
    const clientWantsUsage = stream && body.stream_options?.include_usage === true;
    const upstreamBody = JSON.stringify({
      ...body,
      model: call.route.model,
      ...(stream ? { stream_options: { ...(body.stream_options ?? {}), include_usage: true } } : {}),
    });
    const abort = new AbortController();
    const onClose = () => {
      if (!ctx.res.writableFinished) abort.abort();
    };
    ctx.res.on('close', onClose);
    try {
      const answer = await this.forward(ctx, call, 'chatCompletion', '/chat/completions', upstreamBody, stream, abort.signal);
      if (stream) {
        const outcome = await relayStream(ctx, answer.response, clientWantsUsage, abort.signal);
        const usage: MeteredUsage = outcome.usage
          ? { ...outcome.usage, source: 'upstream' }
          : { promptTokens: countPromptTokens(body.messages), completionTokens: countTextTokens(outcome.completionText), source: 'tokenizer' };
        // A stream that broke off (either side) still delivered tokens: bill what was relayed.
        const status: ModelCallStatus = outcome.clientClosed || outcome.upstreamError ? 'aborted' : 'success';
        const error = outcome.upstreamError
          ? { code: 'upstream_stream_error', message: outcome.upstreamError }
          : outcome.clientClosed
            ? { code: 'client_closed', message: 'client closed the stream' }
            : null;
        await this.settle(ctx, call, 'chatCompletion', true, answer.credential, status, usage, answer.response.statusCode, error);
        if (!ctx.res.writableEnded) ctx.res.end();
        return;
      }
      const buf = await readAll(answer.response);
      const usage = meterChatJson(buf, body.messages);
      await this.settle(ctx, call, 'chatCompletion', false, answer.credential, 'success', usage, answer.response.statusCode, null);
      sendJson(ctx, answer.response.statusCode, buf);
    } catch (err) {
      await this.settleUnexpected(ctx, call, 'chatCompletion', stream, abort.signal.aborted ? countPromptTokens(body.messages) : 0, err);
      throw err;
    } finally {
      ctx.res.off('close', onClose);
    }
  }

  /**
   * POST /v1/embeddings: credits = prompt_tokens × inputRate.
   * @throws GatewayError as chatCompletions
   */
  async embeddings(ctx: CallContext, raw: unknown): Promise<void> {
    const body = validateEmbeddingsBody(raw);
    const call = await this.admission.admit(ctx, body.model, 'embedding', {
      promptTokens: estimateInputTokens(body.input),
      completionTokens: 0,
    }, false);
    const abort = new AbortController();
    const onClose = () => {
      if (!ctx.res.writableFinished) abort.abort();
    };
    ctx.res.on('close', onClose);
    try {
      const answer = await this.forward(ctx, call, 'embedding', '/embeddings', JSON.stringify({ ...body, model: call.route.model }), false, abort.signal);
      const buf = await readAll(answer.response);
      const reported = readUsage(parseJson(buf)?.usage);
      const usage: MeteredUsage = reported
        ? { ...reported, completionTokens: 0, source: 'upstream' }
        : { promptTokens: countEmbeddingInputTokens(body.input), completionTokens: 0, source: 'tokenizer' };
      await this.settle(ctx, call, 'embedding', false, answer.credential, 'success', usage, answer.response.statusCode, null);
      sendJson(ctx, answer.response.statusCode, buf);
    } catch (err) {
      await this.settleUnexpected(ctx, call, 'embedding', false, abort.signal.aborted ? countEmbeddingInputTokens(body.input) : 0, err);
      throw err;
    } finally {
      ctx.res.off('close', onClose);
    }
  }

  /**
   * GET /v1/models: the models this key may call, OpenAI's list shape
   * `{object:'list', data:[{id, object:'model', created, owned_by}]}`. A model offered by one
   * provider is listed by its name; where the key is limited to "provider/model", by that.
   */
  async listModels(ctx: CallContext): Promise<{ object: 'list'; data: { id: string; object: 'model'; created: number; owned_by: string }[] }> {
    const seen = new Set<string>();
    const data: { id: string; object: 'model'; created: number; owned_by: string }[] = [];
    for (const route of await this.catalog.routes()) {
      if (!isModelAllowed(ctx.principal.allowedModels, route)) continue;
      const bare = ctx.principal.allowedModels.length === 0 || ctx.principal.allowedModels.includes(route.model) || ctx.principal.allowedModels.includes('*');
      const id = bare ? route.model : `${route.provider.name}/${route.model}`;
      if (seen.has(id)) continue;
      seen.add(id);
      data.push({ id, object: 'model', created: 0, owned_by: route.provider.name });
    }
    return { object: 'list', data };
  }

  /** Forwards upstream; on failure records the failed call (not billed) and throws. */
  private async forward(ctx: CallContext, call: AdmittedCall, type: ModelType, path: string, body: string, stream: boolean, signal: AbortSignal) {
    try {
      return await this.forwarder.send(call.route.provider, path, body, signal);
    } catch (err) {
      if (!(err instanceof UpstreamFailure)) throw err;
      await this.settle(ctx, call, type, stream, err.credential, 'failed', { promptTokens: 0, completionTokens: 0, source: 'upstream' }, err.upstreamStatus, {
        code: err.error.code,
        message: err.error.message,
      });
      throw err.error;
    }
  }

  /**
   * Every admitted call is recorded exactly once. For an error not already recorded: a client
   * that left after the prompt reached the provider is billed for the prompt tokens ('aborted');
   * anything else is a failed call, not billed.
   */
  private async settleUnexpected(ctx: CallContext, call: AdmittedCall, type: ModelType, stream: boolean, promptTokensIfAborted: number, err: unknown): Promise<void> {
    if (call.settled) return;
    if (promptTokensIfAborted > 0) {
      await this.settle(ctx, call, type, stream, null, 'aborted', { promptTokens: promptTokensIfAborted, completionTokens: 0, source: 'tokenizer' }, null, {
        code: 'client_closed',
        message: 'client closed the connection before the response',
      });
      return;
    }
    this.log.error(`call ${call.callId} failed after admission: ${(err as Error)?.stack ?? String(err)}`);
    await this.settle(ctx, call, type, stream, null, 'failed', { promptTokens: 0, completionTokens: 0, source: 'upstream' }, null, {
      code: 'internal_error',
      message: (err as Error)?.message ?? 'internal error',
    });
  }

  private async settle(
    ctx: CallContext,
    call: AdmittedCall,
    type: ModelType,
    stream: boolean,
    credential: RouteCredential | null,
    status: ModelCallStatus,
    usage: MeteredUsage,
    upstreamStatus: number | null,
    error: { code: string; message: string } | null,
  ): Promise<void> {
    const billable = status !== 'failed' && this.admission.billingEnabled;
    const credits = status === 'failed' ? new Decimal(0) : creditsFor(usage.promptTokens, usage.completionTokens, call.route.inputRate, call.route.outputRate);
    const record: CallRecord = {
      id: call.callId,
      userId: ctx.principal.userId,
      apiKeyId: ctx.principal.keyId,
      providerId: call.route.provider.id,
      credentialId: credential?.id ?? null,
      model: call.route.model,
      type,
      status,
      stream,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      usageSource: status === 'failed' ? 'none' : usage.source,
      credits,
      durationMs: Date.now() - ctx.startedAt,
      appDid: ctx.appDid,
      requestId: ctx.requestId,
      upstreamStatus,
      errorCode: error?.code ?? null,
      errorMessage: error?.message ?? null,
      createdAt: new Date(ctx.startedAt),
      billable,
    };
    call.settled = true;
    await this.recorder.record(record);
  }
}

function validateChatBody(raw: unknown): ChatBody {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw GatewayError.invalidRequest('The request body must be a JSON object');
  const b = raw as Partial<ChatBody>;
  if (typeof b.model !== 'string' || b.model.length === 0 || b.model.length > 256) throw GatewayError.invalidRequest('model must be a non-empty string', 'model');
  if (!Array.isArray(b.messages) || b.messages.length === 0) throw GatewayError.invalidRequest('messages must be a non-empty array', 'messages');
  for (const m of b.messages) {
    if (!m || typeof m !== 'object' || typeof (m as ChatMessageLike).role !== 'string') throw GatewayError.invalidRequest('each message needs a role', 'messages');
  }
  if (b.stream !== undefined && typeof b.stream !== 'boolean') throw GatewayError.invalidRequest('stream must be a boolean', 'stream');
  for (const k of ['max_tokens', 'max_completion_tokens'] as const) {
    const v = b[k];
    if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) throw GatewayError.invalidRequest(`${k} must be a positive integer`, k);
  }
  return b as ChatBody;
}

function validateEmbeddingsBody(raw: unknown): EmbeddingsBody {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw GatewayError.invalidRequest('The request body must be a JSON object');
  const b = raw as Partial<EmbeddingsBody>;
  if (typeof b.model !== 'string' || b.model.length === 0 || b.model.length > 256) throw GatewayError.invalidRequest('model must be a non-empty string', 'model');
  const ok = typeof b.input === 'string' || (Array.isArray(b.input) && b.input.length > 0);
  if (!ok) throw GatewayError.invalidRequest('input must be a string or a non-empty array', 'input');
  return b as EmbeddingsBody;
}

function positiveInt(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null;
}

/**
 * Upper bound of prompt tokens for the credit hold, without tokenizing on the hot path: a token
 * is at least one UTF-8 byte and o200k averages ~4 bytes, so bytes / 2 plus framing per message
 * covers real prompts.
 */
function estimatePromptTokens(messages: ChatMessageLike[]): number {
  return Math.ceil(Buffer.byteLength(JSON.stringify(messages)) / 2) + 4 * messages.length;
}

function estimateInputTokens(input: unknown): number {
  return Math.ceil(Buffer.byteLength(JSON.stringify(input)) / 2) + 1;
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

/** Tokens of a chat completion response: its `usage`, else counted from prompt and content. */
function meterChatJson(buf: Buffer, messages: ChatMessageLike[]): MeteredUsage {
  const parsed = parseJson(buf);
  const reported = readUsage(parsed?.usage);
  if (reported) return { ...reported, source: 'upstream' };
  const choices = Array.isArray(parsed?.choices) ? (parsed.choices as { message?: { content?: unknown } }[]) : [];
  const text = choices.map((c) => (typeof c?.message?.content === 'string' ? c.message.content : '')).join('');
  return { promptTokens: countPromptTokens(messages), completionTokens: countTextTokens(text), source: 'tokenizer' };
}

function sendJson(ctx: CallContext, status: number, buf: Buffer): void {
  ctx.res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': buf.length,
    'x-request-id': ctx.requestId,
  });
  ctx.res.end(buf);
}
