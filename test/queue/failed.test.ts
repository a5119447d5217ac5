// Failed entries are acted on by their exact stored bytes: Lua's cjson writes
// JSON differently from JavaScript (it escapes "/" and writes [] as {}), so a
// record parsed and re-encoded may no longer match the list entry.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { queueTestbed } from '../helpers/queue.ts';

const { redis, queue } = await queueTestbed();

// What a Lua script stores: the same record, encoded by cjson inside Redis.
async function failedByLua(client: Redis, key: string): Promise<string> {
  const record = {
    worker: 'host:1-ab',
    queue: 'emailQueue',
    payload: { class: 'sendEmail', queue: 'emailQueue', args: [{ to: 'a@example.com', subject: 'a/b', text: 'x' }], id: 'lua-1' },
    exception: 'Error',
    error: 'worker died',
    backtrace: [],
    failed_at: 'now',
  };
  await client.eval("redis.call('RPUSH', KEYS[1], cjson.encode(cjson.decode(ARGV[1])))", 1, key, JSON.stringify(record));
  const [stored] = await client.lrange(key, -1, -1);
  return stored!;
}

describe('failed entries written by Lua', () => {
  it('are not matched by a re-encoded record, but are retried and removed by their stored string', async () => {
    const stored = await failedByLua(redis, queue.keys.failed);
    expect(stored).toContain('a\\/b'); // cjson's escaping: the reason this test exists
    expect(await queue.retryFailed(JSON.parse(stored))).toBe(false);

    expect(await queue.retryFailed(stored)).toBe(true);
    expect(await queue.failedCount()).toBe(0);
    expect(await queue.length('emailQueue')).toBe(1);
    expect(await queue.status('lua-1')).toMatchObject({ state: 'queued', attempts: 0 });

    const another = await failedByLua(redis, queue.keys.failed);
    expect(await queue.removeFailed(another)).toBe(true);
    expect(await queue.failedCount()).toBe(0);
  });
});

describe('clearing the failed list', () => {
  it('removeAllFailed empties it in one step and says how many records it held', async () => {
    await failedByLua(redis, queue.keys.failed);
    await failedByLua(redis, queue.keys.failed);
    expect(await queue.removeAllFailed()).toBe(2);
    expect(await queue.failedCount()).toBe(0);
    expect(await queue.removeAllFailed()).toBe(0);
  });
});
