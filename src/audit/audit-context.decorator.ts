import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuditContext, auditContextOf } from './audit-entry';

/** The request's audit context (who acts, request id, IP, user agent): pass it to the service that writes. */
export const Audit = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuditContext => {
  return auditContextOf(ctx.switchToHttp().getRequest<FastifyRequest>());
});
