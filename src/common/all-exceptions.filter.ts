import type { ServerResponse } from 'node:http';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable, prismaErrorCode } from './database-errors';
import { DomainError } from './domain-error';

/** Machine-readable codes for framework errors, by HTTP status. */
const STATUS_CODES: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'request_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/**
 * OpenAI's error `type` by status, for errors that do not name one; any other 4xx is
 * `invalid_request_error` (401 included, as OpenAI answers a bad key), any 5xx `server_error`.
 */
const OPENAI_TYPES: Record<number, string> = {
  402: 'insufficient_quota',
  403: 'permission_error',
  429: 'rate_limit_error',
};

/** The `type` of a DomainError in OpenAI's shape: its own, else derived from its status. */
export function openAiType(error: DomainError): string {
  return error.type ?? OPENAI_TYPES[error.status] ?? (error.status >= 500 ? 'server_error' : 'invalid_request_error');
}

/** `details` without the keys an envelope sets itself (a detail never overrides them). */
function extraFields(details: Record<string, unknown>, reserved: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(details)) if (!reserved.includes(k)) out[k] = v;
  return out;
}

/** /v1/* (OpenAI's shape): `{"error": {message, type, param, code, ...details}}`. */
export function openAiBody(error: DomainError): { error: Record<string, unknown> } {
  return {
    error: {
      message: error.message,
      type: openAiType(error),
      param: error.param,
      code: error.code,
      ...extraFields(error.details, ['message', 'type', 'param', 'code']),
    },
  };
}

/** Every other route: `{statusCode, code, message, ...details}`. */
export function managementBody(error: DomainError): Record<string, unknown> {
  return {
    statusCode: error.status,
    code: error.code,
    message: error.message,
    ...extraFields(error.details, ['statusCode', 'code', 'message']),
  };
}

/**
 * The one global exception filter: every error a request ends with is turned into a DomainError
 * once (toDomainError) and rendered in the route family's shape (docs/api-conventions.md,
 * "Errors"): /v1/* in OpenAI's `{error:{message,type,param,code}}`, every other route
 * `{statusCode, code, message, …details, requestId}`, with the request id header
 * and the error's headers. If a response had already started (a stream), it is ended instead.
 *
 * What becomes what:
 * - a DomainError: itself;
 * - the database away (connection lost or refused, timed out, pool exhausted): 503
 *   `service_unavailable` with `Retry-After: 1`, never a 500;
 * - Prisma P2002 (unique violation): 409 `conflict`; P2025 (record not found): 404 `not_found`
 *   (a service that answers a more specific code catches them itself);
 * - a Nest HttpException (DTO validation, unknown route…): its status, its body's `code` or one
 *   derived from the status, its body's other fields as details;
 * - Fastify's own 4xx (bad JSON, body too large, media type): their status and message;
 * - anything else: 500 `internal_error`, logged with its stack.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly log = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const req = http.getRequest<FastifyRequest>();
    const facts = { method: req.method, url: req.url, id: String(req.id) };
    const error = this.toDomainError(exception, facts);
    if (reply.sent || reply.raw.headersSent) {
      writeRaw(error, facts, reply.raw);
      return;
    }
    void reply.code(error.status).headers(errorHeaders(error, facts)).send(errorBody(error, facts));
  }

  /**
   * The same answer as `catch`, written on a raw response that Fastify does not manage (the
   * gateway's call routes, src/gateway/gateway-http-front.ts): status, JSON body with its
   * content-length, the request id and the error's headers; a response already started is ended.
   * `log` writes the error's line (faults, failed dependencies) where no request context carries
   * the request id: a logger bound to the request; default the filter's own.
   */
  answerRaw(exception: unknown, req: RequestFacts, res: ServerResponse, log: ErrorLog = this.log): void {
    writeRaw(this.toDomainError(exception, req, log), req, res);
  }

  /** The one mapping of whatever was thrown to the error the client gets (see the class comment). */
  private toDomainError(exception: unknown, req: Pick<RequestFacts, 'method' | 'url'>, log: ErrorLog = this.log): DomainError {
    const where = `${req.method} ${req.url.split('?')[0]}`;
    if (exception instanceof DomainError) {
      this.logDeliberate(exception, where, log);
      return exception;
    }
    if (isDatabaseUnavailable(exception)) {
      log.warn(`database unavailable on ${where}: ${(exception as Error)?.message?.split('\n').pop() ?? ''}`);
      return DomainError.unavailable('service_unavailable', 'The database is unavailable; retry shortly', { retryAfter: 1 });
    }
    const prismaCode = prismaErrorCode(exception);
    if (prismaCode === 'P2002') return DomainError.conflict('conflict', 'A record with these values already exists');
    if (prismaCode === 'P2025') return DomainError.notFound('not_found', 'The record does not exist');
    if (exception instanceof HttpException) {
      const error = fromHttpException(exception);
      this.logDeliberate(error, where, log);
      return error;
    }
    const status = (exception as { statusCode?: unknown } | null)?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // Fastify's own errors: bad JSON, body too large, media type
      return new DomainError(status, STATUS_CODES[status] ?? 'error', (exception as Error).message);
    }
    log.error(`unhandled error on ${where}: ${(exception as Error)?.stack ?? String(exception)}`);
    return new DomainError(500, 'internal_error', 'Internal error');
  }

  /**
   * An error raised on purpose carries its reason and needs no stack: a 500 is logged at error
   * level, any other 5xx (502 provider_unavailable, 503 not_ready, 504 timeouts: expected failures
   * of a dependency) at warn, a 4xx (the client's fault) not at all. Errors nobody raised on
   * purpose are logged by toDomainError, with their stack ("unhandled error").
   */
  private logDeliberate(error: DomainError, where: string, log: ErrorLog): void {
    if (error.status === 500) log.error(`${where} answered ${error.status} ${error.code}: ${error.message}`);
    else if (error.status > 500) log.warn(`${where} answered ${error.status} ${error.code}: ${error.message}`);
  }
}

