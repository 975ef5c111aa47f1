import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentsHost, BadRequestException, Logger, NotFoundException } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';
import { QueryDeadlineError } from '../prisma/pool-query';
import { AllExceptionsFilter } from './all-exceptions.filter';
import { DomainError } from './domain-error';

/** What the filter answered: status, headers and body, as a Fastify reply would have sent them. */
interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  rawEnded: boolean;
}

function answer(exception: unknown, url: string, opts: { headersSent?: boolean } = {}): Answer {
  const out: Answer = { rawEnded: false };
  const raw = {
    headersSent: opts.headersSent ?? false,
    writableEnded: false,
    end: () => {
      out.rawEnded = true;
    },
    writeHead: () => undefined,
  };
  const reply = {
    sent: false,
    raw,
    code(s: number) {
      out.status = s;
      return reply;
    },
    headers(h: Record<string, string>) {
      out.headers = h;
      return reply;
    },
    send(b: unknown) {
      out.body = b;
      return reply;
    },
  };
  const req = { url, method: 'POST', id: 'req-1' };
  const host = { switchToHttp: () => ({ getResponse: () => reply, getRequest: () => req }) } as unknown as ArgumentsHost;
  new AllExceptionsFilter().catch(exception, host);
  return out;
}

const prismaError = (code: string) => new Prisma.PrismaClientKnownRequestError(`prisma says ${code}`, { code, clientVersion: 'test' });

