// Redis for strategies 4 and 5 and their tests. REDIS_URL when set; otherwise
// a private redis-server from PATH on a free port, in a temporary directory,
// with the append-only file on (so stopping and restarting it loses nothing
// that was acknowledged) and no RDB snapshots. Nothing depends on a system
// Redis on 6379, and nothing is left behind after `stop()`.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { freePort } from './net.ts';

export class RedisUnavailable extends Error {
  override name = 'RedisUnavailable';
}

export const INSTALL_HINT =
  'No redis-server on PATH. Install one (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) ' +
  'or point REDIS_URL at a running Redis, e.g. REDIS_URL=redis://127.0.0.1:6379';

export interface PrivateRedis {
  url: string;
  port: number;
  /** Directory holding the append-only file; kept across restart(), removed by stop(). */
  dir: string;
  pid(): number | undefined;
  /** SIGTERM and wait: Redis flushes its append-only file before it exits. */
  stop(): Promise<void>;
  /** Stop without removing the data directory, then start again on the same port. */
  restart(): Promise<void>;
  /** Like a crash: SIGKILL, data directory kept. start() brings it back. */
  kill(): Promise<void>;
  start(): Promise<void>;
}

function waitForReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => done(new RedisUnavailable(`redis-server did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) done();
    };
    const onExit = (code: number | null) => done(new RedisUnavailable(`redis-server exited with code ${code}:\n${output.slice(-2000)}`));
    const onError = (err: NodeJS.ErrnoException) => done(err.code === 'ENOENT' ? new RedisUnavailable(INSTALL_HINT) : err);
    function done(err?: Error) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      // Keep draining its output so a chatty server never blocks on a full pipe.
      child.stdout?.resume();
      if (err) reject(err);
      else resolve();
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** True when a command runs; used to pick how redis-server is started. */
function runs(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));

export async function startPrivateRedis(options: { logger?: Logger; startTimeoutMs?: number } = {}): Promise<PrivateRedis> {
  const { logger, startTimeoutMs = 10_000 } = options;
  const dir = await mkdtemp(path.join(tmpdir(), 'bgjobs-redis-'));
  let port = await freePort();
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const args = [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
      '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '',
      '--daemonize', 'no', '--logfile', '', '--loglevel', 'notice',
    ];
    // Where util-linux's setpriv exists (Linux), the kernel sends redis-server
    // SIGTERM when its parent dies - even by SIGKILL - so a killed supervisor
    // or test run leaves no orphan Redis behind. Elsewhere it is a plain spawn.
    // (setpriv would report a missing redis-server as its own exit 127: keep the clear ENOENT message instead.)
    const guarded = process.platform === 'linux' && runs('setpriv', ['--version']) && runs('redis-server', ['--version']);
    // Its own process group: a Ctrl-C in the terminal goes to the whole
    // foreground group, and Redis must outlive it until the workers that use
    // it have drained and acked; its owner stops it last, in stop().
    const options: SpawnOptions = { stdio: ['ignore', 'pipe', 'inherit'], detached: true };
    child = guarded
      ? spawn('setpriv', ['--pdeathsig', 'TERM', '--', 'redis-server', ...args], options)
      : spawn('redis-server', args, options);
    await waitForReady(child, startTimeoutMs);
    logger?.info({ port, redisPid: child.pid, dir }, 'private redis-server ready');
  }

  async function signal(sig: NodeJS.Signals): Promise<void> {
    if (!child) return;
    const c = child;
    child = undefined;
    c.kill(sig);
    await exited(c);
  }

  // Another process may take the free port between the check and the bind: try a few.
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      break;
    } catch (err) {
      if (attempt >= 3 || !(err instanceof RedisUnavailable) || !/Address already in use/i.test(err.message)) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
      port = await freePort();
    }
  }

  return {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dir,
    pid: () => child?.pid,
    start,
    kill: () => signal('SIGKILL'),
    async restart() {
      await signal('SIGTERM');
      await start();
    },
    async stop() {
      await signal('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Default options for the repo's Redis clients: reconnect forever, with a capped backoff. */
export function redisOptions(extra: RedisOptions = {}): RedisOptions {
  return {
    lazyConnect: false,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    ...extra,
  };
}

export function createRedis(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, redisOptions(extra));
}

/** A client for a web process: it reconnects forever, and logs an outage once, not at every reconnect attempt. */
export function webRedis(url: string, logger: Logger): Redis {
  const redis = createRedis(url);
  let down = false;
  redis.on('error', (err) => down || ((down = true), logger.warn({ err: err.message }, 'Redis unavailable; requests wait for it')));
  redis.on('ready', () => down && ((down = false), logger.info('Redis back')));
  return redis;
}

export interface RedisTarget {
  url: string;
  /** Stops the private server, if this process started one. */
  close(): Promise<void>;
}

/** REDIS_URL when set; otherwise a private redis-server owned by this process. */
export async function resolveRedis(config: Config, logger: Logger): Promise<RedisTarget> {
  if (config.REDIS_URL) return { url: config.REDIS_URL.href.replace(/\/$/, ''), close: async () => {} };
  const server = await startPrivateRedis({ logger: logger.child({ component: 'redis' }) });
  return { url: server.url, close: () => server.stop() };
}
