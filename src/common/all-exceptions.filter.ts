import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../gateway/openai-error';
import { isConnectionError } from '../prisma/pool-query';

/**
 * Prisma's codes for a database it cannot reach or whose pool is exhausted (P1001 cannot reach,
 * P1002 timed out, P1008 operation timed out, P1017 connection closed, P2024 pool timeout).
 */
const PRISMA_UNAVAILABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);

/** Whether an error means the database is away (answered 503, not 500). */
function databaseUnavailable(exception: unknown): boolean {
  const code = (exception as { code?: unknown } | null)?.code;
  return (typeof code === 'string' && PRISMA_UNAVAILABLE.has(code)) || isConnectionError(exception);
}

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

interface Problem {
  status: number;
  code: string;
  message: string;
  type: string;
  param: string | null;
  extra: Record<string, unknown>;
  headers: Record<string, string>;
}

/**
 * The one global exception filter (STYLE.md "Boundaries"). Every error leaves with a status, a
 * machine-readable code and the request id header. Families: /v1/* answer in OpenAI's shape
 * `{error:{message,type,param,code}}`; every other route `{statusCode, code, message}`. If a
 * response had already started (a stream), it is ended instead.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly log = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const req = http.getRequest<FastifyRequest>();
    const p = this.toProblem(exception, req);
    const raw = reply.raw;
    if (raw.headersSent) {
      if (!raw.writableEnded) raw.end();
      return;
    }
    const body = req.url.startsWith('/v1/')
      ? { error: { message: p.message, type: p.type, param: p.param, code: p.code, ...p.extra } }
      : { statusCode: p.status, code: p.code, message: p.message, ...p.extra };
    const headers = { 'content-type': 'application/json', 'x-request-id': String(req.id), ...p.headers };
    if (!reply.sent) {
      void reply.code(p.status).headers(headers).send(body);
      return;
    }
    const text = JSON.stringify(body);
    raw.writeHead(p.status, { ...headers, 'content-length': Buffer.byteLength(text) });
    raw.end(text);
  }

  /**
   * Errors nobody threw on purpose are bugs or outages: logged at error level with their stack
   * ("unhandled error"). An HttpException was thrown on purpose and carries its reason: a 500 is
   * logged at error level, any other 5xx (502 provider_unavailable, 503 not_ready, 504 timeouts:
   * expected failures of a dependency) at warn; neither with a stack.
   */
  private logServerError(exception: unknown, status: number, code: string, message: string, req: FastifyRequest): void {
    const where = `${req.method} ${req.url.split('?')[0]}`;
    if (!(exception instanceof HttpException)) {
      this.log.error(`unhandled error on ${where}: ${(exception as Error)?.stack ?? String(exception)}`);
    } else if (status === 500) {
      this.log.error(`${where} answered ${status} ${code}: ${message}`);
    } else {
      this.log.warn(`${where} answered ${status} ${code}: ${message}`);
    }
  }

  private toProblem(exception: unknown, req: FastifyRequest): Problem {
    if (exception instanceof GatewayError) {
      return { status: exception.status, code: exception.code, message: exception.message, type: exception.type, param: exception.param, extra: exception.extra, headers: exception.headers };
    }
    let status = 500;
    let message = 'Internal error';
    let extra: Record<string, unknown> = {};
    if (databaseUnavailable(exception)) {
      this.log.warn(`database unavailable on ${req.method} ${req.url.split('?')[0]}: ${(exception as Error)?.message?.split('\n').pop() ?? ''}`);
      return { status: 503, code: 'service_unavailable', message: 'The database is unavailable; retry shortly', type: 'server_error', param: null, extra: {}, headers: { 'retry-after': '1' } };
    }
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      const r = exception.getResponse();
      if (typeof r === 'object' && r !== null) {
        const { message: m, statusCode: _s, error: _e, ...rest } = r as Record<string, unknown>;
        message = Array.isArray(m) ? m.join('; ') : typeof m === 'string' ? m : exception.message;
        extra = rest;
      } else message = exception.message;
    } else {
      const s = (exception as { statusCode?: unknown })?.statusCode;
      if (typeof s === 'number' && s >= 400 && s < 500) {
        status = s; // Fastify's own errors: bad JSON, body too large, media type
        message = (exception as Error).message;
      }
    }
    const code = typeof extra.code === 'string' ? extra.code : STATUS_CODES[status] ?? (status >= 500 ? 'internal_error' : 'error');
    delete extra.code;
    if (status >= 500) this.logServerError(exception, status, code, message, req);
    return { status, code, message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, extra, headers: {} };
  }
}
