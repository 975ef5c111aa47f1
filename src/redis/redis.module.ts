import { Global, Inject, Module, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

/** The shared ioredis connection for commands (caches, counters, publishing). */
export const REDIS = Symbol('REDIS');
/** A second connection in subscriber mode (Redis forbids commands on a subscribed connection). */
export const REDIS_SUBSCRIBER = Symbol('REDIS_SUBSCRIBER');

function connect(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
  client.on('error', () => undefined); // reconnects by itself; readiness reports the state
  return client;
}

@Global()
@Module({
  providers: [
    { provide: REDIS, inject: [APP_CONFIG], useFactory: (c: AppConfig) => connect(c.redisUrl) },
    { provide: REDIS_SUBSCRIBER, inject: [APP_CONFIG], useFactory: (c: AppConfig) => connect(c.redisUrl) },
  ],
  exports: [REDIS, REDIS_SUBSCRIBER],
})
export class RedisModule implements OnModuleDestroy {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
  ) {}

  async onModuleDestroy(): Promise<void> {
    await Promise.all([this.redis.quit().catch(() => undefined), this.subscriber.quit().catch(() => undefined)]);
  }
}
