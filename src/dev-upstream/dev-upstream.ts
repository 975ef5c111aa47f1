/**
 * Bundled OpenAI-compatible upstream for development, tests, the demo and benchmarks.
 *
 * A deliberately small `node:http` server (no framework) that answers chat completions (plain and
 * streamed), embeddings and the model list deterministically, with usage counted by the same
 * functions the gateway uses when an upstream reports none (src/metering/token-counter.ts). It is
 * a dev/test tool, not something users deploy.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  countEmbeddingInputTokens,
  countPromptTokens,
  countTextTokens,
  messageText,
  type ChatMessageLike,
} from '../metering/token-counter';

/** Options of the dev upstream. All durations are in milliseconds. */
export interface DevUpstreamOptions {
  /** Interface to listen on. Default `127.0.0.1` (loopback). Fixed after start. */
  host?: string;
  /** TCP port; `0` picks a free one. Default `0`. Fixed after start. */
  port?: number;
  /** Delay (ms) before answering each request (before the status line). Default `0`. */
  latencyMs?: number;
  /**
   * Fraction (0..1) of requests answered with HTTP 500. Deterministic: every
   * `round(1 / errorRate)`-th routed, authorized request fails (so 1 → all, 0.5 → every 2nd,
   * 0.1 → every 10th). Default `0`.
   */
  errorRate?: number;
  /** When set (non-empty), every request must carry `Authorization: Bearer <apiKey>`, else 401. */
  apiKey?: string;
  /** Delay (ms) between the events of a streamed response. Default `0`. */
  chunkDelayMs?: number;
  /** Model ids listed by `GET /v1/models`. Default `['mock-model']`. */
  models?: string[];
}

/** Request counters of a running dev upstream, for assertions in tests. */
export interface DevUpstreamStats {
  /** Requests received (every request, including 401/404 answers). */
  requests: number;
  /** Requests per raw request path (query string removed), e.g. `{'/v1/chat/completions': 3}`. */
  byPath: Record<string, number>;
  /**
   * `Authorization` header values of the last 1000 requests, oldest first (`''` when the header
   * was absent), so tests can check which credential the gateway used.
   */
  authorizations: string[];
}

