import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { sendLlmConfigError } from './llm-config-exception.filter';
import { toLlmConfigError } from './llm-config-error';

/** Path prefix of the LLM config API (the gateway's other /v1 routes are not under it). */
export const LLM_CONFIG_PREFIX = '/v1/users/';

/** Largest request body on the LLM config API (bytes): 1 MiB, plenty for a batch of LLM_CONFIG_BATCH_MAX_USERS. */
export const LLM_CONFIG_BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * Route options Nest's decorators cannot set: a Fastify `onRoute` hook gives every /v1/users/*
 * route a 1 MiB body limit and an error handler that answers what fails before the route runs
 * (bad JSON, body too large, edge-input checks) in this API's envelope.
 */
@Injectable()
export class LlmConfigRoutes {
  constructor(adapterHost: HttpAdapterHost) {
    const fastify = adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return; // the worker has no HTTP server
    fastify.addHook('onRoute', (route: RouteOptions) => {
      if (!route.url.startsWith(LLM_CONFIG_PREFIX)) return;
      route.bodyLimit = LLM_CONFIG_BODY_LIMIT_BYTES;
      route.errorHandler = (error: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
        sendLlmConfigError(req, reply, toLlmConfigError(error, req));
      };
    });
  }
}
