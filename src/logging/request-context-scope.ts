import type { FastifyInstance } from 'fastify';
import { storage } from 'nestjs-pino/storage';

/**
 * Keeps nestjs-pino's request context (an AsyncLocalStorage holding each request's logger, so
 * that every line a request writes carries its `req.id`) switched on only while a request that
 * uses it is in flight.
 *
 * Why: on Node 20, while any AsyncLocalStorage is enabled, Node runs an async hook for every
 * promise and async resource of the whole process. That cost falls on the gateway's calls too,
 * although they do not use the storage (their lines carry the call's request explicitly:
 * CallContext.log, src/gateway/call-context.ts): about a tenth of a call's CPU at 50 concurrent
 * calls (bench/README.md). An AsyncLocalStorage stays enabled from its first `run` until
 * `disable()`; nestjs-pino's middleware calls `run` for every request Fastify serves, so this
 * counts those requests (from `onRequest` to their response's `close`, whether it finished or
 * was abandoned) and disables the storage when none is left; the next request's `run` enables it
 * again. A line written by work a request left running after its response closed (none of the
 * api's do so on purpose) has no `req.id`.
 * @returns the number of Fastify requests in flight (tests)
 */
export function installRequestContextScope(fastify: FastifyInstance): { inFlight(): number } {
  let inFlight = 0;
  fastify.addHook('onRequest', (_req, reply, done) => {
    inFlight++;
    reply.raw.once('close', () => {
      if (--inFlight === 0) storage.disable();
    });
    done();
  });
  return { inFlight: () => inFlight };
}
