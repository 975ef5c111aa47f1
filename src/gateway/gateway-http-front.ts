import type { IncomingMessage, ServerResponse } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type { Logger as PinoInstance } from 'pino';
import { AllExceptionsFilter, ErrorLog } from '../common/all-exceptions.filter';
import { DomainError } from '../common/domain-error';
import type { JsonBodyParser } from '../common/edge-input';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/app-config';
import { KeyCheckService } from '../keys/key-check.service';
import { requestIdFor, requestLineLevel } from '../logging/logging.module';
import { HttpMetricsHook } from '../metrics/http-metrics.hook';
import { callLogger } from './call-context';
import { callContext } from './gateway.controller';
import { GatewayService } from './gateway.service';
import { authenticateVirtualKey } from './virtual-key.guard';

/** The call routes served ahead of Fastify: exact URL (no query string) → GatewayService method. */
const FRONT_ROUTES = new Map<string, 'chatCompletions' | 'embeddings'>([
  ['/v1/chat/completions', 'chatCompletions'],
  ['/v1/embeddings', 'embeddings'],
]);

/** `application/json`, with or without parameters (`; charset=utf-8`), in any case. */
const JSON_CONTENT_TYPE = /^application\/json\s*(;|$)/i;

/** What the front needs, taken from the started application (gatewayHttpFront). */
export interface GatewayFrontDeps {
  keys: KeyCheckService;
  gateway: GatewayService;
  metrics: HttpMetricsHook;
  errors: AllExceptionsFilter;
  parseJson: JsonBodyParser;
  /** GATEWAY_REQUEST_LOG: whether a successful call writes a request line */
  requestLog: 'all' | 'errors';
  /** CORS is configured (CORS_ORIGINS): requests that carry an Origin go through Fastify's CORS */
  cors: boolean;
  /** largest accepted body (bytes) */
  bodyLimit: number;
}

/** A request the front serves: Node's, with the request id the log serializers read. */
type FrontRequest = IncomingMessage & { id?: string };

/**
 * Serves the gateway's two call routes, `POST /v1/chat/completions` and `POST /v1/embeddings`,
 * straight from Node's HTTP server, ahead of Fastify: per call, Fastify's routing, hooks,
 * content-type parser and reply, the Express-style middleware layer and pino-http's per-request
 * child logger cost between a sixth and a third of the api's CPU per call (bench/README.md
 * "Latest figures", "Where the CPU goes"). The
 * answers are the same as through Fastify, because the same code makes them:
 * - request id: requestIdFor, answered in `x-request-id` (docs/README.md "Request ids");
 * - body: read up to `bodyLimit` (413 request_too_large past it), checked and parsed by the api's
 *   one JSON body parser (src/common/edge-input.ts: 400 invalid_text, json_too_deep, malformed);
 * - key: authenticateVirtualKey (401s), then GatewayService as GatewayController calls it;
 * - errors: the global exception filter's rendering (AllExceptionsFilter.answerRaw);
 * - request line: the pino-http logger and level (requestLineLevel), the same fields; lines
 *   about the call carry the request (`req.id`) through the call's logger (CallContext.log), not
 *   nestjs-pino's request context, which stays off (src/logging/request-context-scope.ts);
 * - metrics: HttpMetricsHook.record, route label = the route template, once the response closes
 *   (a call whose client left after its headers is counted too; one that left before is not).
 * Only requests that fit the fast path are taken (take() answers false for the rest, which
 * Fastify serves as every other route, with the same results): POST to the exact path with no
 * query string, `application/json`, a declared length within the limit, and no Origin when CORS
 * is configured. Gateway calls are not written to the audit log (their record is the model call,
 * docs/audit-log.md), so no audit hook is skipped.
 */
export class GatewayHttpFront {
  /** Requests served here since start (tests use it to tell which path answered). */
  served = 0;

  constructor(private readonly deps: GatewayFrontDeps) {}