/** A running dev upstream. */
export interface DevUpstream {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:41234/v1` (use as an OpenAI `baseURL`). */
  url: string;
  /** The port actually listened on. */
  port: number;
  /** Live counters (mutated in place). */
  stats: DevUpstreamStats;
  /**
   * Changes options of the running server; applies to requests received afterwards. `host` and
   * `port` cannot change (throws if they differ). Changing `errorRate` restarts its counter.
   * Throws a RangeError/TypeError on invalid values, leaving the options unchanged.
   */
  configure(patch: Partial<DevUpstreamOptions>): void;
  /** Stops listening, drops open connections, cancels pending delays. Idempotent. */
  close(): Promise<void>;
}

interface ResolvedOptions {
  host: string;
  port: number;
  latencyMs: number;
  errorRate: number;
  apiKey: string | undefined;
  chunkDelayMs: number;
  models: string[];
}

/** Per-request directives parsed from `#mock:…` markers. */
interface Directives {
  status?: number;
  words?: number;
  noUsage: boolean;
  chunkDelayMs?: number;
  latencyMs?: number;
  drop: boolean;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

const MAX_BODY_BYTES = 32 * 1024 * 1024;
const MAX_DELAY_MS = 10 * 60 * 1000;
const MAX_WORDS = 100_000;
const AUTH_HISTORY = 1000;
const EMBEDDING_DIMENSIONS = 8;
/** Fixed `created` of listed models (deterministic output). */
const MODEL_CREATED = 1_700_000_000;
const DIRECTIVE_RE = /#mock:([a-z][a-z-]*)(?:=([^\s#]*))?/gi;
/** Word-ish pieces: optional leading whitespace + non-space run; trailing whitespace alone. */
const PIECE_RE = /\s*\S+|\s+/g;

const DEFAULTS: ResolvedOptions = {
  host: '127.0.0.1',
  port: 0,
  latencyMs: 0,
  errorRate: 0,
  apiKey: undefined,
  chunkDelayMs: 0,
  models: ['mock-model'],
};

function checkDuration(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_DELAY_MS) {
    throw new RangeError(`dev upstream: ${name} must be a number of ms in 0..${MAX_DELAY_MS}, got ${String(v)}`);
  }
  return v;
}

function applyOptions(base: ResolvedOptions, patch: Partial<DevUpstreamOptions>): ResolvedOptions {
  const next: ResolvedOptions = { ...base, models: [...base.models] };
  if (patch.host !== undefined) {
    if (typeof patch.host !== 'string' || patch.host.length === 0) throw new TypeError('dev upstream: host must be a non-empty string');
    next.host = patch.host;
  }
  if (patch.port !== undefined) {
    if (!Number.isInteger(patch.port) || patch.port < 0 || patch.port > 65535) {
      throw new RangeError(`dev upstream: port must be an integer in 0..65535, got ${String(patch.port)}`);
    }
    next.port = patch.port;
  }
  if (patch.latencyMs !== undefined) next.latencyMs = checkDuration('latencyMs', patch.latencyMs);
  if (patch.chunkDelayMs !== undefined) next.chunkDelayMs = checkDuration('chunkDelayMs', patch.chunkDelayMs);
  if (patch.errorRate !== undefined) {
    const r = patch.errorRate;
    if (typeof r !== 'number' || !Number.isFinite(r) || r < 0 || r > 1) {
      throw new RangeError(`dev upstream: errorRate must be a number in 0..1, got ${String(r)}`);
    }
    next.errorRate = r;
  }
  if ('apiKey' in patch) {
    if (patch.apiKey !== undefined && typeof patch.apiKey !== 'string') throw new TypeError('dev upstream: apiKey must be a string');
    next.apiKey = patch.apiKey ? patch.apiKey : undefined;
  }
  if (patch.models !== undefined) {
    if (!Array.isArray(patch.models) || patch.models.length === 0 || !patch.models.every((m) => typeof m === 'string' && m.length > 0)) {
      throw new TypeError('dev upstream: models must be a non-empty array of non-empty strings');
    }
    next.models = [...patch.models];
  }
  return next;
}

function errorPeriod(errorRate: number): number {
  return errorRate > 0 ? Math.max(1, Math.round(1 / errorRate)) : 0;
}

function errorBody(message: string, type: string, code: string | null, param: string | null = null): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

/** OpenAI-like error type/code for a simulated status. */
function simulatedError(status: number): HttpError {
  const message = `dev upstream: simulated HTTP ${status} (#mock:status)`;
  if (status === 401) return new HttpError(status, message, 'invalid_request_error', 'invalid_api_key');
  if (status === 403) return new HttpError(status, message, 'permission_error', 'mock_status');
  if (status === 429) return new HttpError(status, message, 'requests', 'rate_limit_exceeded');
  if (status >= 500) return new HttpError(status, message, 'server_error', 'mock_status');
  return new HttpError(status, message, 'invalid_request_error', 'mock_status');
}

function badRequest(message: string, param: string | null = null): HttpError {
  return new HttpError(400, message, 'invalid_request_error', null, param);
}

function parseIntDirective(name: string, value: string | undefined, min: number, max: number): number {
  if (value === undefined || !/^\d+$/.test(value)) throw badRequest(`dev upstream: #mock:${name} needs an integer value`);
  const n = Number(value);
  if (n < min || n > max) throw badRequest(`dev upstream: #mock:${name} must be in ${min}..${max}`);
  return n;
}

/** Parses `#mock:…` directives from `text`; returns them and the text with them removed. */
function parseDirectives(text: string): { directives: Directives; rest: string } {
  const directives: Directives = { noUsage: false, drop: false };
  if (!text.includes('#mock:')) return { directives, rest: text };
  const rest = text.replace(DIRECTIVE_RE, (_m, rawName: string, value: string | undefined) => {
    const name = rawName.toLowerCase();
    switch (name) {
      case 'status':
        directives.status = parseIntDirective(name, value, 400, 599);
        break;
      case 'words':
        directives.words = parseIntDirective(name, value, 0, MAX_WORDS);
        break;
      case 'chunk-delay':
        directives.chunkDelayMs = parseIntDirective(name, value, 0, MAX_DELAY_MS);
        break;
      case 'latency':
        directives.latencyMs = parseIntDirective(name, value, 0, MAX_DELAY_MS);
        break;
      case 'no-usage':
        directives.noUsage = true;
        break;
      case 'drop':
        directives.drop = true;
        break;
      default:
        throw badRequest(`dev upstream: unknown directive #mock:${name}`);
    }
    return '';
  });
  return { directives, rest };
}

/** Splits text into word-ish pieces whose concatenation is exactly `text`. */
function splitPieces(text: string): string[] {
  return text.match(PIECE_RE) ?? [];
}

/**
 * Cuts `text` to a prefix of at most `maxTokens` tokens (o200k_base, as countTextTokens counts).
 * Cuts at word-ish piece boundaries, then fills the remaining budget with a character prefix of
 * the next piece. Never decodes token ids (gpt-tokenizer's shared streaming TextDecoder would keep
 * partial UTF-8 bytes between calls).
 */
function truncateToTokens(text: string, maxTokens: number, totalTokens: number): { text: string; tokens: number; cut: boolean } {
  if (totalTokens <= maxTokens) return { text, tokens: totalTokens, cut: false };
  if (maxTokens <= 0) return { text: '', tokens: 0, cut: true };
  const pieces = splitPieces(text);
  // Largest k with tokens(pieces[0..k)) <= maxTokens. Every piece holds ≥ 1 token, so k is
  // (practically) ≤ maxTokens; the bound only limits the search, the result is always verified.
  let lo = 0;
  let loText = '';
  let loTokens = 0;
  let hi = Math.min(pieces.length, 2 * maxTokens + 2);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    const candidate = pieces.slice(0, mid).join('');
    const tokens = countTextTokens(candidate);
    if (tokens <= maxTokens) {
      lo = mid;
      loText = candidate;
      loTokens = tokens;
    } else {
      hi = mid - 1;
    }
  }
  if (loTokens < maxTokens && lo < pieces.length) {
    // Partial next piece, by code points.
    const chars = Array.from(pieces[lo]);
    let clo = 0;
    let cloText = loText;
    let cloTokens = loTokens;
    let chi = chars.length - 1;
    while (clo < chi) {
      const mid = (clo + chi + 1) >> 1;
      const candidate = loText + chars.slice(0, mid).join('');
      const tokens = countTextTokens(candidate);
      if (tokens <= maxTokens) {
        clo = mid;
        cloText = candidate;
        cloTokens = tokens;
      } else {
        chi = mid - 1;
      }
    }
    loText = cloText;
    loTokens = cloTokens;
  }
  return { text: loText, tokens: loTokens, cut: true };
}

