// Strategy 4 on a local Redis Cluster of three primaries, beyond its own test
// file (cluster-strategy-4.test.ts runs that unchanged): the refusal of a
// namespace without a hash tag, node-resque sharing the {resque} namespace,
// and the dashboard reading the queue on the cluster.
import * as NR from 'node-resque';
import { describe, expect, it } from 'vitest';
import { ConfigError, hashTag, loadConfig } from '../../shared/config.ts';
import { createRedis } from '../../shared/redis.ts';
import { email, getJson, postTracked, settledStats } from '../helpers/http.ts';
import { runOnCluster, startServices } from '../helpers/services.ts';
import { spawnEntry, startEntry } from '../helpers/spawn.ts';
import { eventually } from '../helpers/wait.ts';

runOnCluster();
const { sink, server, env } = await startServices({ redis: true });
const MAIN = 'strategies/4-redis-queue/main.ts';

describe('strategy 4 on Redis Cluster', () => {
  it('refuses, with exit 2 and what to do, a namespace without a hash tag, WAIT, or two ways to name Redis', async () => {
    expect(hashTag('{resque}')).toBe('resque');
    expect(hashTag('app:{q1}:x')).toBe('q1');
    expect(hashTag('{}resque')).toBeUndefined();
    const nodes = env().REDIS_CLUSTER_NODES!;
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: nodes })).toThrow(/QUEUE_NAMESPACE "resque" has no hash tag.*QUEUE_NAMESPACE=\{resque\}/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: nodes, QUEUE_NAMESPACE: '{resque}', ENQUEUE_REPLICAS: '1' })).toThrow(/ENQUEUE_REPLICAS is not supported on Redis Cluster/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: nodes, QUEUE_NAMESPACE: '{resque}', REDIS_URL: 'redis://127.0.0.1:1' })).toThrow(ConfigError);
    expect(loadConfig({ REDIS_CLUSTER_NODES: nodes, QUEUE_NAMESPACE: '{resque}' }).REDIS_CLUSTER_NODES).toHaveLength(3);
    const child = spawnEntry(MAIN, env({ QUEUE_NAMESPACE: 'resque' }));
    expect(await child.exited).toBe(2);
    expect(child.text.join('\n')).toMatch(/no hash tag/);
    expect(child.lines).toEqual([]);
  });

  it('a job node-resque enqueues in {resque} is sent by our worker, and the dashboard counts the queue on the cluster', async () => {
    sink.configure({ latencyMs: 300 });
    const { child, url } = await startEntry(MAIN, env({ WORKERS: '1' }));
    const redis = createRedis(server.url);
    // node-resque brings its own copy of ioredis; the client is the same at run time.
    const queue = new NR.Queue({ connection: { redis: redis as unknown as NR.ConnectionOptions['redis'], namespace: '{resque}' } });
    queue.on('error', () => {});
    try {
      await queue.connect();
      await queue.enqueue('emailQueue', 'sendEmail', [{ id: 'from-node-resque', ...email('nr') }]);
      await sink.waitFor((_, s) => s.deliveries().has('from-node-resque'), 20_000, 'the email node-resque enqueued');
      // Ours beside it, in the same keys: resque's processed counter counts both.
      for (const id of ['c-1', 'c-2', 'c-3']) expect((await postTracked(url, id)).status).toBe(202);
      await sink.waitFor((_, s) => ['c-1', 'c-2', 'c-3'].every((id) => s.deliveries().has(id)), 20_000, 'three more');
      await settledStats(url, 20_000);
      expect(await redis.get('{resque}:stat:processed')).toBe('4');
      expect(await queue.length('emailQueue')).toBe(0);
      const api = await eventually(() => getJson(`${url}/dashboard/api/queues`), (r) => r.status === 200, 10_000, 'the dashboard API');
      expect(JSON.stringify(api.body)).toMatch(/emailQueue/);
      expect(sink.stats().duplicates).toBe(0);
    } finally {
      await queue.end();
      redis.disconnect();
    }
    expect(await child.stop('SIGTERM')).toBe(0);
  });
});
