import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Histogram } from 'prom-client';
import { methodLabel, routeLabel, statusLabel } from './metric-labels';
import { METRIC_PREFIX, MetricsRegistry } from './metrics-registry';

/** The scrape route: left out of its own request metrics (docs/operations.md "Metrics"). */
export const METRICS_ROUTE = '/metrics';

/** Request duration buckets (seconds): management calls take ms, gateway streams minutes. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * Counts every HTTP request the api answers, by method, route template and status, and times it
 * (`tollgate_http_requests_total`, `tollgate_http_request_duration_seconds`). A Fastify onResponse
 * hook, so guard refusals and 404s are seen; the gateway's call routes, answered ahead of Fastify,
 * are counted by their front through record() (src/gateway/gateway-http-front.ts). The route label
 * is the matched template (`/admin/users/:id`), never the URL.
 */
@Injectable()
export class HttpMetricsHook implements OnModuleInit {
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'method' | 'route'>;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    metrics: MetricsRegistry,
  ) {
    this.requests = new Counter({
      name: `${METRIC_PREFIX}http_requests_total`,
      help: 'HTTP requests answered, by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      registers: [metrics.registry],
    });
    this.duration = new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'Time from receiving an HTTP request to the end of its response (seconds), by method and route template',
      labelNames: ['method', 'route'],
      buckets: DURATION_BUCKETS,
      registers: [metrics.registry],
    });
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return; // no HTTP server (the worker)
    fastify.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
      this.observe(req, reply);
      done();
    });
  }

  private observe(req: FastifyRequest, reply: FastifyReply): void {
    this.record(req.method, req.routeOptions?.url, reply.statusCode, reply.elapsedTime / 1000);
  }

  /**
   * Counts and times one answered request: `template` is the matched route template (undefined
   * for none), `seconds` its time from arrival to the end of the response. Also called by the
   * gateway's call routes, which are answered ahead of Fastify (src/gateway/gateway-http-front.ts).
   */
  record(method: string, template: string | undefined, status: number, seconds: number): void {
    if (template === METRICS_ROUTE) return;
    const m = methodLabel(method);
    const route = routeLabel(template);
    this.requests.inc({ method: m, route, status: statusLabel(status) });
    this.duration.observe({ method: m, route }, seconds);
  }
}
