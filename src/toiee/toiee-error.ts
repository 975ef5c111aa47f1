import type { FastifyRequest } from 'fastify';
import { HttpException } from '@nestjs/common';
import { isDatabaseUnavailable, prismaErrorCode } from '../common/database-errors';
import { DomainError } from '../common/domain-error';

/** The external user API's error body (docs/api/toiee-users.md "Errors"). */
export interface ToieeErrorBody {
  success: false;
  message: string;
  error: string;
}

/** An error as the external user API answers it: status and body. */
export interface ToieeError {
  status: number;
  body: ToieeErrorBody;
  /** nobody raised it on purpose: log it with its stack */
  unexpected: boolean;
}

/** Codes passed through as they are; any other code is replaced by the one of its status. */
const OWN_CODES = new Set([
  'INVALID_INPUT',
  'INVALID_EMAIL',
  'USER_EXISTS',
  'USER_NOT_FOUND',
  'ADMIN_DELETE_FORBIDDEN',
  'ADMIN_ROLE_FORBIDDEN',
]);

/** The code of a status when the error's own code is not one of this API's. */
function codeOfStatus(status: number, req: FastifyRequest): string {
  if (status === 401) return hasCredentials(req) ? 'INVALID_API_KEY' : 'MISSING_API_KEY';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'USER_NOT_FOUND';
  if (status === 409) return 'USER_EXISTS';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 503) return 'SERVICE_UNAVAILABLE';
  if (status >= 500) return 'INTERNAL_ERROR';
  return 'INVALID_INPUT';
}

function hasCredentials(req: FastifyRequest): boolean {
  const key = req.headers['x-api-key'];
  const auth = req.headers.authorization;
  return (typeof key === 'string' && key.length > 0) || (typeof auth === 'string' && auth.length > 0);
}

/** The message shown for a status whose message this API words itself. */
function messageOf(status: number, code: string, message: string): string {
  if (code === 'MISSING_API_KEY') return 'API key required (X-API-Key header)';
  if (code === 'INVALID_API_KEY') return 'Invalid API key';
  if (code === 'PAYLOAD_TOO_LARGE') return 'Request body exceeds 3 MB';
  if (status >= 500 && status !== 503) return 'Internal server error';
  return message;
}

/**
 * Maps whatever a request on /api/toiee failed with to this API's `{success:false, message,
 * error}` and status (docs/api/toiee-users.md "Errors"): DomainErrors and Nest HTTP errors keep
 * their status; Fastify's own 4xx (bad JSON, body too large) theirs; Prisma's unique violation
 * is 409 USER_EXISTS, record-not-found 404 USER_NOT_FOUND; the database away 503; anything else
 * 500 INTERNAL_ERROR.
 */
export function toToieeError(exception: unknown, req: FastifyRequest): ToieeError {
  let status = 500;
  let code = '';
  let message = 'Internal server error';
  let unexpected = false;
  if (exception instanceof DomainError) {
    ({ status, code, message } = exception);
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
  } else if (prismaErrorCode(exception) === 'P2002') {
    status = 409;
    message = 'User already exists';
  } else if (prismaErrorCode(exception) === 'P2025') {
    status = 404;
    message = 'User not found';
  } else {
    const s = (exception as { statusCode?: unknown } | null)?.statusCode;
    if (typeof s === 'number' && s >= 400 && s < 500) {
      status = s;
      message = (exception as Error).message;
    } else unexpected = true;
  }
  const error = OWN_CODES.has(code) ? code : codeOfStatus(status, req);
  return { status, body: { success: false, message: messageOf(status, error, message), error }, unexpected };
}
