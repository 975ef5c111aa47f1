/**
 * After an e2e run: delete the Redis keys suites left under their `tollgate-test…` queue prefixes
 * (BullMQ workers can write a key or two while they shut down, after their queues were
 * obliterated). Nothing outside test prefixes is touched.
 *
 * Other jest runs may be going on against the same Redis at the same moment (another checkout,
 * another engineer, `npm test` twice), and their suites' keys carry the same `tollgate-test`
 * pattern. So a prefix is deleted only when none of its keys has been used for
 * IDLE_SECONDS (10 minutes): a running suite touches its keys far more often than that, while leftovers of a
 * finished suite stay idle. Leftovers younger than that are removed by a later run.
 */
const Redis = require('ioredis');

const IDLE_SECONDS = 600;

module.exports = async function globalTeardown() {
  const redis = new Redis(process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379', {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined); // reported below, once
  try {
    await redis.connect();
    /** prefix → its keys; a prefix is the part of a key before the first ':' */
    const byPrefix = new Map();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'tollgate-test*', 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const prefix = key.split(':')[0];
        if (!byPrefix.has(prefix)) byPrefix.set(prefix, []);
        byPrefix.get(prefix).push(key);
      }
    } while (cursor !== '0');
    for (const keys of byPrefix.values()) {
      const idle = await redis.pipeline(keys.map((k) => ['object', 'idletime', k])).exec();
      // A key deleted meanwhile answers null (fine); an error (e.g. an LFU eviction policy, where
      // OBJECT IDLETIME is refused) means we cannot tell, so the prefix is kept.
      const busy = idle.some(([err, seconds]) => err || (seconds !== null && seconds < IDLE_SECONDS));
      if (!busy) await redis.del(...keys);
    }
  } catch (err) {
    // Cleaning up is a courtesy: it never fails the run.
    process.stderr.write(`global teardown: Redis cleanup skipped (${err.message})\n`);
  } finally {
    redis.disconnect();
  }
};
