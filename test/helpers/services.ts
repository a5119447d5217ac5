// The services a strategy test runs its processes against: this file's own SMTP
// sink and, when asked, a private redis-server with a client on it. Started
// once per test file (top-level await, so the file reads them as constants)
// and stopped after its last test. Between tests, unless the file opts out,
// whatever a failed test left running is killed, the sink forgets what it
// received and behaves as it started, and Redis is emptied (the server keeps
// running, so no test pays for a restart).
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach } from 'vitest';
import { createRedis, startPrivateRedis, type PrivateRedis } from '../../shared/redis.ts';
import { startSink, type Sink, type SinkOptions } from '../../shared/smtp-sink.ts';
import { killAll } from './spawn.ts';

export interface ServiceOptions {
  /** Start a private redis-server too. */
  redis?: boolean;
  /** How the sink behaves at the start of every test. */
  sink?: SinkOptions;
  /**
   * Reset everything between tests (the default). Off for a file whose
   * processes are started once for several tests, or whose last test checks
   * what every test before it sent.
   */
  isolate?: boolean;
}

export interface Services {
  sink: Sink;
  /** The private redis-server; only with `redis: true`. */
  server: PrivateRedis;
  /** A client on it, for tests that read or write queue data directly. */
  redis: Redis;
  /** The environment of a spawned entry: port 0, this sink, this Redis, and `extra`. */
  env(extra?: Record<string, string>): Record<string, string>;
}

export async function startServices(options: ServiceOptions = {}): Promise<Services> {
  const { redis: withRedis = false, sink: sinkOptions = {}, isolate = true } = options;
  const { latencyMs = 0, tempFailRate = 0, permFailRate = 0, decide, copies } = sinkOptions;
  const sink = await startSink(sinkOptions);
  const server = withRedis ? await startPrivateRedis() : undefined;
  const redis = server ? createRedis(server.url) : undefined;
  // A test that restarts Redis makes this client reconnect: the connection
  // errors are expected, and a command that fails still rejects in the test.
  redis?.on('error', () => {});

  if (isolate) {
    beforeEach(async () => {
      sink.reset();
      sink.configure({ latencyMs, tempFailRate, permFailRate, decide, copies });
      await redis?.flushall();
    });
    afterEach(() => killAll());
  }
  afterAll(async () => {
    killAll();
    redis?.disconnect();
    await sink.close();
    await server?.stop();
  });

  const withoutRedis = () => new Error('this file started no Redis: startServices({ redis: true })');
  return {
    sink,
    get server() {
      if (!server) throw withoutRedis();
      return server;
    },
    get redis() {
      if (!redis) throw withoutRedis();
      return redis;
    },
    env: (extra = {}) => ({ PORT: '0', SMTP_URL: sink.url.href, ...(server ? { REDIS_URL: server.url } : {}), ...extra }),
  };
}
