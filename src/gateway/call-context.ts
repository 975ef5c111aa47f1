import type { ServerResponse } from 'node:http';
import { KeyPrincipal } from '../keys/key-check.service';

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
