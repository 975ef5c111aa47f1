/**
 * A running Tollgate for e2e tests: its own migrated database, the real Fastify/Nest HTTP stack
 * on a random loopback port, real Redis, and a bundled dev upstream as the provider. Every log
 * line the api writes is captured in `logs` so tests can check no secret was logged.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { __resetOutOfContextForTests } from 'nestjs-pino/PinoLogger';
import { getQueueToken } from '@nestjs/bullmq';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Queue } from 'bullmq';
import { createApiApp } from '../../src/app.factory';
import { Decimal } from '../../src/common/decimal';
import { CallHold, CreditLedgerService } from '../../src/credits/credit-ledger.service';
import { DevUpstream, startDevUpstream } from '../../src/dev-upstream/dev-upstream';
import { ALL_QUEUES } from '../../src/jobs/queues';
import { KeyCheckService } from '../../src/keys/key-check.service';
import { KeyManagementService } from '../../src/keys/key-management.service';
import { CallRecorder } from '../../src/model-calls/call-recorder.service';
import { PrismaService } from '../../src/prisma/prisma.service';
import { ProvidersService } from '../../src/providers/providers.service';
import { UsersService } from '../../src/users/users.service';
import { createTestDatabase, TestDatabase } from './database';

export const TEST_ENCRYPTION_KEYS = 'test1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=';
export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789abcdef-0123456789';
export const UPSTREAM_SECRET = 'sk-upstream-secret-for-tests-7f3a9c';
/** Password of the super admin every harness creates at boot (docs/api/auth.md "First boot"); set so boots print nothing. */
export const TEST_BOOTSTRAP_ADMIN_PASSWORD = 'test-bootstrap-admin-password-4d9e';

export interface Harness {
  db: TestDatabase;
  app: NestFastifyApplication;
  baseUrl: string;
  upstream: DevUpstream;
  logs: string[];
  prisma: PrismaService;
  users: UsersService;
  keys: KeyManagementService;
  keyCheck: KeyCheckService;
  providers: ProvidersService;
  ledger: CreditLedgerService;
  recorder: CallRecorder;
  /** Stops the app (its queues removed from Redis) and the upstream; drops the database unless `keepDatabase`. */
  close(opts?: { keepDatabase?: boolean }): Promise<void>;
}

/**
 * Boots everything. `env` overrides configuration variables for this app; `opts.databaseUrlFor`
 * rewrites the URL the app uses for its database (e.g. through a fault proxy).
 */
export async function startHarness(
  label: string,
  env: Record<string, string> = {},
  opts: { databaseUrlFor?: (url: string) => string } = {},
): Promise<Harness> {
  const db = await createTestDatabase(label);
  const upstream = await startDevUpstream({ apiKey: UPSTREAM_SECRET, models: ['mock-model'] });
  const saved = { ...process.env };
  Object.assign(process.env, {
    NODE_ENV: 'test',
    DATABASE_URL: opts.databaseUrlFor ? opts.databaseUrlFor(db.url) : db.url,
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'info',
    DATABASE_POOL_SIZE: '20',
    // Suites run three at a time against one PostgreSQL (max_connections 100): give idle
    // connections back after 10 s rather than keeping every suite's peak open.
    DATABASE_POOL_MIN: '0',
    QUEUE_PREFIX: `tollgate-test-${label}-${Math.random().toString(36).slice(2, 8)}`,
    BOOTSTRAP_ADMIN_PASSWORD: TEST_BOOTSTRAP_ADMIN_PASSWORD,
    ...env,
  });
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  let app: NestFastifyApplication;
  try {
    // nestjs-pino writes lines outside a request context (every line of a gateway call but its
    // own, docs/operations.md "Logs") to one logger per process, made by the first app: make it
    // this app's, so `logs` holds them, as PinoLogger.root is the latest app's.
    __resetOutOfContextForTests();
    app = await createApiApp({ logStream });
    await app.listen(0, '127.0.0.1');
  } finally {
    process.env = saved;
  }
  const address = app.getHttpServer().address() as { port: number };
  return {
    db,
    app,
    baseUrl: `http://127.0.0.1:${address.port}`,
    upstream,
    logs,
    prisma: app.get(PrismaService),
    users: app.get(UsersService),
    keys: app.get(KeyManagementService),
    keyCheck: app.get(KeyCheckService),
    providers: app.get(ProvidersService),
    ledger: app.get(CreditLedgerService),
    recorder: app.get(CallRecorder),
    async close({ keepDatabase = false } = {}) {
      // Queues were created under this harness's own prefix: leave nothing behind in Redis.
      for (const name of ALL_QUEUES)
        await app
          .get<Queue>(getQueueToken(name))
          .obliterate({ force: true })
          .catch(() => undefined);
      await app.close();
      await upstream.close();
      if (!keepDatabase) await db.drop();
    },
  };
}

