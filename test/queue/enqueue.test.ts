// Enqueueing from the producer side against a real private Redis: the jobs
// of one turn of the event loop reach Redis in one script call, in order,
// and each id once.
import { describe, expect, it } from 'vitest';
import { queueTestbed } from '../helpers/queue.ts';

const { redis, queue } = await queueTestbed();

/** How many scripts Redis has run (EVALSHA and EVAL), from INFO commandstats. */
async function scriptCalls(): Promise<number> {
  const info = await redis.info('commandstats');
  return [...info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

const idsIn = async (q: string) => (await redis.lrange(`resque:queue:${q}`, 0, -1)).map((p) => JSON.parse(p).id as string);

describe('enqueue', () => {
  it('the jobs of one turn go to Redis in one script call, in the order they were enqueued', async () => {
    await queue.enqueue('q', 'x', [], { id: 'warm-up' }); // loads the script
    const before = await scriptCalls();
    const ids = Array.from({ length: 20 }, (_, i) => `turn-${i}`);
    expect(await Promise.all(ids.map((id) => queue.enqueue('q', 'x', [id], { id })))).toEqual(ids);
    // INFO itself is no script: the difference is the enqueue alone.
    expect((await scriptCalls()) - before).toBe(1);
    expect(await idsIn('q')).toEqual(['warm-up', ...ids]);
    expect(await queue.status('turn-7')).toMatchObject({ state: 'queued', queue: 'q', class: 'x', attempts: 0 });
  });

  it('an id enqueued twice in one turn, or again in a later one, is one job', async () => {
    await Promise.all([queue.enqueue('q', 'x', [1], { id: 'same' }), queue.enqueue('q', 'x', [2], { id: 'same' }), queue.enqueue('q', 'x', [], { id: 'other' })]);
    await queue.enqueue('q', 'x', [3], { id: 'same' });
    expect(await idsIn('q')).toEqual(['same', 'other']);
    expect(JSON.parse((await redis.lindex('resque:queue:q', 0))!).args).toEqual([1]);
  });

  it('jobs of two queues in one turn each land in their own queue', async () => {
    expect(await Promise.all([queue.enqueue('a', 'x', [], { id: 'in-a' }), queue.enqueue('b', 'x', [], { id: 'in-b' })])).toEqual(['in-a', 'in-b']);
    expect([await idsIn('a'), await idsIn('b')]).toEqual([['in-a'], ['in-b']]);
    expect((await redis.smembers('resque:queues')).sort()).toEqual(['a', 'b']);
  });
});
