// The services a strategy test runs its processes against: this file's own SMTP
// sink and, when asked, a private redis-server with a client on it. Started
// once per test file (top-level await, so the file reads them as constants)
// and stopped after its last test. Between tests, unless the file opts out,
// whatever a failed test left running is killed, the sink forgets what it
// received and behaves as it started, and Redis is emptied (the server keeps
// running, so no test pays for a restart).
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach } from 'vitest';
import { startLocalCluster, type LocalCluster } from '../../shared/redis-cluster.ts';
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

export interface ClusterRun {
  /** More settings for every process of the file (strategy 6's hash-tagged EVENT_STREAM). */
  env?: Record<string, string>;
  /** The key whose node restart(), kill() and start() act on: the queue's, {resque}, unless told. */
  dataKey?: string;
}

let onCluster: ClusterRun | undefined;

/**
 * Makes startServices({ redis: true }) start a local Redis Cluster of three
 * primaries instead of one redis-server, with the queue in the hash-tagged
 * namespace {resque}: a test file written for one Redis, imported after this
 * (test/scaling/cluster-strategy-4.test.ts), runs unchanged on the cluster.
 */
export function runOnCluster(run: ClusterRun = {}): void {
  onCluster = run;
}

/** The cluster where a file expects its private server: `url` is its address, restart() restarts the node that holds its data. */
function clusterAsServer(cluster: LocalCluster, dataKey: string): PrivateRedis {
  const dataNode = () => cluster.nodeFor(dataKey);
  return {
    url: cluster.address,
    port: cluster.nodes[0]!.port,
    dir: cluster.nodes[0]!.dir,
    pid: () => undefined,
    stop: () => cluster.stop(),
    restart: async () => (await dataNode()).restart(),
    kill: async () => (await dataNode()).kill(),
    start: async () => (await dataNode()).start(),
  };
}

export async function startServices(options: ServiceOptions = {}): Promise<Services> {
  const { redis: withRedis = false, sink: sinkOptions = {}, isolate = true } = options;
  const { latencyMs = 0, tempFailRate = 0, permFailRate = 0, decide, copies } = sinkOptions;
  const sink = await startSink(sinkOptions);
  const cluster = withRedis && onCluster ? await startLocalCluster() : undefined;
  const server = cluster ? clusterAsServer(cluster, onCluster?.dataKey ?? '{resque}') : withRedis ? await startPrivateRedis() : undefined;
  const redis = server ? createRedis(server.url) : undefined;
  const redisEnv: Record<string, string> = cluster ? { REDIS_URL: '', ...cluster.env, QUEUE_NAMESPACE: '{resque}', ...onCluster?.env } : server ? { REDIS_URL: server.url } : {};
  // A test that restarts Redis makes this client reconnect: the connection
  // errors are expected, and a command that fails still rejects in the test.
  redis?.on('error', () => {});

  if (isolate) {
    beforeEach(async () => {
      sink.reset();
      sink.configure({ latencyMs, tempFailRate, permFailRate, decide, copies });
      await (cluster ? cluster.flush() : redis?.flushall());
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
    env: (extra = {}) => ({ PORT: '0', SMTP_URL: sink.url.href, ...redisEnv, ...extra }),
  };
}
