// Strategy 6's own test file, run on a local Redis Cluster of three primaries
// (shared/redis-cluster.ts) with the stream named {events}:email-requested:
// every key of the event bus in the stream's slot, so every script, pipeline
// and transaction runs on the node that holds it, and the file's Redis
// restart restarts that node. Its pub/sub test is left out there: beyond it,
// this file checks that each process refuses pub/sub on a Cluster, and a
// stream without a hash tag, before it starts anything, and why pub/sub is
// refused: a PUBLISH reaches every node's subscribers but counts one node's.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { runOnCluster } from '../helpers/services.ts';
import { spawnEntry } from '../helpers/spawn.ts';

const EVENT_STREAM = '{events}:email-requested';
runOnCluster({ env: { EVENT_STREAM }, dataKey: EVENT_STREAM });
const { env } = await import('../strategies/strategy-6-event-bus.test.ts');

const ENTRIES = ['strategies/6-event-bus/main.ts', 'strategies/6-event-bus/web.ts', 'strategies/6-event-bus/consumer.ts'];

describe('strategy 6 on Redis Cluster: what it refuses', () => {
  it.each(ENTRIES)('%s exits 2, before it starts anything, on a stream without a hash tag, naming EVENT_STREAM and a tagged name to use', async (entry) => {
    const child = spawnEntry(entry, env({ EVENT_STREAM: 'events:email-requested' }));
    expect(await child.exited).toBe(2);
    expect(child.text.join('\n')).toMatch(/EVENT_STREAM "events:email-requested" has no hash tag.*e\.g\. EVENT_STREAM=\{events\}:email-requested/);
    expect(child.lines.filter((l) => /online|ready/.test(l.msg ?? ''))).toEqual([]);
  });

  it.each(ENTRIES)('%s exits 2 with EVENT_TRANSPORT=pubsub, saying to use the stream', async (entry) => {
    const child = spawnEntry(entry, env({ EVENT_TRANSPORT: 'pubsub' }));
    expect(await child.exited).toBe(2);
    expect(child.text.join('\n')).toMatch(/EVENT_TRANSPORT=pubsub is not supported on Redis Cluster.*use EVENT_TRANSPORT=stream/);
    expect(child.lines.filter((l) => /online|ready/.test(l.msg ?? ''))).toEqual([]);
  });

  it('a PUBLISH on one node reaches a subscriber on another, but answers 0 heard: the count pub/sub reports would be wrong', async () => {
    const [a, b] = env().REDIS_CLUSTER_NODES!.split(',').map((hostPort) => Number(hostPort.split(':')[1]));
    const subscriber = new Redis({ port: a!, host: '127.0.0.1' });
    const publisher = new Redis({ port: b!, host: '127.0.0.1' });
    try {
      const heard = new Promise<string>((resolve) => subscriber.on('message', (_channel: string, message: string) => resolve(message)));
      await subscriber.subscribe(EVENT_STREAM);
      expect(await publisher.publish(EVENT_STREAM, 'hello')).toBe(0);
      expect(await heard).toBe('hello');
    } finally {
      subscriber.disconnect();
      publisher.disconnect();
    }
  });
});
