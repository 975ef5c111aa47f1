/** The shared ioredis connection for commands (caches, counters, publishing). */
export const REDIS = Symbol('REDIS');
/** A second connection in subscriber mode (Redis forbids commands on a subscribed connection). */
export const REDIS_SUBSCRIBER = Symbol('REDIS_SUBSCRIBER');
