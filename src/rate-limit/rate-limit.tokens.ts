/** The limiter's own ioredis connection (RATE_LIMIT_REDIS_URL), with RATE_LIMIT_REDIS_TIMEOUT_MS as command timeout. */
export const RATE_LIMIT_REDIS = Symbol('RATE_LIMIT_REDIS');
