import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toToieeError } from './toiee-error';

/**
 * The external user API's exception filter (bound to its controller with @UseFilters, so the rest
 * of the API keeps `{statusCode, code, message}`). Catches everything the route raises, including
 * the global guard's 401/403, and answers `{success:false, message, error}` (toToieeError).
 * Errors raised before the route runs (body too large, bad JSON) are answered in the same shape by
 * the route's Fastify error handler (src/toiee/toiee-routes.ts).
 */
@Catch()
export class ToieeExceptionFilter implements ExceptionFilter {
  private readonly log = new Logger('ToieeAPI');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const e = toToieeError(exception, req);
    if (e.unexpected)
      this.log.error(`unhandled error on ${req.method} ${req.url.split('?')[0]}: ${(exception as Error)?.stack ?? String(exception)}`);
    else if (e.status >= 500)
      this.log.warn(`${req.method} ${req.url.split('?')[0]} answered ${e.status} ${e.body.error}: ${e.body.message}`);
    if (reply.sent || reply.raw.headersSent) return;
    void reply.code(e.status).header('content-type', 'application/json').header('x-request-id', String(req.id)).send(e.body);
  }
}
