import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino, { type DestinationStream } from 'pino';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

/**
 * Paths pino removes from every log line. Secrets never reach a log: bearer keys, API keys,
 * cookies; request and response bodies are not logged at all.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
];

/** The message of the Error pino-http makes up for a 5xx response that carried none. */
const SYNTHETIC_ERROR = /^failed with status code \d{3}$/;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id: the caller's x-request-id when well-formed, else a new UUID. */
export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Level of a request's log line: `error` only for our own faults (500, or an error thrown), `warn`
 * for refusals and for dependencies that failed (4xx; 502/503/504: a provider or the database
 * was away), `info` otherwise.
 */
export function requestLogLevel(status: number, err?: Error): 'error' | 'warn' | 'info' {
  if (status === 502 || status === 503 || status === 504) return 'warn';
  if (err || status >= 500) return 'error';
  return status >= 400 ? 'warn' : 'info';
}

const GATEWAY_CALL = /^\/v1\/(chat\/completions|embeddings)(\?|$)/;

/**
 * Level of a request's line under GATEWAY_REQUEST_LOG: with `errors`, a gateway call answered
 * below 400 writes none (`silent`): its model call record holds the same facts, and a line per
 * call costs about a tenth of the api's CPU at full load (bench/README.md). Refusals and failures
 * are logged either way.
 */
export function requestLineLevel(
  mode: 'all' | 'errors',
  url: string | undefined,
  status: number,
  err?: Error,
): 'error' | 'warn' | 'info' | 'silent' {
  const level = requestLogLevel(status, err);
  return level === 'info' && mode === 'errors' && GATEWAY_CALL.test(url ?? '') ? 'silent' : level;
}

/** Request headers a log line keeps (authorization only to be censored: REDACTED_PATHS). */
const LOGGED_HEADERS = ['user-agent', 'authorization', 'x-app-did'] as const;

/**
 * The `req` of a log line: its id (the request id of every line the request writes), method, URL
 * and the LOGGED_HEADERS it carries (absent ones left out, so a censored `authorization` means
 * one was sent).
 */
export function serializeRequest(req: { id: string; method: string; url: string; headers: Record<string, unknown> }): {
  id: string;
  method: string;
  url: string;
  headers: Record<string, unknown>;
} {
  const headers: Record<string, unknown> = {};
  for (const name of LOGGED_HEADERS) if (req.headers[name] !== undefined) headers[name] = req.headers[name];
  return { id: req.id, method: req.method, url: req.url, headers };
}

/**
 * Structured JSON logs (pino via nestjs-pino), one line per request with its id, status and
 * time, to stdout (successful gateway calls only with GATEWAY_REQUEST_LOG=all: requestLineLevel). Every line written while a request runs (Nest's Logger included) carries the
 * same `req.id`, the id answered in `x-request-id` (requestIdFor): through nestjs-pino's request
 * context on the routes Fastify serves (src/logging/request-context-scope.ts), through the call's
 * own logger on the gateway's call routes (CallContext.log; shared components' lines written
 * meanwhile do not carry it, docs/operations.md "Logs"). Levels: requestLogLevel for
 * the request line; src/common/all-exceptions.filter.ts logs faults at error with their stack and
 * failed dependencies at warn, client errors not at all (their request line is at warn).
 * `stream` lets tests capture every line to prove no secret is written.
 */
export function loggingModule(stream?: DestinationStream): DynamicModule {
  return LoggerModule.forRootAsync({
    inject: [APP_CONFIG],
    useFactory: (config: AppConfig) => ({
      pinoHttp: [
        {
          level: config.logLevel,
          redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
          genReqId: (req: IncomingMessage & { id?: string }) => req.id ?? requestIdFor(req),
          customLogLevel: (req: IncomingMessage, res: { statusCode: number }, err?: Error) =>
            requestLineLevel(config.gatewayRequestLog, req.url, res.statusCode, err),
          serializers: {
            req: serializeRequest,
            res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            // pino-http invents an Error for every 5xx response; its stack (pino-http's own frames)
            // says nothing: keep the message only. Real errors keep their stack.
            err: (err: Error) =>
              SYNTHETIC_ERROR.test(err?.message ?? '') ? { type: 'Error', message: err.message } : pino.stdSerializers.err(err),
          },
        },
        // stdout through a 4 KiB buffer written asynchronously: a synchronous write per request
        // line blocks the event loop on a busy disk. Flushed at exit by pino.
        stream ?? pino.destination({ dest: 1, sync: false, minLength: 4096 }),
      ] as never,
    }),
  });
}
