// How a process is told to use Sentinel, and what it refuses: one way to name
// Redis, given whole, or a clear message and exit code 2 before anything starts.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config.ts';
import { configuredAddress, formatAddress, parseAddress, redisEnv, redisEnvLine } from '../../shared/redis.ts';
import { spawnEntry } from '../helpers/spawn.ts';

describe('Sentinel settings', () => {
  it('REDIS_SENTINELS and REDIS_SENTINEL_MASTER make one address that every child receives whole', () => {
    const config = loadConfig({ REDIS_SENTINELS: '127.0.0.1:26379, localhost:26380', REDIS_SENTINEL_MASTER: 'mymaster' });
    expect(config.REDIS_SENTINELS).toEqual([{ host: '127.0.0.1', port: 26379 }, { host: 'localhost', port: 26380 }]);
    const address = configuredAddress(config)!;
    expect(address).toBe('redis-sentinel://127.0.0.1:26379,localhost:26380/mymaster');
    expect(parseAddress(address)).toEqual({ kind: 'sentinel', sentinels: config.REDIS_SENTINELS, master: 'mymaster' });
    expect(redisEnv(address)).toEqual({ REDIS_URL: '', REDIS_SENTINELS: '127.0.0.1:26379,localhost:26380', REDIS_SENTINEL_MASTER: 'mymaster', REDIS_CLUSTER_NODES: '' });
    expect(redisEnvLine(address)).toBe('REDIS_SENTINELS=127.0.0.1:26379,localhost:26380 REDIS_SENTINEL_MASTER=mymaster');
    // A child's settings read back to the same address.
    expect(configuredAddress(loadConfig(redisEnv(address)))).toBe(address);
    expect(formatAddress({ kind: 'sentinel', sentinels: [{ host: '::1', port: 1 }], master: 'a b' })).toBe('redis-sentinel://[::1]:1/a%20b');
    expect(configuredAddress(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }))).toBe('redis://127.0.0.1:6379');
    expect(configuredAddress(loadConfig({}))).toBeUndefined();
  });

  it.each([
    [{ REDIS_SENTINELS: '127.0.0.1:26379' }, /REDIS_SENTINELS is set without REDIS_SENTINEL_MASTER/],
    [{ REDIS_SENTINEL_MASTER: 'mymaster' }, /REDIS_SENTINEL_MASTER is set without REDIS_SENTINELS/],
    [{ REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_MASTER: 'm', REDIS_URL: 'redis://127.0.0.1:6379' }, /REDIS_URL and REDIS_SENTINELS both/],
    [{ REDIS_SENTINELS: '127.0.0.1', REDIS_SENTINEL_MASTER: 'm' }, /REDIS_SENTINELS must be host:port/],
    [{ REDIS_SENTINELS: '127.0.0.1:0', REDIS_SENTINEL_MASTER: 'm' }, /REDIS_SENTINELS must be host:port/],
    [{ ENQUEUE_REPLICAS: '-1' }, /ENQUEUE_REPLICAS must be an integer from 0 to 16/],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('a strategy started with half the Sentinel settings exits 2 with the message, before it starts anything', async () => {
    const child = spawnEntry('strategies/4-redis-queue/main.ts', { PORT: '0', REDIS_URL: '', REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_MASTER: '' });
    expect(await child.exited).toBe(2);
    expect(child.text.join('\n')).toMatch(/REDIS_SENTINELS is set without REDIS_SENTINEL_MASTER/);
    expect(child.lines).toEqual([]);
  });
});
