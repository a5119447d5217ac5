// Tests never touch a system Redis: each file starts a private one with this helper.
import { execFileSync, spawn } from 'node:child_process';
import readline from 'node:readline';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createRedis, INSTALL_HINT, RedisUnavailable, startPrivateRedis } from '../../shared/redis.ts';
import { ROOT } from '../../shared/root.ts';
import { isAlive } from '../helpers/spawn.ts';
import { eventually } from '../helpers/wait.ts';

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

  it('stop() ends a server that refuses SIGTERM while it writes its first append-only file', async () => {
    const server = await startPrivateRedis();
    const redis = createRedis(server.url, { maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    await redis.set('k', 'v');
    // A slow first rewrite, as a replica starts one after a full sync: Redis answers SIGTERM with "can't exit" meanwhile.
    await redis.config('SET', 'appendonly', 'no');
    await redis.config('SET', 'rdb-key-save-delay', '100000000');
    await redis.config('SET', 'appendonly', 'yes');
    await eventually(async () => (await redis.info('persistence')).match(/^aof_rewrite_in_progress:(\d)/m)?.[1], (v) => v === '1', 5_000, 'the rewrite to start');
    redis.disconnect();
    const pid = server.pid()!;
    const started = Date.now();
    await server.stop();
    expect(isAlive(pid)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_500); // it did refuse SIGTERM: only the kill after the grace ended it
    expect(existsSync(server.dir)).toBe(false);
  }, 40_000);

  it.runIf(process.platform === 'linux')('stops with its parent, even when the parent is killed with SIGKILL', async () => {
    const script = "import { startPrivateRedis } from './shared/redis.ts'; const r = await startPrivateRedis(); console.log(r.port + ' ' + r.pid()); setInterval(() => {}, 1000);";
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(readline.createInterface({ input: parent.stdout! }), 'line')) as [string];
    const [port, pid] = line.split(' ').map(Number);
    expect(execFileSync('redis-cli', ['-p', String(port), 'ping']).toString().trim()).toBe('PONG');
    parent.kill('SIGKILL');
    await eventually(() => isAlive(pid!), (alive) => !alive, 10_000, 'the orphaned redis-server to stop');
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
