import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { toToieeError } from './toiee-error';

/** Path prefix of the external user API. */
export const TOIEE_PREFIX = '/api/toiee';

/** Largest request body on /api/toiee (bytes): 3 MiB; larger answers 413 PAYLOAD_TOO_LARGE. */
export const TOIEE_BODY_LIMIT_BYTES = 3 * 1024 * 1024;

/**
 * Route options of the external user API that Nest's decorators cannot set: a Fastify `onRoute`
 * hook, added before Nest registers the routes, gives every /api/toiee route a 3 MiB `bodyLimit`
 * (the rest of the API keeps BODY_LIMIT_BYTES) and an error handler that answers what fails
 * before the route runs (body too large, bad JSON, edge-input checks) in this API's shape.
 */
@Injectable()
export class ToieeRoutes {
  constructor(adapterHost: HttpAdapterHost) {
    const fastify = adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return; // the worker has no HTTP server
    fastify.addHook('onRoute', (route: RouteOptions) => {
      if (route.url !== TOIEE_PREFIX && !route.url.startsWith(`${TOIEE_PREFIX}/`)) return;
      route.bodyLimit = TOIEE_BODY_LIMIT_BYTES;
      route.errorHandler = (error: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
        const e = toToieeError(error, req);
        void reply.code(e.status).header('content-type', 'application/json').header('x-request-id', String(req.id)).send(e.body);
      };
    });
  }
}