function wordsText(n: number): string {
  const words = new Array<string>(n);
  for (let i = 0; i < n; i++) words[i] = `word${i + 1}`;
  return words.join(' ');
}

/** Deterministic unit-length float32 vector from a SHA-256 of the input item. */
function embeddingVector(item: unknown): Float32Array {
  const digest = createHash('sha256')
    .update(typeof item === 'string' ? item : JSON.stringify(item))
    .digest();
  const v = new Float32Array(EMBEDDING_DIMENSIONS);
  let norm = 0;
  for (let i = 0; i < EMBEDDING_DIMENSIONS; i++) {
    const x = (digest.readUInt32LE(i * 4) / 0xffffffff) * 2 - 1;
    v[i] = x;
    norm += x * x;
  }
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < EMBEDDING_DIMENSIONS; i++) v[i] = v[i] / norm;
  return v;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        failed = true;
        reject(new HttpError(413, `dev upstream: request body over ${MAX_BODY_BYTES} bytes`, 'invalid_request_error', 'body_too_large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!failed) {
        failed = true;
        reject(err);
      }
    });
  });
}

function parseJsonObject(buf: Buffer): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(buf.toString('utf8'));
  } catch {
    throw badRequest('We could not parse the JSON body of your request. (dev upstream: invalid JSON)');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('dev upstream: the request body must be a JSON object');
  return body as Record<string, unknown>;
}

