import { availableParallelism } from 'node:os';

/**
 * Typed, validated configuration. Read once from the environment at boot (`loadConfig`); a
 * missing or malformed value stops boot with a message naming the variable. Nothing else in
 * src/ reads process.env (the CLI scripts read only what they need).
 */
export type NodeEnv = 'development' | 'test' | 'production';

export interface EncryptionKey {
  /** Short id stored with each ciphertext, so keys can be rotated. */
  id: string;
  /** 32 raw bytes (AES-256). */
  key: Buffer;
}

export interface AppConfig {
  nodeEnv: NodeEnv;
  host: string;
  port: number;
  /**
   * API_WORKERS: api processes serving PORT on this machine (1..64; `auto` = os.availableParallelism()).
   * 1 = a single process (no cluster); more = a small primary forking that many workers (src/cluster/api-cluster.ts).
   */
  apiWorkers: number;
  databaseUrl: string;
  databasePoolSize: number;
  /**
   * DATABASE_POOL_MIN: pool connections kept open while idle (0..DATABASE_POOL_SIZE; default
   * DATABASE_POOL_SIZE). Connections above it close after 10 s unused. A connection opened for a
   * burst costs the burst its start-up and its first statements' planning (docs/operations.md
   * "PostgreSQL and Redis sizing").
   */
  databasePoolMin: number;
  /** Longest wait for a PostgreSQL connection from the pool, new or idle (ms). */
  databaseConnectTimeoutMs: number;
  /**
   * Longest wait for any one statement's answer (ms); past it the connection is closed. Bounds
   * what a network partition (no reset, silence) does to a request.
   */
  databaseQueryTimeoutMs: number;
  redisUrl: string;
  /** Prefix of every BullMQ key in Redis (several deployments can share one Redis). */
  queuePrefix: string;
  /** First key encrypts; every key listed can decrypt. */
  encryptionKeys: EncryptionKey[];
  jwtSecret: string;
  logLevel: string;
  /**
   * GATEWAY_REQUEST_LOG: `errors` (default) writes no request line for a gateway call
   * (/v1/chat/completions, /v1/embeddings) that succeeded, as its model call record already says
   * everything the line would (request id, key, model, status, time); `all` logs every request.
   */
  gatewayRequestLog: 'all' | 'errors';
  credit: {
    /** `enableCredit` of GET /user/info: refuse calls with 402 when the balance cannot cover them. */
    billingEnabled: boolean;
    /** `paymentLink` of GET /user/info, returned with 402 so the user can buy credits. */
    paymentLink: string | null;
    /**
     * Lease of a call in flight (seconds): the api renews its holds every quarter of this; a hold
     * not renewed for this long belongs to a dead process and becomes an `interrupted` call.
     */
    holdTtlSeconds: number;
    /**
     * Completion tokens a chat call may use when it sets no max_tokens: the hold covers them and
     * the call is forwarded with that bound (docs/call-recording.md "Admission").
     */
    holdDefaultCompletionTokens: number;
    /** Longest wait for the hold statement before the call is refused with 503 (ms). */
    holdTimeoutMs: number;
    /**
     * CREDIT_RESERVE_CALLS: size of a credit reserve, in worst cases of the call that asks for it
     * (docs/call-recording.md "Reserves"); 0 turns reserves off (every call takes a hold).
     */
    reserveCalls: number;
    /** `currency` of GET /user/info: how a credit is displayed (name, symbol, decimal places). */
    currency: { name: string; symbol: string; decimal: number };
    /** `profileLink`: where a user edits their profile (GET /user/info). */
    profileLink: string | null;
  };
  upstream: {
    /** TCP connect timeout (ms). */
    connectTimeoutMs: number;
    /** Time to the upstream's response headers (ms). */
    headersTimeoutMs: number;
    /** Longest silence between body chunks (ms). */
    bodyTimeoutMs: number;
    /** Keep-alive connections per upstream origin. */
    connections: number;
  };
  cache: {
    /** How long a resolved virtual key is trusted before it is looked up again (ms). */
    keyTtlMs: number;
    /** How long the provider/rate catalog is cached (ms). */
    catalogTtlMs: number;
  };
  gateway: {
    /** Calls one virtual key may have in flight in one api process; more answer 429 (0 = no limit). */
    maxConcurrentPerKey: number;
    /** Calls one user may have in flight in one api process, over all their keys (0 = no limit). */
    maxConcurrentPerUser: number;
    /** A streaming client that reads nothing for this long is dropped, billed for what it was sent (ms). */
    streamStallTimeoutMs: number;
  };
  tokenizer: {
    /** Worker threads counting tokens (0: count on the event loop; still linear, but blocking). */
    threads: number;
    /** Past this many UTF-8 bytes in one count, tokens are estimated as ceil(bytes / 4). */
    maxBytes: number;
    /** An idle counting thread exits after this long (ms). */
    idleTimeoutMs: number;
  };
  recording: {
    /** Longest wait for PostgreSQL to commit a call's record before it goes to the Redis fallback (ms). */
    dbTimeoutMs: number;
    /**
     * Whether a call's record waits for PostgreSQL's WAL flush before the call's answer is sent
     * (default true). false: the record's transaction commits asynchronously; it still survives an
     * api crash and a clean PostgreSQL restart, but a PostgreSQL crash or a crash of the database
     * host can lose the last records (about three times wal_writer_delay). docs/call-recording.md
     * "Durability and latency".
     */
    synchronousCommit: boolean;
  };
  modelCalls: {
    /** Most rows one CSV export of the call log writes (docs/api/model-calls.md). */
    exportMaxRows: number;
    /**
     * Exports running at once in one api process, each on a PostgreSQL connection of its own
     * (outside DATABASE_POOL_SIZE); past it 503 `too_many_concurrent_exports`.
     */
    exportMaxConcurrent: number;
    /**
     * Exports running at once in one api process for one user (the requester; an admin's
     * all-users export counts against the admin), within exportMaxConcurrent; past it 429
     * `too_many_concurrent_exports`, so one user cannot take every slot.
     */
    exportMaxConcurrentPerUser: number;
    /** An export whose client reads nothing this long is cut off and its COPY cancelled (ms). */
    exportStallTimeoutMs: number;
    /** Longest an export may run (ms): its COPY's statement_timeout, and the api cuts it off past it. */
    exportTimeoutMs: number;
    /**
     * Hourly stats: a call log row counts as settled this long after it was inserted (ms). Must
     * exceed the longest insert transaction; see hourly-aggregation.service.ts.
     */
    statsSettleMs: number;
  };
  providerHealth: {
    /** Failures within the window after which a credential is reported not running. */
    failureThreshold: number;
    /** Length of the sliding failure window (ms). */
    failureWindowMs: number;
    /** How long GET /ai-providers/health is served from the Redis cache (ms); 0 = no cache. */
    healthCacheTtlMs: number;
    /** Timeout of one upstream probe: credential validation, /check, model health check (ms). */
    probeTimeoutMs: number;
  };
  accounts: {
    /** Email of the super admin created at first boot (docs/api/auth.md "First boot"). */
    bootstrapEmail: string;
    /** Its password; null = generated and printed once on stdout (never logged). Must be changed at first login either way. */
    bootstrapPassword: string | null;
    /** Email domains users may have (lower case); empty = any domain. Others answer 400 INVALID_EMAIL. */
    allowedEmailDomains: string[];
    /** Failed logins of one account within the window before it is throttled (429). */
    loginMaxFailuresPerAccount: number;
    /** Failed logins from one IP within the window before it is throttled (429). */
    loginMaxFailuresPerIp: number;
    /** Window and lockout length of login throttling (seconds). */
    loginThrottleWindowSeconds: number;
    /** Lifetime of a login JWT (seconds). */
    accessTokenTtlSeconds: number;
  };
  audit: {
    /** Audit entries older than this are deleted by the worker (days; 0 = keep forever). */
    retentionDays: number;
    /** Request-only entries buffered in memory before a flush is forced. */
    bufferMaxEntries: number;
    /** Longest time a request-only entry waits in the buffer (ms). */
    flushIntervalMs: number;
  };
  http: {
    /** Origins allowed to call the API from browsers (CORS); empty = no cross-origin access. */
    corsOrigins: string[];
    /**
     * Which proxies' X-Forwarded-For to believe for the client IP (audit, login throttling, rate
     * limits): false (none), true (all: only behind a proxy that overwrites the header), a hop count,
     * or a list of proxy addresses/CIDRs. Passed to Fastify's `trustProxy`.
     */
    trustProxy: boolean | number | string[];
  };
  metrics: {
    /** When set, GET /metrics needs `Authorization: Bearer <this>`; else it is public. */
    bearerToken: string | null;
  };
  rateLimit: {
    /** Requests per minute and per hour one service key may make to the LLM config API. */
    llmConfigPerMinute: number;
    llmConfigPerHour: number;
    /** Gateway limits per user over all their keys (0 = none); a key's own rpm/tpm are on the key. */
    userRpm: number;
    userTpm: number;
    /** What limiting does when Redis does not answer: `open` lets requests through, `closed` refuses them (503). */
    redisFailurePolicy: 'open' | 'closed';
    /** Longest wait for the limiter's Redis round trip before the failure policy applies (ms). */
    redisTimeoutMs: number;
    /** The limiter's own Redis connection (RATE_LIMIT_REDIS_URL; default REDIS_URL). */
    redisUrl: string;
  };
  llmConfig: {
    /** How long an answer of the LLM config API is cached in Redis (ms); changes drop it at once. */
    cacheTtlMs: number;
    /** Most users in one POST /v1/users/llm-configs/batch. */
    batchMaxUsers: number;
    /** Tollgate's public base URL (PUBLIC_BASE_URL, no trailing slash; default http://HOST:PORT): `tollgate` profiles answer `<it>/v1`. */
    publicBaseUrl: string;
  };
  userImport: {
    /** Largest CSV upload for POST /admin/users/import (bytes); larger answers 413. */
    maxBytes: number;
    /** Most data rows in one import; more answers 400 `too_many_rows`. */
    maxRows: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Values that appear in the README and the demo script. Accepted in development and test,
 * refused in production so that nobody ships the sample secrets.
 */
export const DEV_ONLY_SECRETS: readonly string[] = [
  'dev-jwt-secret-change-me-0123456789abcdef',
  'dev1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
];

type Env = Record<string, string | undefined>;

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  str(name: string, dflt?: string): string {
    const v = this.env[name];
    if (v === undefined || v.trim() === '') {
      if (dflt !== undefined) return dflt;
      this.problems.push(`${name} is required`);
      return '';
    }
    return v.trim();
  }

  int(name: string, dflt: number, min: number, max: number): number {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === '') return dflt;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return dflt;
    }
    return n;
  }

  bool(name: string, dflt: boolean): boolean {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === '') return dflt;
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    this.problems.push(`${name} must be true or false (got "${raw}")`);
    return dflt;
  }

  url(name: string, protocols: string[], dflt?: string): string {
    const v = this.str(name, dflt);
    if (!v) return v;
    try {
      const u = new URL(v);
      if (!protocols.includes(u.protocol)) {
        this.problems.push(`${name} must be a ${protocols.join(' or ')} URL`);
      }
    } catch {
      this.problems.push(`${name} is not a valid URL`);
    }
    return v;
  }
}