  /**
   * Serves `req` when it fits the fast path (see the class comment) and answers true; false
   * leaves it untouched for Fastify.
   */
  take(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST') return false;
    const method = FRONT_ROUTES.get(req.url ?? '');
    if (method === undefined) return false;
    const type = req.headers['content-type'];
    if (type === undefined || !JSON_CONTENT_TYPE.test(type)) return false;
    const length = req.headers['content-length'];
    if (length !== undefined && !(Number(length) <= this.deps.bodyLimit)) return false;
    if (this.deps.cors && req.headers.origin !== undefined) return false;
    this.served++;
    const id = requestIdFor(req);
    (req as FrontRequest).id = id;
    // Not in nestjs-pino's AsyncLocalStorage (src/logging/request-context-scope.ts): the call's
    // lines carry its request through CallContext.log instead.
    this.serve(req as FrontRequest & { id: string }, res, method).catch((err: unknown) => {
      // serve answers every error itself; this is only for a fault while answering one
      requestLogger().error({ req, err }, 'gateway front: request failed while answering an error');
      if (!res.writableEnded) res.destroy();
    });
    return true;
  }

  private async serve(req: FrontRequest & { id: string }, res: ServerResponse, method: 'chatCompletions' | 'embeddings'): Promise<void> {
    const startedAt = performance.now();
    const facts = { method: 'POST', url: req.url!, id: req.id };
    res.setHeader('x-request-id', req.id);
    res.once('close', () => this.finished(req, res, performance.now() - startedAt));
    let body: unknown;
    try {
      body = this.deps.parseJson(await readBody(req, this.deps.bodyLimit));
    } catch (err) {
      if (err === CLIENT_GONE) return; // nothing to answer: the client left while sending
      if (err instanceof DomainError && err.status === 413) res.setHeader('connection', 'close'); // the rest is not read
      this.deps.errors.answerRaw(err, facts, res, errorLog(req));
      return;
    }
    try {
      const principal = await authenticateVirtualKey(this.deps.keys, req.headers.authorization);
      await this.deps.gateway[method](callContext(principal, req, res), body);
    } catch (err) {
      this.deps.errors.answerRaw(err, facts, res, errorLog(req));
    }
  }

  /** After the response: its metrics and, unless silent, its request line (as pino-http writes it). */
  private finished(req: FrontRequest & { id: string }, res: ServerResponse, ms: number): void {
    if (!res.headersSent) return; // the client left before any answer
    this.deps.metrics.record('POST', req.url, res.statusCode, ms / 1000);
    const status = res.statusCode;
    const err = status >= 500 ? new Error(`failed with status code ${status}`) : undefined;
    const level = requestLineLevel(this.deps.requestLog, req.url, status, err);
    if (level === 'silent') return;
    const line = { req, res, responseTime: Math.round(ms), ...(err ? { err } : {}) };
    const message = err ? 'request errored' : !req.readableAborted && res.writableEnded ? 'request completed' : 'request aborted';
    requestLogger()[level](line, message);
  }
}

/** The exception filter's lines for this request ('Errors', as it writes them), carrying its `req`. */
function errorLog(req: FrontRequest & { id: string }): ErrorLog {
  const log = callLogger(req);
  return { warn: (m) => log.warn('Errors', m), error: (m) => log.error('Errors', m) };
}

/** The api's request logger (pino-http's, with its serializers and redaction). */
function requestLogger(): PinoInstance {
  return PinoLogger.root;
}

/** The client closed the connection before its body was complete. */
const CLIENT_GONE = Symbol('client gone');

/**
 * The request body, at most `limit` bytes.
 * @throws DomainError 413 request_too_large past the limit; CLIENT_GONE when the client leaves
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('close', onGone);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        done();
        reject(new DomainError(413, 'request_too_large', 'Request body is too large'));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    };
    const onGone = () => {
      done();
      reject(CLIENT_GONE);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onGone);
    req.on('close', onGone);
  });
}

/** The front of a started api (createApiApp), its dependencies taken from the application. */
export function gatewayHttpFront(app: INestApplication, parseJson: JsonBodyParser, bodyLimit: number): GatewayHttpFront {
  const config = app.get<AppConfig>(APP_CONFIG, { strict: false });
  return new GatewayHttpFront({
    keys: app.get(KeyCheckService, { strict: false }),
    gateway: app.get(GatewayService, { strict: false }),
    metrics: app.get(HttpMetricsHook, { strict: false }),
    errors: new AllExceptionsFilter(),
    parseJson,
    requestLog: config.gatewayRequestLog,
    cors: config.http.corsOrigins.length > 0,
    bodyLimit,
  });
}
