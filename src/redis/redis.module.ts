import { Global, Inject, Module, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { InvalidationBus } from './invalidation-bus.service';
import { REDIS, REDIS_SUBSCRIBER } from './redis.tokens';

export { REDIS, REDIS_SUBSCRIBER };

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
    InvalidationBus,
  ],
  exports: [REDIS, REDIS_SUBSCRIBER, InvalidationBus],
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
