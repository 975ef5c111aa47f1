import type { ServerResponse } from 'node:http';
import { PinoLogger } from 'nestjs-pino';
import type { Logger as PinoInstance } from 'pino';
import { KeyPrincipal } from '../keys/key-check.service';

/**
 * Log lines about one gateway call. Each carries the call's `req` (its id, method, URL, headers;
 * serialized and redacted as every request line is, src/logging/logging.module.ts) and the
 * writing class as `context`, the shape of a line Nest's Logger writes during a request.
 */
export interface CallLogger {
  warn(context: string, message: string): void;
  error(context: string, message: string): void;
}

/**
 * The call's logger, passed explicitly rather than found through nestjs-pino's AsyncLocalStorage:
 * the call routes do not run in one (src/logging/request-context-scope.ts says why). The pino
 * child is made only when a line is written.
 * @param req the request as log lines show it: the raw IncomingMessage with its `id`
 */
export function callLogger(req: object): CallLogger {
  let child: PinoInstance | undefined;
  const write = (level: 'warn' | 'error') => (context: string, message: string) =>
    (child ??= PinoLogger.root.child({ req }))[level]({ context }, message);
  return { warn: write('warn'), error: write('error') };
}

/** What the gateway knows about one incoming /v1 call before it is routed. */
export interface CallContext {
  principal: KeyPrincipal;
  /** our request id (x-request-id), also stored on the model call */
  requestId: string;
  /** calling application's DID from the x-app-did header, if any */
  appDid: string | null;
  /** Date.now() when the request arrived (ms) */
  startedAt: number;
  /** the raw response; the gateway writes status, headers and body itself */
  res: ServerResponse;
  /** lines about this call, with its request id (callLogger) */
  log: CallLogger;
}

/** Token usage of a call and where the numbers came from. */
export interface MeteredUsage {
  promptTokens: number;
  completionTokens: number;
  source: 'upstream' | 'tokenizer';
}

/** Reads OpenAI's `usage` object; null when absent or malformed. */
export function readUsage(u: unknown): { promptTokens: number; completionTokens: number } | null {
  if (!u || typeof u !== 'object') return null;
  const { prompt_tokens: p, completion_tokens: c } = u as { prompt_tokens?: unknown; completion_tokens?: unknown };
  if (typeof p !== 'number' || !Number.isFinite(p) || p < 0) return null;
  const completion = typeof c === 'number' && Number.isFinite(c) && c >= 0 ? c : 0;
  return { promptTokens: Math.round(p), completionTokens: Math.round(completion) };
}
