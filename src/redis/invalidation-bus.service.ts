import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { REDIS, REDIS_SUBSCRIBER } from './redis.tokens';

type Handler = (message: string) => void;

/**
 * Cache invalidation across api replicas over Redis pub/sub: a service that caches something
 * (virtual keys, the routing catalog) `subscribe`s to a channel and drops its entry when a
 * message arrives; whoever changes the data `publish`es. Messages carry ids, never secrets.
 * Delivery is best effort (a replica that misses one is corrected by its cache TTL).
 */
@Injectable()
export class InvalidationBus implements OnModuleDestroy {
  private readonly handlers = new Map<string, Handler[]>();
  private readonly onMessage = (channel: string, message: string) => {
    for (const h of this.handlers.get(channel) ?? []) h(message);
  };

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
  ) {
    this.subscriber.on('message', this.onMessage);
  }

  /** Calls `handler` with every message published on `channel` (by any replica, this one too). */
  async subscribe(channel: string, handler: Handler): Promise<void> {
    const list = this.handlers.get(channel);
    if (list) {
      list.push(handler);
      return;
    }
    this.handlers.set(channel, [handler]);
    await this.subscriber.subscribe(channel);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.redis.publish(channel, message);
  }

  async onModuleDestroy(): Promise<void> {
    this.subscriber.off('message', this.onMessage);
    const channels = [...this.handlers.keys()];
    this.handlers.clear();
    if (channels.length) await this.subscriber.unsubscribe(...channels).catch(() => undefined);
  }
}
