// Delayed jobs from the producer side: listed soonest first with their exact
// stored payloads, run now or removed in one atomic step each, and a second
// attempt on the same payload changes nothing.
import { describe, expect, it } from 'vitest';
import { queueTestbed } from '../helpers/queue.ts';

const { redis, queue } = await queueTestbed();
const inMinutes = (n: number) => Date.now() + n * 60_000;

describe('listing delayed jobs', () => {
  it('lists them soonest first, at most `limit`, while the total counts them all', async () => {
    await queue.enqueueAt(inMinutes(3), 'q', 'x', [], { id: 'third' });
    await queue.enqueueAt(inMinutes(1), 'q', 'x', [], { id: 'first' });
    await queue.enqueueAt(inMinutes(2), 'q', 'x', [], { id: 'second' });

    const { total, items } = await queue.delayed(2);
    expect(total).toBe(3);
    expect(items.map((i) => JSON.parse(i.payload).id)).toEqual(['first', 'second']);
    expect(items[0]!.second).toBe(Number((await redis.zrange('resque:delayed_queue_schedule', '0', '0'))[0]));
    expect(await queue.delayedAt(items[0]!.second)).toEqual([items[0]!.payload]);
  });
});

describe('acting on one delayed job', () => {
  it('enqueueDelayedNow moves it to the tail of its queue, its status queued and no schedule left behind', async () => {
    await queue.enqueue('q', 'x', [], { id: 'already-queued' });
    await queue.enqueueAt(inMinutes(5), 'q', 'x', [1], { id: 'later' });
    const [{ second, payload }] = (await queue.delayed(10)).items as [{ second: number; payload: string }];

    expect(await queue.enqueueDelayedNow(second, payload)).toBe(true);
    expect((await redis.lrange('resque:queue:q', 0, -1)).map((p) => JSON.parse(p).id)).toEqual(['already-queued', 'later']);
    expect(await queue.status('later')).toMatchObject({ state: 'queued' });
    expect(await redis.exists('resque:delayed_queue_schedule', `resque:delayed:${second}`, `resque:timestamps:${payload}`)).toBe(0);
    // The second click finds nothing to move, and nothing moves twice.
    expect(await queue.enqueueDelayedNow(second, payload)).toBe(false);
    expect(await queue.length('q')).toBe(2);
  });

  it('removeDelayed drops it and its status, and leaves the others due at the same second', async () => {
    const at = inMinutes(5);
    await queue.enqueueAt(at, 'q', 'x', [], { id: 'keep' });
    await queue.enqueueAt(at, 'q', 'x', [], { id: 'drop' });
    const drop = (await queue.delayed(10)).items.find((i) => JSON.parse(i.payload).id === 'drop')!;

    expect(await queue.removeDelayed(drop.second, drop.payload)).toBe(true);
    expect(await queue.status('drop')).toBeNull();
    expect((await queue.delayed(10)).items.map((i) => JSON.parse(i.payload).id)).toEqual(['keep']);
    expect(await queue.removeDelayed(drop.second, drop.payload)).toBe(false);
  });

  it('refuses to enqueue a payload that names no queue, and leaves it where it is', async () => {
    await redis.zadd('resque:delayed_queue_schedule', 100, '100');
    await redis.rpush('resque:delayed:100', '{"class":"x","args":[]}');
    await expect(queue.enqueueDelayedNow(100, '{"class":"x","args":[]}')).rejects.toThrow(/names no queue/);
    expect(await queue.delayedAt(100)).toEqual(['{"class":"x","args":[]}']);
  });
});
