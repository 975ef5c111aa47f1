import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { REDIS, REDIS_SUBSCRIBER } from './redis.tokens';

type Handler = (message: string) => void;

/**
 * Longest time (ms) a cache may trust an entry while the bus cannot deliver invalidations (its
 * subscriber connection is down or not yet re-subscribed). Caches use
 * `min(their TTL, bus.maxTrustMs())`.
 */
export const DISCONNECTED_TRUST_MS = 1000;

/**
 * Cache invalidation across api replicas over Redis pub/sub: a service that caches something
 * (virtual keys, the routing catalog) `subscribe`s to a channel and drops its entry when a
 * message arrives; whoever changes the data `publish`es. Messages carry ids, never secrets.
 *
 * Channels are prefixed with QUEUE_PREFIX (`<prefix>:<name>`), so deployments sharing one Redis
 * never invalidate each other; callers use short names ("keys:invalidate").
 *
 * Pub/sub loses messages only while the subscriber connection is down. The bus tracks that:
 * `connected()` is true only while the subscriptions are confirmed on a live connection. When the
 * connection is lost, and again once it is re-established and re-subscribed, every `onReset`
 * handler runs (caches drop everything, since they may have missed messages in between); while
 * not connected, caches trust entries for at most DISCONNECTED_TRUST_MS (`maxTrustMs`). So a
 * change is seen everywhere within DISCONNECTED_TRUST_MS even when its message is lost.
 */
@Injectable()
export class InvalidationBus implements OnModuleDestroy {
  private readonly log = new Logger(InvalidationBus.name);
  private readonly handlers = new Map<string, Handler[]>();
  private readonly resetHandlers: (() => void)[] = [];
  private readonly prefix: string;
  private isConnected = false;
  /** bumped on every connection change, so a late subscribe confirmation of an old connection is ignored */
  private epoch = 0;
  private destroyed = false;

  private readonly onMessage = (channel: string, message: string) => {
    for (const h of this.handlers.get(channel) ?? []) h(message);
  };

  private readonly onClose = () => {
    this.epoch++;
    const was = this.isConnected;
    this.isConnected = false;
    if (was && !this.destroyed)
      this.log.warn('Redis subscriber connection lost: caches are trusted for at most ' + DISCONNECTED_TRUST_MS + ' ms until it is back');
    this.reset();
  };

  private readonly onReady = () => {
    const epoch = ++this.epoch;
    const channels = [...this.handlers.keys()];
    // SUBSCRIBE answers once the subscription is active: from then on no message is lost
    (channels.length ? this.subscriber.subscribe(...channels) : Promise.resolve())
      .then(() => {
        if (epoch !== this.epoch || this.subscriber.status !== 'ready') return;
        this.isConnected = true;
        this.reset();
      })
      .catch((err: Error) => this.log.warn(`re-subscribing failed: ${err.message}`));
  };

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.prefix = `${config.queuePrefix}:`;
    this.subscriber.on('message', this.onMessage);
    this.subscriber.on('close', this.onClose);
    this.subscriber.on('ready', this.onReady);
    if (this.subscriber.status === 'ready') this.onReady();
  }

  /** The Redis channel of a short name: `<QUEUE_PREFIX>:<name>`. */
  channel(name: string): string {
    return this.prefix + name;
  }

  /** True while every subscription is confirmed on a live connection (no message can be missed). */
  connected(): boolean {
    return this.isConnected;
  }

  /** How long a cache may trust an entry now: `ttlMs`, or at most DISCONNECTED_TRUST_MS while not connected. */
  maxTrustMs(ttlMs: number): number {
    return this.isConnected ? ttlMs : Math.min(ttlMs, DISCONNECTED_TRUST_MS);
  }

  /**
   * Calls `handler` whenever messages may have been missed: when the subscriber connection is
   * lost and when it is back (re-subscribed). The handler should drop everything cached.
   */
  onReset(handler: () => void): void {
    this.resetHandlers.push(handler);
  }

  /** Calls `handler` with every message published on `name` (by any replica of this deployment, this one too). */
  async subscribe(name: string, handler: Handler): Promise<void> {
    const channel = this.channel(name);
    const list = this.handlers.get(channel);
    if (list) {
      list.push(handler);
      return;
    }
    this.handlers.set(channel, [handler]);
    const epoch = this.epoch;
    await this.subscriber.subscribe(channel);
    // the first subscription on an already-ready connection confirms it
    if (epoch === this.epoch && this.subscriber.status === 'ready') this.isConnected = true;
  }

  async publish(name: string, message: string): Promise<void> {
    await this.redis.publish(this.channel(name), message);
  }

  private reset(): void {
    for (const h of this.resetHandlers) {
      try {
        h();
      } catch (err) {
        this.log.error(`cache reset handler failed: ${(err as Error).message}`);
      }
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.destroyed = true;
    this.subscriber.off('message', this.onMessage);
    this.subscriber.off('close', this.onClose);
    this.subscriber.off('ready', this.onReady);
    const channels = [...this.handlers.keys()];
    this.handlers.clear();
    if (channels.length) await this.subscriber.unsubscribe(...channels).catch(() => undefined);
  }
}
