// The producer's and operator's side of a stream (shared/streams/stream.ts)
// against a real private Redis: a group created at 0 or $, joined, moved back
// to replay; and what info() says of each group's lag, pending and consumers.
import { describe, expect, it } from 'vitest';
import { EventStream } from '../../shared/streams/stream.ts';
import { queueTestbed } from '../helpers/queue.ts';

const { redis } = await queueTestbed();
const stream = new EventStream(redis, 'events', 1_000);

const read = (group: string, consumer: string, count: number) => redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream.name, '>');
const group = async (name: string) => (await stream.info()).groups.find((g) => g.name === name)!;

describe('consumer groups', () => {
  it('a group created at 0 has every retained event to read, one created at $ none; joining an existing group creates nothing', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await stream.append({ n: String(i) }));
    expect(await stream.ensureGroup('replay', '0')).toBe(true);
    expect(await stream.ensureGroup('replay', '$')).toBe(false);
    expect(await stream.ensureGroup('late', '$')).toBe(true);
    expect(await group('replay')).toMatchObject({ lag: 5, pending: 0, lastDeliveredId: '0-0', consumers: [] });
    expect(await group('late')).toMatchObject({ lag: 0, lastDeliveredId: ids[4] });
    expect(await stream.info()).toMatchObject({ stream: 'events', length: 5, firstId: ids[0], lastId: ids[4], maxlen: 1_000, deadLetters: 0 });
  });

  it('reading moves lag to pending, per consumer; a reset moves the group back to an id, and what follows it is read again', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await stream.append({ n: String(i) }));
    await stream.ensureGroup('g', '0');
    await read('g', 'c1', 3);
    const g = await group('g');
    expect(g).toMatchObject({ lag: 2, pending: 3, lastDeliveredId: ids[2], processed: 0, dead: 0, trimmed: 0 });
    expect(g.consumers).toEqual([{ name: 'c1', pending: 3, idleMs: expect.any(Number) }]);

    expect(await stream.ensureGroup('g', ids[0]!, true)).toBe(false);
    expect(await group('g')).toMatchObject({ lastDeliveredId: ids[0], lag: 4 });
    const again = (await read('g', 'c2', 10)) as [string, [string, string[]][]][];
    expect(again[0]![1].map(([id]) => id)).toEqual(ids.slice(1));
  });

  it('an event with an id is appended once: appended again (a client retrying, a resent XADD) it answers the first entry', async () => {
    const first = await stream.append({ id: 'e-1', n: '1' });
    expect(await stream.append({ id: 'e-1', n: '1' })).toBe(first);
    expect(await stream.append({ id: 'e-2', n: '2' })).not.toBe(first);
    expect(await redis.xlen(stream.name)).toBe(2);
    expect(await redis.pttl(stream.keys.appended('e-1'))).toBeGreaterThan(23 * 60 * 60_000);
  });

  it('an entry acknowledged twice (a resent ack) and dead-lettered after it is counted once, and not dead-lettered', async () => {
    const entry = await stream.append({ n: '1' });
    await stream.ensureGroup('g', '0');
    await read('g', 'c1', 1);
    await stream.ack('g', [entry]);
    await stream.ack('g', [entry]);
    await stream.deadLetter('g', { id: entry, fields: { n: '1' } }, 'c1', 1, 'late');
    expect(await group('g')).toMatchObject({ processed: 1, dead: 0, pending: 0 });
    expect(await redis.xlen(stream.keys.dead)).toBe(0);
  });

  it('events appended in one turn reach the stream in order, in one script call; an id twice in the turn is one entry', async () => {
    const calls = async () => [...(await redis.info('commandstats')).matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    await stream.append({ id: 'warm-up' });
    const before = await calls();
    const lengthBefore = await redis.xlen(stream.name);
    const ids = await Promise.all(['t-1', 't-2', 't-1', 't-3'].map((id) => stream.append({ id })));
    expect((await calls()) - before).toBe(1);
    expect(ids[2]).toBe(ids[0]);
    expect(await redis.xlen(stream.name)).toBe(lengthBefore + 3);
    const last = await redis.xrevrange(stream.name, '+', '-', 'COUNT', 3);
    expect(last.map(([id, pairs]) => [id, pairs[1]]).reverse()).toEqual([[ids[0], 't-1'], [ids[1], 't-2'], [ids[3], 't-3']]);
  });

  it('one ack of several entries counts only those still pending', async () => {
    await stream.ensureGroup('batch', '$');
    const [a, b, c] = [await stream.append({ n: 'a' }), await stream.append({ n: 'b' }), await stream.append({ n: 'c' })];
    expect((await read('batch', 'c1', 10))?.[0]?.[1]).toHaveLength(3);
    await stream.ack('batch', [a]);
    await stream.ack('batch', [a, b, c]);
    expect(await group('batch')).toMatchObject({ processed: 3, pending: 0 });
  });

  it('info() of a stream nobody wrote to yet is empty, not an error', async () => {
    expect(await stream.info()).toEqual({ stream: 'events', length: 0, firstId: null, lastId: null, maxlen: 1_000, groups: [], deadLetters: 0 });
  });
});