function requireModel(body: Record<string, unknown>): string {
  if (typeof body.model !== 'string' || body.model.length === 0) throw badRequest('you must provide a model parameter', 'model');
  return body.model;
}

/** Start a dev upstream; resolves once it listens. See DevUpstreamOptions for defaults. */
export async function startDevUpstream(opts: DevUpstreamOptions = {}): Promise<DevUpstream> {
  let options = applyOptions(DEFAULTS, opts);
  let period = errorPeriod(options.errorRate);
  let errorCounter = 0;
  let closed = false;
  let seq = 0;
  const instanceTag = randomBytes(4).toString('hex');
  const stats: DevUpstreamStats = { requests: 0, byPath: Object.create(null) as Record<string, number>, authorizations: [] };
  const sleeps = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  /** Resolves after `ms`, or at once when the server closes. */
  const sleep = (ms: number): Promise<void> =>
    ms <= 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const entry = {
            timer: setTimeout(() => {
              sleeps.delete(entry);
              resolve();
            }, ms),
            resolve,
          };
          sleeps.add(entry);
        });

  const nextId = (prefix: string): string => `${prefix}-dev${instanceTag}${(++seq).toString(36).padStart(6, '0')}`;

  const sendJson = (res: ServerResponse, status: number, body: string, requestId: string): void => {
    if (res.destroyed || res.headersSent) return;
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-request-id': requestId,
    });
    res.end(body);
  };

  const sendError = (res: ServerResponse, err: HttpError, requestId: string): void =>
    sendJson(res, err.status, errorBody(err.message, err.type, err.code, err.param), requestId);

  /** Applies latency/drop/status directives; returns false when the request was already answered. */
  const preamble = async (req: IncomingMessage, res: ServerResponse, d: Directives, requestId: string): Promise<boolean> => {
    await sleep(d.latencyMs ?? options.latencyMs);
    if (closed || res.destroyed) return false;
    if (d.drop) {
      req.socket.destroy();
      return false;
    }
    if (d.status !== undefined) {
      sendError(res, simulatedError(d.status), requestId);
      return false;
    }
    return true;
  };

  const handleChat = async (req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>, requestId: string): Promise<void> => {
    const model = requireModel(body);
    const messages = body.messages;
    if (!Array.isArray(messages) || messages.length === 0) throw badRequest("'messages' must be a non-empty array", 'messages');
    for (const m of messages) {
      if (m === null || typeof m !== 'object' || typeof (m as { role?: unknown }).role !== 'string') {
        throw badRequest("each message must be an object with a string 'role'", 'messages');
      }
    }
    const maxRaw = body.max_completion_tokens ?? body.max_tokens;
    if (maxRaw !== undefined && maxRaw !== null && (typeof maxRaw !== 'number' || !Number.isInteger(maxRaw) || maxRaw < 0)) {
      throw badRequest('max_tokens / max_completion_tokens must be a non-negative integer', 'max_tokens');
    }
    const maxTokens = typeof maxRaw === 'number' ? maxRaw : undefined;

    let lastUser: ChatMessageLike | undefined;
    for (let i = messages.length - 1; i >= 0; i--) {
      if ((messages[i] as ChatMessageLike).role === 'user') {
        lastUser = messages[i] as ChatMessageLike;
        break;
      }
    }
    const { directives, rest } = parseDirectives(lastUser ? messageText(lastUser.content) : '');
    if (!(await preamble(req, res, directives, requestId))) return;

    let text: string;
    if (directives.words !== undefined) {
      text = wordsText(directives.words);
    } else {
      const echoed = rest.trim();
      text = echoed.length > 0 ? `Echo: ${echoed}` : 'Echo.';
    }
    let completionTokens = countTextTokens(text);
    let finishReason: 'stop' | 'length' = 'stop';
    if (maxTokens !== undefined) {
      const t = truncateToTokens(text, maxTokens, completionTokens);
      text = t.text;
      completionTokens = t.tokens;
      if (t.cut) finishReason = 'length';
    }
    const promptTokens = countPromptTokens(messages as ChatMessageLike[]);
    const usage = directives.noUsage
      ? undefined
      : { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    const id = nextId('chatcmpl');
    const created = Math.floor(Date.now() / 1000);

    if (body.stream !== true) {
      const response: Record<string, unknown> = {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: finishReason }],
      };
      if (usage) response.usage = usage;
      sendJson(res, 200, JSON.stringify(response), requestId);
      return;
    }

    const streamOptions = body.stream_options as { include_usage?: unknown } | null | undefined;
    const includeUsage = !!usage && streamOptions !== null && typeof streamOptions === 'object' && streamOptions.include_usage === true;
    const head = `{"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"choices":`;
    const tail = includeUsage ? ',"usage":null}' : '}';
    const choice = (delta: Record<string, unknown>, finish: string | null): string =>
      `data: ${head}[${JSON.stringify({ index: 0, delta, logprobs: null, finish_reason: finish })}]${tail}\n\n`;
    const events: string[] = [choice({ role: 'assistant', content: '' }, null)];
    for (const piece of splitPieces(text)) events.push(choice({ content: piece }, null));
    events.push(choice({}, finishReason));
    if (includeUsage) events.push(`data: ${head}[],"usage":${JSON.stringify(usage)}}\n\n`);
    events.push('data: [DONE]\n\n');

    if (res.destroyed) return;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-request-id': requestId,
    });
    const delay = directives.chunkDelayMs ?? options.chunkDelayMs;
    if (delay <= 0) {
      res.end(events.join(''));
      return;
    }
    for (let i = 0; i < events.length; i++) {
      if (closed || res.destroyed) return;
      res.write(events[i]);
      if (i < events.length - 1) await sleep(delay);
    }
    if (!res.destroyed) res.end();
  };

  const handleEmbeddings = async (
    req: IncomingMessage,
    res: ServerResponse,
    body: Record<string, unknown>,
    requestId: string,
  ): Promise<void> => {
    const model = requireModel(body);
    const input = body.input;
    let items: unknown[];
    if (typeof input === 'string') {
      items = [input];
    } else if (Array.isArray(input) && input.length > 0) {
      if (input.every((x) => typeof x === 'number')) items = [input];
      else if (input.every((x) => typeof x === 'string') || input.every((x) => Array.isArray(x) && x.every((t) => typeof t === 'number')))
        items = input;
      else throw badRequest("'input' must be a string, an array of strings, an array of token ids or an array of token arrays", 'input');
    } else {
      throw badRequest("'input' must be a non-empty string or array", 'input');
    }
    const format = body.encoding_format ?? 'float';
    if (format !== 'float' && format !== 'base64') throw badRequest("'encoding_format' must be 'float' or 'base64'", 'encoding_format');

    const directiveText = items.filter((x): x is string => typeof x === 'string').join('\n');
    const { directives } = parseDirectives(directiveText);
    if (!(await preamble(req, res, directives, requestId))) return;

    const data = items.map((item, index) => {
      const v = embeddingVector(item);
      return {
        object: 'embedding',
        index,
        embedding: format === 'base64' ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Array.from(v),
      };
    });
    const tokens = countEmbeddingInputTokens(input);
    const response: Record<string, unknown> = { object: 'list', data, model };
    if (!directives.noUsage) response.usage = { prompt_tokens: tokens, total_tokens: tokens };
    sendJson(res, 200, JSON.stringify(response), requestId);
  };

  const modelObject = (id: string) => ({ id, object: 'model', created: MODEL_CREATED, owned_by: 'tollgate-dev-upstream' });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = nextId('req');
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const pathname = q === -1 ? rawUrl : rawUrl.slice(0, q);
    stats.requests++;
    stats.byPath[pathname] = (stats.byPath[pathname] ?? 0) + 1;
    stats.authorizations.push(req.headers.authorization ?? '');
    if (stats.authorizations.length > AUTH_HISTORY) stats.authorizations.shift();

    let route = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
    if (route === '/v1') route = '/';
    else if (route.startsWith('/v1/')) route = route.slice(3);
    const method = req.method ?? 'GET';

    try {
      if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
        req.resume();
        throw new HttpError(
          401,
          req.headers.authorization ? 'Incorrect API key provided. (dev upstream)' : "You didn't provide an API key. (dev upstream)",
          'invalid_request_error',
          'invalid_api_key',
        );
      }
      let kind: 'chat' | 'embeddings' | 'models' | 'model';
      if (method === 'POST' && route === '/chat/completions') kind = 'chat';
      else if (method === 'POST' && route === '/embeddings') kind = 'embeddings';
      else if (method === 'GET' && route === '/models') kind = 'models';
      else if (method === 'GET' && route.startsWith('/models/') && route.length > 8) kind = 'model';
      else {
        req.resume();
        throw new HttpError(404, `Invalid URL (${method} ${pathname})`, 'invalid_request_error', 'not_found');
      }

      if (period > 0 && ++errorCounter % period === 0) {
        req.resume();
        await sleep(options.latencyMs);
        throw new HttpError(500, 'dev upstream: simulated server error (errorRate)', 'server_error', 'simulated_error');
      }

      if (kind === 'models' || kind === 'model') {
        req.resume();
        await sleep(options.latencyMs);
        if (kind === 'models') {
          sendJson(res, 200, JSON.stringify({ object: 'list', data: options.models.map(modelObject) }), requestId);
        } else {
          const id = decodeURIComponent(route.slice(8));
          if (!options.models.includes(id))
            throw new HttpError(404, `The model '${id}' does not exist`, 'invalid_request_error', 'model_not_found', 'model');
          sendJson(res, 200, JSON.stringify(modelObject(id)), requestId);
        }
        return;
      }

      const body = parseJsonObject(await readBody(req));
      if (kind === 'chat') await handleChat(req, res, body, requestId);
      else await handleEmbeddings(req, res, body, requestId);
    } catch (err) {
      if (closed || res.destroyed) return;
      if (err instanceof HttpError) {
        sendError(res, err, requestId);
      } else if (!res.headersSent) {
        sendError(
          res,
          new HttpError(500, `dev upstream: internal error: ${(err as Error)?.message ?? String(err)}`, 'server_error', 'internal_error'),
          requestId,
        );
      } else {
        res.destroy();
      }
    }
  };

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = options.host.includes(':') ? `[${options.host}]` : options.host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}/v1`,
    port,
    stats,
    configure(patch: Partial<DevUpstreamOptions>): void {
      if (patch.host !== undefined && patch.host !== options.host) throw new Error('dev upstream: host cannot change after start');
      if (patch.port !== undefined && patch.port !== options.port && patch.port !== port)
        throw new Error('dev upstream: port cannot change after start');
      const { host: _host, port: _port, ...rest } = patch;
      const next = applyOptions(options, rest);
      if (next.errorRate !== options.errorRate) {
        period = errorPeriod(next.errorRate);
        errorCounter = 0;
      }
      options = next;
    },
    close(): Promise<void> {
      if (!closing) {
        closed = true;
        closing = new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
          for (const entry of sleeps) {
            clearTimeout(entry.timer);
            entry.resolve();
          }
          sleeps.clear();
        });
      }
      return closing;
    },
  };
}
