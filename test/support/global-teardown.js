/**
 * After the whole run: delete the Redis keys every suite created under its own `tollgate-test…`
 * queue prefix (BullMQ workers can write a key or two while they shut down, after their queues
 * were obliterated). Nothing outside test prefixes is touched.
 */
const Redis = require('ioredis');

module.exports = async function globalTeardown() {
  const redis = new Redis(process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379');
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'tollgate-test*', 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
};