export interface Tenant {
  userId: string;
  userDid: string;
  key: string;
  keyId: string;
}

/** A user with a credit grant and a virtual key. */
export async function createTenant(h: Harness, opts: { credits: string; allowedModels?: string[]; email?: string }): Promise<Tenant> {
  const user = await h.users.create({ email: opts.email ?? `u-${Math.random().toString(36).slice(2)}@example.com`, fullName: 'Test User' });
  if (new Decimal(opts.credits).gt(0)) await h.ledger.grant({ userId: user.id, amount: new Decimal(opts.credits), reason: 'test grant' });
  const key = await h.keys.create(user.id, { name: 'test key', allowedModels: opts.allowedModels ?? [] });
  return { userId: user.id, userDid: user.did, key: key.secret, keyId: key.id };
}

/**
 * POST /v1/chat/completions with a virtual key: `body` over `{model: 'mock-model'}`, through the
 * real HTTP stack (`signal` aborts it, as a client that leaves).
 */
export function postChatCompletion(h: Harness, key: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<Response> {
  return fetch(`${h.baseUrl}/v1/chat/completions`, {
    method: 'POST',
    signal,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'mock-model', ...body }),
  });
}

/** Provider "devup" → the harness upstream, one credential, rates for chat and embeddings. */
export async function createDevProvider(
  h: Harness,
  opts: {
    name?: string;
    inputRate?: string;
    outputRate?: string;
    baseUrl?: string;
    credentials?: { name: string; value: string; weight?: number }[];
  } = {},
) {
  const provider = await h.providers.createProvider({
    name: opts.name ?? 'devup',
    displayName: 'Dev Upstream',
    baseUrl: opts.baseUrl ?? h.upstream.url,
  });
  for (const c of opts.credentials ?? [{ name: 'Default Key', value: UPSTREAM_SECRET }]) {
    await h.providers.addCredential(provider.id, { name: c.name, value: c.value, weight: c.weight });
  }
  const chat = await h.providers.addModelRate(provider.id, {
    model: 'mock-model',
    inputRate: opts.inputRate ?? '0.5',
    outputRate: opts.outputRate ?? '1.5',
  });
  const embed = await h.providers.addModelRate(provider.id, {
    model: 'mock-embed',
    type: 'embedding',
    inputRate: opts.inputRate ?? '0.5',
    outputRate: '0',
  });
  return { provider, chat, embed };
}

/** A hold for a call in flight, as the gateway writes it (tests that hold credits directly). */
export function testHold(userId: string, amount: string, overrides: Partial<CallHold> = {}): CallHold {
  return {
    userId,
    callId: randomUUID(),
    amount: new Decimal(amount),
    enforce: true,
    apiKeyId: null,
    providerId: null,
    model: 'mock-model',
    type: 'chatCompletion',
    stream: false,
    requestId: 'test-hold',
    appDid: null,
    promptTokensEstimate: 0,
    inputRate: new Decimal(0),
    startedAt: Date.now(),
    ...overrides,
  };
}
