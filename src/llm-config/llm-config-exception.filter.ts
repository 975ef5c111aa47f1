import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LlmConfigError, toLlmConfigError } from './llm-config-error';

/** Sends an error of the LLM config API (HEAD answers carry no body). */
export function sendLlmConfigError(req: FastifyRequest, reply: FastifyReply, e: LlmConfigError): void {
  if (reply.sent || reply.raw.headersSent) return;
  void reply.code(e.status).headers(e.headers).header('content-type', 'application/json').header('x-request-id', String(req.id));
  if (req.method === 'HEAD') void reply.send();
  else void reply.send(e.body);
}

/**
 * The LLM config API's exception filter (bound with @UseFilters to LlmConfigController, so the
 * gateway's /v1 routes keep OpenAI's error shape): everything the route raises, the global
 * guard's 401/403 included, is answered `{status:"error", error:{code, message, details?}}`
 * (toLlmConfigError). Errors raised before the route runs are answered in the same shape by the
 * route's Fastify error handler (src/llm-config/llm-config-routes.ts).
 */
@Catch()
export class LlmConfigExceptionFilter implements ExceptionFilter {
  private readonly log = new Logger('LlmConfigAPI');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const e = toLlmConfigError(exception, req);
    if (e.unexpected)
      this.log.error(`unhandled error on ${req.method} ${req.url.split('?')[0]}: ${(exception as Error)?.stack ?? String(exception)}`);
    else if (e.status >= 500) this.log.warn(`${req.method} ${req.url.split('?')[0]} answered ${e.status} ${e.body.error.code}`);
    sendLlmConfigError(req, http.getResponse<FastifyReply>(), e);
  }
}