/** Where the filter writes an error's line (Nest's Logger, or one bound to the request). */
export interface ErrorLog {
  warn(message: string): void;
  error(message: string): void;
}

/** What an error answer needs of its request. */
export interface RequestFacts {
  method: string;
  url: string;
  /** the request id (x-request-id) */
  id: string;
}

/**
 * The body in the route family's shape. Management errors name their request in the body too
 * (quoted in support requests); OpenAI's shape has no such field, so /v1 errors carry it in the
 * header only.
 */
function errorBody(error: DomainError, req: RequestFacts): Record<string, unknown> {
  return req.url.startsWith('/v1/') ? openAiBody(error) : { ...managementBody(error), requestId: req.id };
}

function errorHeaders(error: DomainError, req: RequestFacts): Record<string, string> {
  return { 'content-type': 'application/json; charset=utf-8', 'x-request-id': req.id, ...error.headers };
}

/** Writes the error answer on a raw response; one already started (a stream) is ended instead. */
function writeRaw(error: DomainError, req: RequestFacts, res: ServerResponse): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  const text = JSON.stringify(errorBody(error, req));
  res.writeHead(error.status, { ...errorHeaders(error, req), 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * A Nest HttpException as a DomainError: its status; `code` from its body, else from the status;
 * `message` from its body (a list of messages joined with "; "); the body's other fields (but
 * Nest's `statusCode` and `error`) as details.
 */
function fromHttpException(exception: HttpException): DomainError {
  const status = exception.getStatus();
  const r = exception.getResponse();
  let message = exception.message;
  let details: Record<string, unknown> = {};
  if (typeof r === 'object' && r !== null) {
    const { message: m, statusCode: _s, error: _e, code: _c, ...rest } = r as Record<string, unknown>;
    if (Array.isArray(m)) message = m.join('; ');
    else if (typeof m === 'string') message = m;
    details = rest;
  }
  const code = (r as { code?: unknown } | null)?.code;
  return new DomainError(
    status,
    typeof code === 'string' ? code : (STATUS_CODES[status] ?? (status >= 500 ? 'internal_error' : 'error')),
    message,
    { details },
  );
}
