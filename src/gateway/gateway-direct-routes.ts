import type { INestApplication } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { FastifyInstance, FastifyReply, RouteOptions } from 'fastify';
import { AllExceptionsFilter } from '../common/all-exceptions.filter';
import { KeyCheckService } from '../keys/key-check.service';
import { GatewayController } from './gateway.controller';
import { authenticateVirtualKey, GatewayRequest } from './virtual-key.guard';

/** The gateway's call routes and the GatewayController method that serves each. */
const DIRECT_ROUTES: Record<string, 'chatCompletions' | 'embeddings'> = {
  'POST /v1/chat/completions': 'chatCompletions',
  'POST /v1/embeddings': 'embeddings',
};

type Handler = (req: GatewayRequest, reply: FastifyReply) => Promise<void>;

/**
 * Serves the gateway's call routes (`POST /v1/chat/completions`, `/v1/embeddings`), when Fastify
 * gets them (most calls are answered ahead of Fastify: src/gateway/gateway-http-front.ts; Fastify
 * gets those the front leaves, e.g. with a query string or an Origin under CORS), straight into
 * their GatewayController methods, past Nest's per-request pipeline (execution
 * contexts, the global guard's metadata lookups, parameter factories): on the hot path that
 * pipeline cost about a tenth of the api's CPU per call (bench/README.md). What the pipeline did
 * for these routes is done here the same way: the virtual key is checked by the function
 * VirtualKeyGuard uses (authenticateVirtualKey), and an error is answered by the global exception
 * filter (src/common/all-exceptions.filter.ts; called here, since the controller has taken the
 * reply over from Fastify before most errors arise), so answers are the same. Every Fastify hook (request ids, edge checks, logging, audit, metrics) still runs.
 * Nest still registers the routes (route table, OpenAPI, the role matrix); only their handler is
 * swapped, when Fastify registers them, through an `onRoute` hook installed before Nest starts.
 * Until `app()` answers (during start-up) requests take Nest's handler.
 */
export function serveGatewayCallsDirectly(fastify: FastifyInstance, app: () => INestApplication | undefined): void {
  fastify.addHook('onRoute', (route: RouteOptions) => {
    const method = DIRECT_ROUTES[`${String(route.method)} ${route.url}`];
    if (!method) return;
    const viaNest = route.handler;
    let direct: Handler | null = null;
    route.handler = function (this: FastifyInstance, req, reply) {
      direct ??= directHandler(app(), method);
      return direct ? direct(req as GatewayRequest, reply) : viaNest.call(this, req, reply);
    };
  });
}

function directHandler(app: INestApplication | undefined, method: 'chatCompletions' | 'embeddings'): Handler | null {
  if (!app) return null;
  const keys = app.get(KeyCheckService, { strict: false });
  const controller = app.get(GatewayController, { strict: false });
  const errors = new AllExceptionsFilter();
  return async (req, reply) => {
    try {
      req.principal = await authenticateVirtualKey(keys, req.headers.authorization);
      await controller[method](req, reply);
    } catch (err) {
      errors.catch(err, new ExecutionContextHost([req, reply]));
    }
  };
}