describe('AllExceptionsFilter', () => {
  let error: jest.SpyInstance;
  let warn: jest.SpyInstance;

  beforeEach(() => {
    error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  describe('a DomainError', () => {
    const rateLimited = new DomainError(429, 'too_many_concurrent_requests', 'Slow down', { headers: { 'retry-after': '1' } });

    it('on a management route: {statusCode, code, message, ...details, requestId}, with its headers and the request id', () => {
      const a = answer(DomainError.conflict('model_rate_exists', 'A rate exists', { providerIds: ['p1'] }), '/ai-providers/model-rates');
      expect(a.status).toBe(409);
      expect(JSON.stringify(a.body)).toBe(
        '{"statusCode":409,"code":"model_rate_exists","message":"A rate exists","providerIds":["p1"],"requestId":"req-1"}',
      );
      expect(a.headers).toEqual({ 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'req-1' });
      expect(answer(rateLimited, '/user/info').headers).toMatchObject({ 'retry-after': '1' });
    });

    it('on a /v1 route: OpenAI shape {error:{message, type, param, code, ...details}}', () => {
      const a = answer(new DomainError(404, 'model_not_found', 'No such model', { param: 'model' }), '/v1/chat/completions');
      expect(a.status).toBe(404);
      expect(JSON.stringify(a.body)).toBe(
        '{"error":{"message":"No such model","type":"invalid_request_error","param":"model","code":"model_not_found"}}',
      );
      const paid = answer(
        new DomainError(402, 'insufficient_credits', 'Used up', { details: { payment_link: null, affordable_completion_tokens: 0 } }),
        '/v1/embeddings',
      );
      expect(JSON.stringify(paid.body)).toBe(
        '{"error":{"message":"Used up","type":"insufficient_quota","param":null,"code":"insufficient_credits","payment_link":null,"affordable_completion_tokens":0}}',
      );
      expect(answer(rateLimited, '/v1/chat/completions').headers).toEqual({
        'content-type': 'application/json; charset=utf-8',
        'x-request-id': 'req-1',
        'retry-after': '1',
      });
    });

    it.each([
      [400, 'invalid_request_error'],
      [401, 'invalid_request_error'],
      [402, 'insufficient_quota'],
      [403, 'permission_error'],
      [404, 'invalid_request_error'],
      [429, 'rate_limit_error'],
      [500, 'server_error'],
      [503, 'server_error'],
    ])('derives the OpenAI type of %i as %s unless the error names one', (status, type) => {
      expect((answer(new DomainError(status, 'x', 'm'), '/v1/models').body as { error: { type: string } }).error.type).toBe(type);
      const own = answer(new DomainError(status, 'x', 'm', { type: 'upstream_error' }), '/v1/models');
      expect((own.body as { error: { type: string } }).error.type).toBe('upstream_error');
    });

    it('details never override the fields the envelope sets', () => {
      const e = DomainError.badRequest('real', 'real message', {
        code: 'fake',
        message: 'fake',
        statusCode: 200,
        type: 'fake',
        param: 'fake',
        kept: 1,
      });
      expect(answer(e, '/user/info').body).toEqual({
        statusCode: 400,
        code: 'real',
        message: 'real message',
        type: 'fake',
        param: 'fake',
        kept: 1,
        requestId: 'req-1',
      });
      expect(answer(e, '/v1/models').body).toEqual({
        error: { message: 'real message', type: 'invalid_request_error', param: null, code: 'real', statusCode: 200, kept: 1 },
      });
    });

    it('is logged without a stack: 500 at error, other 5xx at warn, 4xx not at all', () => {
      answer(DomainError.notFound('user_not_found', 'No user'), '/user/info');
      expect(error).not.toHaveBeenCalled();
      expect(warn).not.toHaveBeenCalled();
      answer(DomainError.badGateway('provider_unavailable', 'No answer'), '/ai-providers/x/credentials');
      expect(warn).toHaveBeenCalledWith('POST /ai-providers/x/credentials answered 502 provider_unavailable: No answer');
      answer(DomainError.internal('stats_recalculation_failed', 'Failed', { jobId: '1' }), '/user/recalculate-stats?x=1');
      expect(error).toHaveBeenCalledWith('POST /user/recalculate-stats answered 500 stats_recalculation_failed: Failed');
      expect(error.mock.calls.flat().join('')).not.toMatch(/\n\s+at /);
    });
  });

  describe('a Nest HttpException', () => {
    const validation = new BadRequestException({
      code: 'validation_failed',
      message: 'name must be a string',
      errors: [{ field: 'name', messages: ['name must be a string'] }],
    });

    it('keeps its status, code, message and other body fields', () => {
      const a = answer(validation, '/ai-providers');
      expect(a.status).toBe(400);
      expect(JSON.stringify(a.body)).toBe(
        '{"statusCode":400,"code":"validation_failed","message":"name must be a string","errors":[{"field":"name","messages":["name must be a string"]}],"requestId":"req-1"}',
      );
      expect((answer(validation, '/v1/chat/completions').body as { error: unknown }).error).toEqual({
        message: 'name must be a string',
        type: 'invalid_request_error',
        param: null,
        code: 'validation_failed',
        errors: [{ field: 'name', messages: ['name must be a string'] }],
      });
    });

    it('without a code gets one from its status; a list of messages is joined', () => {
      expect(answer(new NotFoundException('Cannot GET /nope'), '/nope').body).toEqual({
        statusCode: 404,
        code: 'not_found',
        message: 'Cannot GET /nope',
        requestId: 'req-1',
      });
      expect(answer(new BadRequestException(['a is wrong', 'b is wrong']), '/x').body).toEqual({
        statusCode: 400,
        code: 'invalid_request',
        message: 'a is wrong; b is wrong',
        requestId: 'req-1',
      });
    });
  });

  describe('Prisma errors', () => {
    it('P2002 (unique violation) → 409 conflict', () => {
      const a = answer(prismaError('P2002'), '/ai-providers');
      expect(a.status).toBe(409);
      expect(a.body).toEqual({
        statusCode: 409,
        code: 'conflict',
        message: 'A record with these values already exists',
        requestId: 'req-1',
      });
      expect((answer(prismaError('P2002'), '/v1/models').body as { error: unknown }).error).toEqual({
        message: 'A record with these values already exists',
        type: 'invalid_request_error',
        param: null,
        code: 'conflict',
      });
    });

    it('P2025 (record not found) → 404 not_found', () => {
      const a = answer(prismaError('P2025'), '/ai-providers/x');
      expect(a.status).toBe(404);
      expect(a.body).toEqual({ statusCode: 404, code: 'not_found', message: 'The record does not exist', requestId: 'req-1' });
      expect(error).not.toHaveBeenCalled();
    });

    it('another known request error is unexpected: 500', () => {
      expect(answer(prismaError('P2003'), '/x').status).toBe(500);
    });
  });

  describe('the database away', () => {
    it.each([
      ['Prisma cannot reach it (P1001)', Object.assign(new Error("Can't reach database server"), { code: 'P1001' })],
      ['Prisma pool timeout (P2024)', prismaError('P2024')],
      ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
      ['a statement past its deadline', new QueryDeadlineError(100)],
    ])('%s → 503 service_unavailable with Retry-After: 1, logged at warn', (_what, err) => {
      const a = answer(err, '/user/info');
      expect(a.status).toBe(503);
      expect(a.body).toEqual({
        statusCode: 503,
        code: 'service_unavailable',
        message: 'The database is unavailable; retry shortly',
        requestId: 'req-1',
      });
      expect(a.headers).toMatchObject({ 'retry-after': '1' });
      expect((answer(err, '/v1/models').body as { error: unknown }).error).toEqual({
        message: 'The database is unavailable; retry shortly',
        type: 'server_error',
        param: null,
        code: 'service_unavailable',
      });
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^database unavailable on POST \/user\/info: /));
      expect(error).not.toHaveBeenCalled();
    });
  });

  describe('an unexpected error', () => {
    it('→ 500 internal_error, logged at error level with its stack', () => {
      const a = answer(new TypeError('cannot read x of undefined'), '/user/info?secret=1');
      expect(a.status).toBe(500);
      expect(a.body).toEqual({ statusCode: 500, code: 'internal_error', message: 'Internal error', requestId: 'req-1' });
      expect((answer(new Error('boom'), '/v1/chat/completions').body as { error: unknown }).error).toEqual({
        message: 'Internal error',
        type: 'server_error',
        param: null,
        code: 'internal_error',
      });
      const logged = error.mock.calls[0][0] as string;
      expect(logged).toMatch(/^unhandled error on POST \/user\/info: TypeError: cannot read x of undefined\n\s+at /);
    });

    it("Fastify's own 4xx keep their status and message", () => {
      const fst = Object.assign(new Error('Unsupported Media Type: text/plain'), {
        statusCode: 415,
        code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      });
      expect(answer(fst, '/auth/login').body).toEqual({
        statusCode: 415,
        code: 'unsupported_media_type',
        message: 'Unsupported Media Type: text/plain',
        requestId: 'req-1',
      });
      expect(error).not.toHaveBeenCalled();
    });
  });

  it('src/common depends on no feature module (the gateway renders its errors through this filter, not the reverse)', () => {
    const files = readdirSync(__dirname, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const imports = files.flatMap((f) => [...readFileSync(join(__dirname, f), 'utf8').matchAll(/from '(\.\.\/[^']+)'/g)].map((m) => m[1]));
    expect(imports.filter((i) => !/^\.\.\/(\.\.\/)?(generated|prisma)\//.test(i))).toEqual([]);
  });

  it('a response already started (a stream) is ended, not answered', () => {
    const a = answer(DomainError.badGateway('upstream_error', 'gone'), '/v1/chat/completions', { headersSent: true });
    expect(a.rawEnded).toBe(true);
    expect(a.body).toBeUndefined();
  });
});
