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

/**
 * Structured JSON logs (pino via nestjs-pino), one line per request with its id, status and
 * time, to stdout. `stream` lets tests capture every line to prove no secret is written.
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
          customLogLevel: (_req: IncomingMessage, res: { statusCode: number }, err?: Error) => requestLogLevel(res.statusCode, err),
          serializers: {
            req: (req: { id: string; method: string; url: string; headers: Record<string, unknown> }) => ({
              id: req.id,
              method: req.method,
              url: req.url,
              headers: {
                'user-agent': req.headers['user-agent'],
                authorization: req.headers.authorization,
                'x-app-did': req.headers['x-app-did'],
              },
            }),
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