function parseEncryptionKeys(raw: string, problems: string[]): EncryptionKey[] {
  const keys: EncryptionKey[] = [];
  if (!raw) return keys;
  for (const part of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const i = part.indexOf(':');
    const id = i > 0 ? part.slice(0, i) : '';
    const key = i > 0 ? Buffer.from(part.slice(i + 1), 'base64') : Buffer.alloc(0);
    if (!/^[A-Za-z0-9_-]{1,16}$/.test(id) || key.length !== 32) {
      problems.push('ENCRYPTION_KEYS must be a comma list of <id>:<base64 of 32 bytes> (id: 1-16 of A-Z a-z 0-9 _ -)');
      return [];
    }
    if (keys.some((k) => k.id === id)) {
      problems.push(`ENCRYPTION_KEYS lists key id "${id}" twice`);
      return [];
    }
    keys.push({ id, key });
  }
  return keys;
}

/** TRUST_PROXY: empty/false → false, true → true, an integer → hop count, else a comma list of addresses/CIDRs. */
function parseTrustProxy(raw: string, problems: string[]): boolean | number | string[] {
  const v = raw.trim().toLowerCase();
  if (v === '' || v === 'false') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.some((a) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(a))) {
    problems.push('TRUST_PROXY must be true, false, a hop count or a comma list of IP addresses/CIDRs');
    return false;
  }
  return list;
}

