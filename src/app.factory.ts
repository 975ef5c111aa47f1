import 'reflect-metadata';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import fastifyMultipart from '@fastify/multipart';
import type { FastifyServerFactoryHandler } from 'fastify';
import { Logger } from 'nestjs-pino';
import { AppModule, AppModuleOptions } from './app.module';
import { installConsole } from './console/console-static';
import { installEdgeInputChecks, MAX_JSON_DEPTH } from './common/edge-input';
import { GatewayHttpFront, gatewayHttpFront } from './gateway/gateway-http-front';
import { installRequestContextScope } from './logging/request-context-scope';
import { AppConfig, loadConfig } from './config/app-config';
import { requestIdFor } from './logging/logging.module';
import { setupOpenApi } from './openapi/openapi-setup';

/** Headers a browser script may read from a cross-origin answer (request id, rate limits). */
export const CORS_EXPOSED_HEADERS = [
  'x-request-id',
  'retry-after',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-tokens',
];

/**
 * CORS for browsers (docs/operations.md "CORS and proxies"): only the exact origins of
 * CORS_ORIGINS (scheme, host and port; any other origin gets no CORS header), with credentials (the console's cookie), exposing CORS_EXPOSED_HEADERS.
 * No origins configured: CORS is not installed and no answer carries CORS headers.
 */
function enableCors(app: NestFastifyApplication, http: AppConfig['http']): void {
  if (http.corsOrigins.length === 0) return;
  const allowed = new Set(http.corsOrigins);
  app.enableCors({
    // false (not a list) for any other origin: @fastify/cors then adds no CORS header at all
    origin: (origin: string | undefined, cb: (err: Error | null, allow: string | false) => void) =>
      cb(null, origin !== undefined && allowed.has(origin) ? origin : false),
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    exposedHeaders: CORS_EXPOSED_HEADERS,
    maxAge: 600,
  });
}

/** Largest accepted request body (bytes): prompts with inline images can be large. */
export const BODY_LIMIT_BYTES = 32 * 1024 * 1024;

export { MAX_JSON_DEPTH };

/**
 * DTO validation for the management API: unknown fields are refused, values transformed to
 * their types; errors are 400 `{statusCode, code:'validation_failed', message, errors:[{field,
 * messages}]}`.
 */
export function validationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors: ValidationError[]) => {
      const flat: { field: string; messages: string[] }[] = [];
      const walk = (list: ValidationError[], prefix: string) => {
        for (const e of list) {
          const field = prefix ? `${prefix}.${e.property}` : e.property;
          if (e.constraints) flat.push({ field, messages: Object.values(e.constraints) });
          if (e.children?.length) walk(e.children, field);
        }
      };
      walk(errors, '');
      return new BadRequestException({
        code: 'validation_failed',
        message: flat.map((f) => f.messages.join(', ')).join('; ') || 'Invalid request',
        errors: flat,
      });
    },
  });
}

const FRONTS = new WeakMap<NestFastifyApplication, GatewayHttpFront>();

/** The gateway's HTTP front of an api built by createApiApp (tests read its `served` count). */
export function gatewayFrontOf(app: NestFastifyApplication): GatewayHttpFront | undefined {
  return FRONTS.get(app);
}

/**
 * Builds the api application (Fastify under Nest). Used by src/main.ts and by the e2e tests,
 * so tests run the same HTTP stack as production. Input is checked at the edge for every route
 * before any guard or handler (src/common/edge-input.ts, docs/api-conventions.md): NUL and invalid
 * text → 400 invalid_text, JSON deeper than MAX_JSON_DEPTH → 400 json_too_deep, an empty JSON body
 * is no body, an empty query value is no value. Also: `req.ip` from X-Forwarded-For only for
 * the proxies TRUST_PROXY trusts, CORS for CORS_ORIGINS, Swagger UI at /docs and the OpenAPI
 * document at /docs/openapi.json (docs/operations.md), the console at /console and its session
 * cookie (docs/console.md).
 */
export async function createApiApp(options: AppModuleOptions = {}): Promise<NestFastifyApplication> {
  const { userImport, http } = loadConfig(process.env);
  // The gateway's call routes are served ahead of Fastify once the app has started
  // (src/gateway/gateway-http-front.ts); until then, and for every other request, Fastify serves.
  const started: { app?: NestFastifyApplication; front?: GatewayHttpFront } = {};
  let dropSilentConnections = () => {};
  const adapter = new FastifyAdapter({
    serverFactory: (fastifyHandler: FastifyServerFactoryHandler) => {
      const server = createServer((req, res) => {
        if (!started.front?.take(req, res)) fastifyHandler(req, res);
      });
      dropSilentConnections = silentConnectionsDropper(server);
      // what Fastify sets on a server it creates itself (with serverFactory it does not)
      server.keepAliveTimeout = 65_000;
      server.requestTimeout = 0;
      server.setTimeout(0);
      return server;
    },
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: http.trustProxy,
    genReqId: (req: IncomingMessage) => {
      const id = requestIdFor(req);
      (req as IncomingMessage & { id?: string }).id = id;
      return id;
    },
  });
  // The body parsers are ours (bodyParser: false below): JSON and urlencoded, with the edge checks.
  const parseJsonBody = installEdgeInputChecks(adapter.getInstance(), BODY_LIMIT_BYTES);
  // nestjs-pino's request context only while a request Fastify serves is in flight.
  installRequestContextScope(adapter.getInstance());
  // Every answer names its request (docs/README.md "Request ids"); error answers set it again.
  adapter.getInstance().addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id);
    done();
  });
  // Shutting down: requests still arriving on kept-alive connections go to Fastify, which answers
  // 503 and closes them, instead of the front starting calls while modules are being destroyed.
  adapter.getInstance().addHook('preClose', (done) => {
    started.front = undefined;
    dropSilentConnections();
    done();
  });
  // multipart/form-data (CSV uploads, docs/api/user-import.md): streamed, one file, at most USER_IMPORT_MAX_BYTES
  await adapter
    .getInstance()
    .register(fastifyMultipart, { limits: { fileSize: userImport.maxBytes, files: 1, fields: 10, parts: 11, fieldSize: 1024 } });
  // the console at /console (docs/console.md)
  installConsole(adapter.getInstance());
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(options), adapter, {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.useGlobalPipes(validationPipe());
  enableCors(app, http);
  setupOpenApi(app);
  app.enableShutdownHooks();
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  started.app = app;
  started.front = gatewayHttpFront(app, parseJsonBody, BODY_LIMIT_BYTES);
  FRONTS.set(app, started.front);
  return app;
}

/**
 * Shutting down waits for the connections that carry a request; Node closes the idle kept-alive
 * ones itself, but counts a connection that has not sent a byte yet as busy until its headers
 * timeout (60 s): a client's pre-opened spare connection held the api's shutdown that long. The
 * function returned destroys those silent connections, and every connection accepted after it ran.
 */
function silentConnectionsDropper(server: Server): () => void {
  const open = new Set<Socket>();
  let closing = false;
  server.on('connection', (socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  return () => {
    closing = true;
    for (const socket of open) if (socket.bytesRead === 0) socket.destroy();
  };
}
