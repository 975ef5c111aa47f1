import { HttpException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../common/database-errors';
import { DomainError } from '../common/domain-error';

/** The LLM config API's error body (docs/api/llm-config.md "Errors"). */
export interface LlmConfigErrorBody {
  status: 'error';
  error: { code: string; message: string; details?: Record<string, unknown>; retry_after?: number };
}

/** An error as the LLM config API answers it. */
export interface LlmConfigError {
  status: number;
  body: LlmConfigErrorBody;
  headers: Record<string, string>;
  /** nobody raised it on purpose: log it with its stack */
  unexpected: boolean;
}

/** This API's own codes: passed through as they are; any other code becomes the one of its status. */
const OWN_CODES = new Set(['USER_NOT_FOUND', 'CONFIG_NOT_FOUND', 'INVALID_PLATFORM', 'INVALID_USERNAME', 'INVALID_REQUEST', 'FORBIDDEN']);

function codeOfStatus(status: number): string {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 429) return 'RATE_LIMIT_EXCEEDED';
  if (status === 503) return 'SERVICE_UNAVAILABLE';
  if (status >= 500) return 'INTERNAL_SERVER_ERROR';
  return 'INVALID_REQUEST';
}

function messageOf(code: string, message: string): string {
  if (code === 'UNAUTHORIZED') return 'Invalid or missing API token';
  if (code === 'INTERNAL_SERVER_ERROR') return 'An unexpected error occurred';
  if (code === 'RATE_LIMIT_EXCEEDED') return 'Rate limit exceeded. Please try again later.';
  return message;
}

/** Seconds in a numeric `retry_after` detail or `retry-after` header, for the 429 body. */
function retryAfterOf(details: Record<string, unknown>, headers: Record<string, string>): number | undefined {
  const raw = details.retry_after ?? details.retryAfter ?? headers['retry-after'] ?? headers['Retry-After'];
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : NaN;
  return Number.isFinite(n) ? Math.max(0, Math.ceil(n)) : undefined;
}

/**
 * Maps whatever a request on /v1/users failed with to `{status:"error", error:{code, message,
 * details?}}` (docs/api/llm-config.md "Errors"): DomainErrors and Nest HTTP errors keep their
 * status (their code when it is one of this API's, else the status's: 401 UNAUTHORIZED, 403
 * FORBIDDEN, both with the original code as `details.reason`; 429 RATE_LIMIT_EXCEEDED with
 * `retry_after`; other 4xx INVALID_REQUEST); Fastify's
 * own 4xx (bad JSON, body too large) theirs; the database away 503 SERVICE_UNAVAILABLE; anything
 * else 500 INTERNAL_SERVER_ERROR. Response headers of the error (Retry-After) are kept.
 */
export function toLlmConfigError(exception: unknown, _req: FastifyRequest): LlmConfigError {
  let status = 500;
  let code = '';
  let message = 'An unexpected error occurred';
  let details: Record<string, unknown> = {};
  let headers: Record<string, string> = {};
  let unexpected = false;
  if (exception instanceof DomainError) {
    ({ status, code, message, details, headers } = exception);
  } else if (exception instanceof HttpException) {
    status = exception.getStatus();
    const r = exception.getResponse() as { code?: unknown; message?: unknown } | string;
    if (typeof r === 'object' && r !== null) {
      if (typeof r.code === 'string') code = r.code;
      if (typeof r.message === 'string') message = r.message;
      else if (Array.isArray(r.message)) message = r.message.join('; ');
    } else message = exception.message;
  } else if (isDatabaseUnavailable(exception)) {
    status = 503;
    message = 'The database is unavailable; retry shortly';
    headers = { 'retry-after': '1' };
  } else {
    const s = (exception as { statusCode?: unknown } | null)?.statusCode;
    if (typeof s === 'number' && s >= 400 && s < 500) {
      status = s;
      message = (exception as Error).message;
    } else unexpected = true;
  }
  const finalCode = OWN_CODES.has(code) ? code : codeOfStatus(status);
  const error: LlmConfigErrorBody['error'] = { code: finalCode, message: messageOf(finalCode, message) };
  if (finalCode === 'RATE_LIMIT_EXCEEDED') {
    const retryAfter = retryAfterOf(details, headers);
    if (retryAfter !== undefined) error.retry_after = retryAfter;
  } else if (OWN_CODES.has(code) && Object.keys(details).length > 0) error.details = details;
  // the global guard's refusals keep its code (docs/roles.md) as details.reason
  else if ((status === 401 || status === 403) && code !== '') error.details = { reason: code };
  return { status, body: { status: 'error', error }, headers, unexpected };
}
