import type { EventEmitter } from 'node:events';
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Dispatcher, Pool } from 'undici';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

export interface UpstreamRequest {
  /** provider base URL including its version path, e.g. https://api.openai.com/v1 */
  baseUrl: string;
  /** path below the base URL, e.g. /chat/completions */
  path: string;
  method: 'GET' | 'POST';
  secret: string;
  body?: string;
  /** stops the request (and its body) when it fires: an AbortSignal, or an EventEmitter with `aborted` and an 'abort' event (CallAbort) */
  signal?: AbortSignal | EventEmitter;
}

/**
 * HTTP to providers with undici: one keep-alive Pool per origin, timeouts from configuration
 * (UPSTREAM_CONNECT_TIMEOUT_MS, UPSTREAM_HEADERS_TIMEOUT_MS, UPSTREAM_BODY_TIMEOUT_MS).
 * Returns undici's response; the caller reads or streams the body.
 * @throws undici errors on connection failure, timeout or abort
 */
@Injectable()
export class UpstreamClient implements OnModuleDestroy {
  private readonly pools = new Map<string, Pool>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async request(req: UpstreamRequest): Promise<Dispatcher.ResponseData> {
    const url = new URL(req.baseUrl);
    const pool = this.poolFor(url.origin);
    const headers: Record<string, string> = {
      authorization: `Bearer ${req.secret}`,
      accept: 'application/json, text/event-stream',
    };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    return pool.request({
      method: req.method,
      path: url.pathname.replace(/\/+$/, '') + req.path,
      headers,
      body: req.body,
      signal: req.signal,
    });
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => undefined)));
    this.pools.clear();
  }

  private poolFor(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      const u = this.config.upstream;
      pool = new Pool(origin, {
        connections: u.connections,
        pipelining: 1,
        connect: { timeout: u.connectTimeoutMs },
        headersTimeout: u.headersTimeoutMs,
        bodyTimeout: u.bodyTimeoutMs,
        keepAliveTimeout: 30_000,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }
}
