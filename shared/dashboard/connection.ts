// The dashboard's link to Redis. A dashboard is looked at exactly when things
// go wrong, so it must answer "Redis is unreachable" at once rather than hang:
// every read goes through `use`, which refuses while the client is not
// connected and gives up after a short timeout (a stopped or frozen Redis).
// The API turns that refusal into 503 and the page into a banner.
//
// Given a URL, the dashboard opens its own client with no offline queue
// (commands fail instead of waiting for a reconnect). Given a client - the
// strategy's own - it shares it and relies on the status check and timeout.
import type { Redis } from 'ioredis';
import { createRedis } from '../redis.ts';
import type { Logger } from '../logger.ts';

export class RedisUnreachable extends Error {
  override name = 'RedisUnreachable';
}

export interface DashboardRedis {
  redis: Redis;
  /** Where it points, without a password: shown in the banner. */
  target: string;
  /** Ms since the epoch when the connection was lost; null while connected. */
  downSince(): number | null;
  use<T>(read: (redis: Redis) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function connectDashboardRedis(redisOrUrl: Redis | string, logger: Logger, timeoutMs: number): DashboardRedis {
  const owned = typeof redisOrUrl === 'string';
  const redis = owned
    ? createRedis(redisOrUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, commandTimeout: timeoutMs })
    : redisOrUrl;
  const target = describe(redis);
  let downSince: number | null = redis.status === 'ready' ? null : Date.now();
  let connectedOnce = downSince === null;

  const onReady = () => {
    if (!connectedOnce) logger.info({ redis: target }, 'dashboard: Redis connected');
    else if (downSince !== null) logger.info({ redis: target, downMs: Date.now() - downSince }, 'dashboard: Redis reachable again');
    connectedOnce = true;
    downSince = null;
  };
  const onLost = () => {
    if (downSince === null) {
      downSince = Date.now();
      logger.warn({ redis: target }, 'dashboard: Redis unreachable; the page shows a banner until it is back');
    }
  };
  // Our own client's errors are the outage the banner reports; log them at debug, never crash.
  const onError = (err: Error) => logger.debug({ err: err.message, redis: target }, 'dashboard: Redis client error');
  redis.on('ready', onReady);
  redis.on('close', onLost);
  if (owned) redis.on('error', onError);

  return {
    redis,
    target,
    downSince: () => downSince,
    async use(read) {
      if (redis.status !== 'ready') throw new RedisUnreachable(`Redis at ${target} is unreachable (${redis.status})`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new RedisUnreachable(`Redis at ${target} did not answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        return await Promise.race([read(redis), timeout]);
      } catch (err) {
        // ioredis's own refusals while disconnected read as an outage too, not as a bug.
        if (err instanceof Error && /Connection is closed|Stream isn't writeable|Command timed out|ECONNREFUSED|ECONNRESET/.test(err.message)) {
          throw new RedisUnreachable(`Redis at ${target} is unreachable: ${err.message}`);
        }
        throw err;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      redis.off('ready', onReady);
      redis.off('close', onLost);
      if (!owned) return;
      redis.off('error', onError);
      redis.disconnect();
    },
  };
}

function describe(redis: Redis): string {
  const { host, port, db } = redis.options;
  return `redis://${host ?? '127.0.0.1'}:${port ?? 6379}${db ? `/${db}` : ''}`;
}

export interface RedisInfo {
  version: string;
  uptimeSeconds: number;
  /** Changes when Redis restarts: the page notices a restart between two polls. */
  runId: string;
  usedMemoryBytes: number;
  usedMemoryHuman: string;
  maxMemoryBytes: number;
  connectedClients: number;
}

/** The few INFO fields a person checks first: which Redis, how full, since when. */
export async function readRedisInfo(redis: Redis): Promise<RedisInfo> {
  const text = await redis.info();
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  return {
    version: field('redis_version'),
    uptimeSeconds: Number(field('uptime_in_seconds')) || 0,
    runId: field('run_id'),
    usedMemoryBytes: Number(field('used_memory')) || 0,
    usedMemoryHuman: field('used_memory_human'),
    maxMemoryBytes: Number(field('maxmemory')) || 0,
    connectedClients: Number(field('connected_clients')) || 0,
  };
}
