import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthUser } from '../auth/auth-user';
import { auditContextOf, existingAuditContext } from './audit-entry';
import { AuditService } from './audit.service';

/** Route prefixes whose writes and refusals are audited (docs/audit-log.md "What is recorded"). */
export const AUDITED_PREFIXES = ['/admin', '/ai-providers', '/user/keys', '/auth', '/api/toiee', '/v1/users'] as const;

/** Gateway routes: their calls are recorded in model_calls, not here. */
const GATEWAY_PREFIX = '/v1/';

function isAudited(path: string): boolean {
  return AUDITED_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
}

/**
 * The request-level half of the audit log: after every response, adds the entry a handler did
 * not write itself (docs/audit-log.md):
 * - a refusal or failure (status ≥ 400) on an audited route, including guard refusals (401/403);
 * - a write on an audited route whose handler wrote no entry in its transaction (logged as a
 *   warning too: every write handler is expected to write its own);
 * - any request authenticated by an API key (a service key) outside the gateway.
 * Runs as a Fastify onResponse hook so guard refusals, which never reach an interceptor, are seen.
 */
@Injectable()
export class AuditResponseHook implements OnModuleInit {
  private readonly log = new Logger(AuditResponseHook.name);

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return; // the worker has no HTTP server
    fastify.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
      try {
        this.afterResponse(req, reply.statusCode);
      } catch (err) {
        this.log.error(`audit hook failed: ${(err as Error).message}`);
      }
      done();
    });
  }

  private afterResponse(req: FastifyRequest, status: number): void {
    const existing = existingAuditContext(req);
    // A write's entry (recordedBy 'transaction') is rolled back with its write when the request
    // fails; the refusal is then recorded here. A queued entry is the request's only entry.
    if (existing?.recorded && (status < 400 || existing.recordedBy !== 'transaction')) return;
    const path = req.routeOptions?.url ?? req.url.split('?')[0];
    const user = (req as FastifyRequest & { user?: AuthUser }).user;
    const write = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
    const audited = isAudited(path);
    const serviceRead = user?.via === 'api_key' && !path.startsWith(GATEWAY_PREFIX);
    if (!(audited && (status >= 400 || write)) && !serviceRead) return;
    if (audited && write && status < 400) this.log.warn(`write ${req.method} ${path} answered without an audit entry of its own`);
    const ctx = auditContextOf(req);
    this.audit.enqueue(ctx, {
      action: `${write ? 'request' : 'read'} ${req.method} ${path}`,
      result: status >= 400 ? 'failure' : 'success',
      status,
    });
  }
}
