// Tests never touch a system Redis: each file starts a private one with this helper.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRedis, INSTALL_HINT, RedisUnavailable, startPrivateRedis } from '../../shared/redis.ts';

describe('the private Redis helper', () => {
  it('starts a server on a free port, keeps data across a restart (append-only file) and removes it all on stop', async () => {
    const server = await startPrivateRedis();
    const redis = createRedis(server.url, { maxRetriesPerRequest: null });
    try {
      expect(server.port).not.toBe(6379);
      await redis.rpush('list', 'a', 'b');
      await server.restart();
      expect(await redis.lrange('list', 0, -1)).toEqual(['a', 'b']);
      await redis.rpush('list', 'c');
      await server.kill(); // a crash, not a shutdown
      await server.start();
      expect(await redis.lrange('list', 0, -1)).toEqual(['a', 'b', 'c']);
    } finally {
      redis.disconnect();
      await server.stop();
    }
    expect(existsSync(server.dir)).toBe(false);
    expect(() => execFileSync('redis-cli', ['-p', String(server.port), 'ping'], { stdio: 'pipe' })).toThrow();
  });

  it('says how to install Redis when there is no redis-server on PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const failure = startPrivateRedis();
      await expect(failure).rejects.toBeInstanceOf(RedisUnavailable);
      await expect(failure).rejects.toThrow(INSTALL_HINT);
    } finally {
      process.env.PATH = path;
    }
  });
});
