import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Histogram } from 'prom-client';
import { DeferredCounter, PendingCount } from './deferred-counter';
import { methodLabel, routeLabel, statusLabel } from './metric-labels';
import { METRIC_PREFIX, MetricsRegistry } from './metrics-registry';

/** The scrape route: left out of its own request metrics (docs/operations.md "Metrics"). */
export const METRICS_ROUTE = '/metrics';

/** Request duration buckets (seconds): management calls take ms, gateway streams minutes. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Most series (method/route, method/route/status) kept in the lookup; past it, it starts over. */
const MAX_CACHED_SERIES = 4_096;

/** What one method/route pair is counted with: its duration child, its counts by status. */
interface RequestSeries {
  duration: Histogram.Internal<'method' | 'route'>;
  /** status label → pending count of `requests` */
  byStatus: Map<string, PendingCount>;
}

/**
 * Counts every HTTP request the api answers, by method, route template and status, and times it
 * (`tollgate_http_requests_total`, `tollgate_http_request_duration_seconds`). A Fastify onResponse
 * hook, so guard refusals and 404s are seen; the gateway's call routes, answered ahead of Fastify,
 * are counted by their front through record() (src/gateway/gateway-http-front.ts). The route label
 * is the matched template (`/admin/users/:id`), never the URL.
 */
@Injectable()
export class HttpMetricsHook implements OnModuleInit {
  private readonly requests: DeferredCounter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'method' | 'route'>;
  /**
   * route label → method label → its series, so that a request builds no label object, and its
   * count is an addition (DeferredCounter): bounded by the labels (route templates, 8 methods,
   * 501 status codes), and cleared past MAX_CACHED_SERIES entries.
   */
  private readonly series = new Map<string, Map<string, RequestSeries>>();
  private cached = 0;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    metrics: MetricsRegistry,
  ) {
    this.requests = new DeferredCounter({
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
    if (this.cached >= MAX_CACHED_SERIES) this.forget();
    const m = methodLabel(method);
    const route = routeLabel(template);
    let byMethod = this.series.get(route);
    if (!byMethod) this.series.set(route, (byMethod = new Map()));
    let series = byMethod.get(m);
    if (!series) {
      byMethod.set(m, (series = { duration: this.duration.labels({ method: m, route }), byStatus: new Map() }));
      this.cached++;
    }
    const code = statusLabel(status);
    let requests = series.byStatus.get(code);
    if (!requests) {
      series.byStatus.set(code, (requests = this.requests.cell({ method: m, route, status: code })));
      this.cached++;
    }
    requests.n++;
    series.duration.observe(seconds);
  }

  /** Drops every cached series (prom-client and `requests` keep theirs: only the lookup goes). */
  private forget(): void {
    this.series.clear();
    this.cached = 0;
  }
}
