import { Injectable, Logger } from '@nestjs/common';
import { Dispatcher } from 'undici';
import { ModelCallStatus } from '../generated/prisma/enums';
import { countEmbeddingInputTokens, countPromptTokens, countTextTokens, ChatMessageLike } from '../metering/token-counter';
import { CatalogService } from '../providers/catalog.service';
import { CallAdmissionService, HoldEstimate, isModelAllowed } from './call-admission.service';
import { CallContext, MeteredUsage, readUsage } from './call-context';
import { CallLog, GatewayCall } from './call-log.service';
import { GatewayError } from './openai-error';
import { relayStream } from './stream-relay';
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
    private readonly callLog: CallLog,
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
    const estimate: HoldEstimate = {
      promptTokens: estimatePromptTokens(body.messages),
      completionTokens: maxTokens ?? this.admission.defaultCompletionTokens,
    };
    const call = await this.admission.route(ctx, body.model, 'chatCompletion', stream);
    const clientWantsUsage = stream && body.stream_options?.include_usage === true;
    const upstreamBody = JSON.stringify({
      ...body,
      model: call.route!.model,
      ...(stream ? { stream_options: { ...(body.stream_options ?? {}), include_usage: true } } : {}),
    });
    const abort = new AbortController();
    const onClose = () => {
      if (!ctx.res.writableFinished) abort.abort();
    };
    ctx.res.on('close', onClose);
    try {
      const answer = await this.admitAndForward(ctx, call, estimate, '/chat/completions', upstreamBody, abort);
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
        await this.callLog.write(ctx, call, { status, usage, credentialId: answer.credential.id, upstreamStatus: answer.response.statusCode, error });
        if (!ctx.res.writableEnded) ctx.res.end();
        return;
      }
      const buf = await readAll(answer.response);
      const usage = meterChatJson(buf, body.messages);
      await this.callLog.write(ctx, call, { status: 'success', usage, credentialId: answer.credential.id, upstreamStatus: answer.response.statusCode, error: null });
      sendJson(ctx, answer.response.statusCode, buf);
    } catch (err) {
      await this.recordUnexpected(ctx, call, abort.signal.aborted ? countPromptTokens(body.messages) : 0, err);
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
    const estimate: HoldEstimate = { promptTokens: estimateInputTokens(body.input), completionTokens: 0 };
    const call = await this.admission.route(ctx, body.model, 'embedding', false);
    const abort = new AbortController();
    const onClose = () => {
      if (!ctx.res.writableFinished) abort.abort();
    };
    ctx.res.on('close', onClose);
    try {
      const answer = await this.admitAndForward(ctx, call, estimate, '/embeddings', JSON.stringify({ ...body, model: call.route!.model }), abort);
      const buf = await readAll(answer.response);
      const reported = readUsage(parseJson(buf)?.usage);
      const usage: MeteredUsage = reported
        ? { ...reported, completionTokens: 0, source: 'upstream' }
        : { promptTokens: countEmbeddingInputTokens(body.input), completionTokens: 0, source: 'tokenizer' };
      await this.callLog.write(ctx, call, { status: 'success', usage, credentialId: answer.credential.id, upstreamStatus: answer.response.statusCode, error: null });
      sendJson(ctx, answer.response.statusCode, buf);
    } catch (err) {
      await this.recordUnexpected(ctx, call, abort.signal.aborted ? countEmbeddingInputTokens(body.input) : 0, err);
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

  /**
   * Holds credits and forwards the call upstream. When the user's last hold showed ample
   * headroom the two run at the same time (CallAdmissionService.mayOverlap); otherwise the hold
   * comes first. Nothing is recorded before the hold has resolved, so a hold is never left
   * behind by a call that was already recorded.
   * @throws GatewayError 402 (refused hold) or the upstream failure (recorded, not billed)
   */
  private async admitAndForward(ctx: CallContext, call: GatewayCall, estimate: HoldEstimate, path: string, body: string, abort: AbortController): Promise<UpstreamAnswer> {
    const send = () => this.forwarder.send(call.route!.provider, path, body, abort.signal).catch((err: unknown) => {
      if (err instanceof UpstreamFailure) return err;
      throw err;
    });
    let forwarded: Promise<UpstreamAnswer | UpstreamFailure>;
    if (this.admission.mayOverlap(ctx.principal.userId, call, estimate)) {
      const held = this.admission.hold(ctx, call, estimate);
      forwarded = send();
      try {
        await held;
      } catch (err) {
        abort.abort();
        const late = await forwarded.catch(() => null);
        if (late && !(late instanceof UpstreamFailure)) late.response.body.destroy();
        throw err;
      }
    } else {
      await this.admission.hold(ctx, call, estimate);
      forwarded = send();
    }
    const result = await forwarded;
    if (result instanceof UpstreamFailure) {
      await this.callLog.write(ctx, call, {
        status: 'failed',
        usage: null,
        credentialId: result.credential?.id ?? null,
        upstreamStatus: result.upstreamStatus,
        error: { code: result.error.code, message: result.error.message },
      });
      throw result.error;
    }
    return result;
  }

  /**
   * Every admitted call is recorded exactly once. For an error not already recorded: a client
   * that left after the prompt reached the provider is billed for the prompt tokens ('aborted');
   * anything else is a failed call, not billed.
   */
  private async recordUnexpected(ctx: CallContext, call: GatewayCall, promptTokensIfAborted: number, err: unknown): Promise<void> {
    if (call.settled) return;
    if (promptTokensIfAborted > 0) {
      await this.callLog.write(ctx, call, {
        status: 'aborted',
        usage: { promptTokens: promptTokensIfAborted, completionTokens: 0, source: 'tokenizer' },
        credentialId: null,
        upstreamStatus: null,
        error: { code: 'client_closed', message: 'client closed the connection before the response' },
      });
      return;
    }
    this.log.error(`call ${call.callId} failed after admission: ${(err as Error)?.stack ?? String(err)}`);
    await this.callLog.write(ctx, call, {
      status: 'failed',
      usage: null,
      credentialId: null,
      upstreamStatus: null,
      error: { code: 'internal_error', message: (err as Error)?.message ?? 'internal error' },
    });
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