/** Most api processes API_WORKERS may ask for. */
export const MAX_API_WORKERS = 64;

/**
 * API_WORKERS: unset/empty → 1; `auto` → `cpus` (the machine's available parallelism, clamped to
 * 1..MAX_API_WORKERS); else an integer from 1 to MAX_API_WORKERS. A bad value adds a problem and returns 1.
 */
export function parseApiWorkers(raw: string | undefined, cpus: number, problems: string[]): number {
  if (raw === undefined || raw.trim() === '') return 1;
  const v = raw.trim().toLowerCase();
  if (v === 'auto') return Math.min(MAX_API_WORKERS, Math.max(1, Math.floor(cpus) || 1));
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_API_WORKERS) {
    problems.push(`API_WORKERS must be auto or an integer from 1 to ${MAX_API_WORKERS} (got "${raw}")`);
    return 1;
  }
  return Number(v);
}

/**
 * Builds the AppConfig from an environment map.
 * @throws ConfigError listing every missing or malformed variable (never their values).
 */
export function loadConfig(env: Env): AppConfig {
  const r = new Reader(env);
  const nodeEnvRaw = r.str('NODE_ENV', 'development');
  if (!['development', 'test', 'production'].includes(nodeEnvRaw)) {
    r.problems.push('NODE_ENV must be development, test or production');
  }
  const nodeEnv = nodeEnvRaw as NodeEnv;
  const encryptionRaw = r.str('ENCRYPTION_KEYS');
  const encryptionKeys = parseEncryptionKeys(encryptionRaw, r.problems);
  const jwtSecret = r.str('JWT_SECRET');
  if (jwtSecret && jwtSecret.length < 32) r.problems.push('JWT_SECRET must be at least 32 characters');
  if (nodeEnv === 'production') {
    if (DEV_ONLY_SECRETS.includes(jwtSecret)) r.problems.push('JWT_SECRET is the sample value; set a secret of your own in production');
    if (encryptionRaw.split(',').some((p) => DEV_ONLY_SECRETS.includes(p.trim()))) {
      r.problems.push('ENCRYPTION_KEYS contains the sample key; generate your own in production');
    }
  }
  const paymentLink = r.str('CREDIT_PAYMENT_LINK', '');
  if (paymentLink) r.url('CREDIT_PAYMENT_LINK', ['http:', 'https:']);

  const poolSize = r.int('DATABASE_POOL_SIZE', 10, 1, 200);
  const config: AppConfig = {
    nodeEnv,
    host: r.str('HOST', '127.0.0.1'),
    port: r.int('PORT', 3000, 0, 65535),
    apiWorkers: parseApiWorkers(env.API_WORKERS, availableParallelism(), r.problems),
    databaseUrl: r.url('DATABASE_URL', ['postgres:', 'postgresql:']),
    databasePoolSize: poolSize,
    databasePoolMin: r.int('DATABASE_POOL_MIN', poolSize, 0, poolSize),
    databaseConnectTimeoutMs: r.int('DATABASE_CONNECT_TIMEOUT_MS', 5_000, 100, 600_000),
    databaseQueryTimeoutMs: r.int('DATABASE_QUERY_TIMEOUT_MS', 60_000, 100, 86_400_000),
    redisUrl: r.url('REDIS_URL', ['redis:', 'rediss:']),
    queuePrefix: r.str('QUEUE_PREFIX', 'tollgate'),
    encryptionKeys,
    jwtSecret,
    logLevel: r.str('LOG_LEVEL', 'info'),
    gatewayRequestLog: r.str('GATEWAY_REQUEST_LOG', 'errors') === 'all' ? 'all' : 'errors',
    credit: {
      billingEnabled: r.bool('CREDIT_BILLING_ENABLED', true),
      paymentLink: paymentLink || null,
      holdTtlSeconds: r.int('CREDIT_HOLD_TTL_SECONDS', 120, 2, 86400),
      holdDefaultCompletionTokens: r.int('CREDIT_HOLD_DEFAULT_COMPLETION_TOKENS', 4096, 1, 10_000_000),
      holdTimeoutMs: r.int('CREDIT_HOLD_TIMEOUT_MS', 5_000, 100, 600_000),
      reserveCalls: r.int('CREDIT_RESERVE_CALLS', 256, 0, 100_000),
      currency: {
        name: r.str('CREDIT_CURRENCY_NAME', 'Credit'),
        symbol: r.str('CREDIT_CURRENCY_SYMBOL', 'CR'),
        decimal: r.int('CREDIT_CURRENCY_DECIMAL', 2, 0, 10),
      },
      profileLink: r.str('PROFILE_LINK', '') ? r.url('PROFILE_LINK', ['http:', 'https:']) : null,
    },
    upstream: {
      connectTimeoutMs: r.int('UPSTREAM_CONNECT_TIMEOUT_MS', 10_000, 100, 600_000),
      headersTimeoutMs: r.int('UPSTREAM_HEADERS_TIMEOUT_MS', 300_000, 100, 3_600_000),
      bodyTimeoutMs: r.int('UPSTREAM_BODY_TIMEOUT_MS', 300_000, 100, 3_600_000),
      connections: r.int('UPSTREAM_CONNECTIONS', 128, 1, 4096),
    },
    cache: {
      keyTtlMs: r.int('KEY_CACHE_TTL_MS', 10_000, 0, 3_600_000),
      catalogTtlMs: r.int('CATALOG_CACHE_TTL_MS', 5_000, 0, 3_600_000),
    },
    gateway: {
      maxConcurrentPerKey: r.int('GATEWAY_MAX_CONCURRENT_PER_KEY', 64, 0, 100_000),
      maxConcurrentPerUser: r.int('GATEWAY_MAX_CONCURRENT_PER_USER', 64, 0, 100_000),
      streamStallTimeoutMs: r.int('STREAM_STALL_TIMEOUT_MS', 30_000, 100, 3_600_000),
    },
    tokenizer: {
      threads: r.int('TOKENIZER_THREADS', 1, 0, 64),
      maxBytes: r.int('TOKENIZER_MAX_BYTES', 4 * 1024 * 1024, 0, 1024 * 1024 * 1024),
      idleTimeoutMs: r.int('TOKENIZER_IDLE_TIMEOUT_MS', 60_000, 0, 86_400_000),
    },
    recording: {
      dbTimeoutMs: r.int('CALL_RECORD_DB_TIMEOUT_MS', 2_000, 50, 600_000),
      synchronousCommit: r.bool('CALL_RECORD_SYNCHRONOUS_COMMIT', true),
    },
    modelCalls: {
      exportMaxRows: r.int('MODEL_CALLS_EXPORT_MAX_ROWS', 10_000, 1, 10_000_000),
      exportMaxConcurrent: r.int('MODEL_CALLS_EXPORT_MAX_CONCURRENT', 4, 1, 1000),
      exportMaxConcurrentPerUser: r.int('MODEL_CALLS_EXPORT_MAX_CONCURRENT_PER_USER', 1, 1, 1000),
      exportStallTimeoutMs: r.int('MODEL_CALLS_EXPORT_STALL_TIMEOUT_MS', 30_000, 100, 3_600_000),
      exportTimeoutMs: r.int('MODEL_CALLS_EXPORT_TIMEOUT_MS', 900_000, 1_000, 86_400_000),
      statsSettleMs: r.int('MODEL_CALL_STATS_SETTLE_MS', 60_000, 0, 3_600_000),
    },
    providerHealth: {
      failureThreshold: r.int('CREDENTIAL_FAILURE_THRESHOLD', 3, 1, 1000),
      failureWindowMs: r.int('CREDENTIAL_FAILURE_WINDOW_SECONDS', 300, 1, 7 * 86400) * 1000,
      healthCacheTtlMs: r.int('PROVIDER_HEALTH_CACHE_TTL_MS', 5000, 0, 3_600_000),
      probeTimeoutMs: r.int('PROVIDER_PROBE_TIMEOUT_MS', 15_000, 100, 600_000),
    },
    accounts: {
      bootstrapEmail: r.str('BOOTSTRAP_ADMIN_EMAIL', 'admin@tollgate.local').toLowerCase(),
      bootstrapPassword: r.str('BOOTSTRAP_ADMIN_PASSWORD', '') || null,
      allowedEmailDomains: r
        .str('ALLOWED_EMAIL_DOMAINS', '')
        .split(',')
        .map((d) => d.trim().toLowerCase().replace(/^@/, ''))
        .filter(Boolean),
      loginMaxFailuresPerAccount: r.int('LOGIN_MAX_FAILURES_PER_ACCOUNT', 5, 1, 10_000),
      loginMaxFailuresPerIp: r.int('LOGIN_MAX_FAILURES_PER_IP', 30, 1, 1_000_000),
      loginThrottleWindowSeconds: r.int('LOGIN_THROTTLE_WINDOW_SECONDS', 900, 1, 86_400),
      accessTokenTtlSeconds: r.int('ACCESS_TOKEN_TTL_SECONDS', 3600, 60, 30 * 86_400),
    },
    audit: {
      retentionDays: r.int('AUDIT_RETENTION_DAYS', 365, 0, 36_500),
      bufferMaxEntries: r.int('AUDIT_BUFFER_MAX_ENTRIES', 500, 1, 100_000),
      flushIntervalMs: r.int('AUDIT_FLUSH_INTERVAL_MS', 1_000, 10, 60_000),
    },
    http: {
      corsOrigins: r
        .str('CORS_ORIGINS', '')
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
      trustProxy: parseTrustProxy(r.str('TRUST_PROXY', ''), r.problems),
    },
    metrics: {
      bearerToken: r.str('METRICS_BEARER_TOKEN', '') || null,
    },
    rateLimit: {
      llmConfigPerMinute: r.int('LLM_CONFIG_RATE_LIMIT_PER_MINUTE', 60, 1, 1_000_000),
      llmConfigPerHour: r.int('LLM_CONFIG_RATE_LIMIT_PER_HOUR', 1000, 1, 100_000_000),
      userRpm: r.int('GATEWAY_USER_RPM', 0, 0, 100_000_000),
      userTpm: r.int('GATEWAY_USER_TPM', 0, 0, 2_000_000_000),
      redisFailurePolicy: r.str('RATE_LIMIT_REDIS_FAILURE_POLICY', 'open') === 'closed' ? 'closed' : 'open',
      redisTimeoutMs: r.int('RATE_LIMIT_REDIS_TIMEOUT_MS', 100, 1, 60_000),
      redisUrl: r.str('RATE_LIMIT_REDIS_URL', '') ? r.url('RATE_LIMIT_REDIS_URL', ['redis:', 'rediss:']) : r.str('REDIS_URL', ''),
    },
    llmConfig: {
      cacheTtlMs: r.int('LLM_CONFIG_CACHE_TTL_MS', 60_000, 0, 86_400_000),
      batchMaxUsers: r.int('LLM_CONFIG_BATCH_MAX_USERS', 100, 1, 1000),
      publicBaseUrl: r.str('PUBLIC_BASE_URL', '')
        ? r.url('PUBLIC_BASE_URL', ['http:', 'https:']).replace(/\/+$/, '')
        : `http://${r.str('HOST', '127.0.0.1')}:${r.int('PORT', 3000, 0, 65535)}`,
    },
    userImport: {
      maxBytes: r.int('USER_IMPORT_MAX_BYTES', 50 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      maxRows: r.int('USER_IMPORT_MAX_ROWS', 200_000, 1, 10_000_000),
    },
  };
  if (!['all', 'errors'].includes(r.str('GATEWAY_REQUEST_LOG', 'errors'))) {
    r.problems.push('GATEWAY_REQUEST_LOG must be all or errors');
  }
  if (!['open', 'closed'].includes(r.str('RATE_LIMIT_REDIS_FAILURE_POLICY', 'open'))) {
    r.problems.push('RATE_LIMIT_REDIS_FAILURE_POLICY must be open or closed');
  }
  const bootstrapPassword = config.accounts.bootstrapPassword;
  if (bootstrapPassword !== null && bootstrapPassword.length < 12)
    r.problems.push('BOOTSTRAP_ADMIN_PASSWORD must be at least 12 characters');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(config.logLevel)) {
    r.problems.push('LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent');
  }
  if (r.problems.length) throw new ConfigError(r.problems);
  return config;
}
