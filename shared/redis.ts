// Redis for strategies 4, 5 and 6 and their tests, and the one place that
// decides how a process reaches it: through Sentinel when REDIS_SENTINELS and
// REDIS_SENTINEL_MASTER are set, REDIS_URL when that is set; otherwise a
// private redis-server from PATH on a free port, in a temporary directory,
// with the append-only file on (so stopping and restarting it loses nothing
// that was acknowledged) and no RDB snapshots. Nothing depends on a system
// Redis on 6379, and nothing is left behind after `stop()`.
//
// Whichever it is travels as one string, an address, that every process logs
// and hands to createRedis() and to its children (redisEnv()):
//   redis://host:port                               one server
//   redis-sentinel://host:port,host:port/<master>   the primary the sentinels name, followed across failovers
//   redis-cluster://host:port,host:port             a Redis Cluster, found from these nodes
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config, HostPort } from './config.ts';
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
  /**
   * SIGTERM and wait, then remove the data. A Redis still writing its first
   * append-only file (a replica just after a full sync) refuses SIGTERM and
   * runs on: after STOP_GRACE_MS it gets SIGKILL, since its data goes anyway.
   */
  stop(): Promise<void>;
  /** Stop without removing the data directory, then start again on the same port. */
  restart(): Promise<void>;
  /** Like a crash: SIGKILL, data directory kept. start() brings it back. */
  kill(): Promise<void>;
  start(): Promise<void>;
}

function waitForReady(child: ChildProcess, timeoutMs: number, readyLine: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => done(new RedisUnavailable(`redis-server did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(readyLine)) done();
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

export interface PrivateRedisOptions {
  logger?: Logger;
  startTimeoutMs?: number;
  /** More arguments after the usual ones (a replica's --replicaof, a cluster node's --cluster-enabled). */
  args?: string[];
  /**
   * A config file, written to the data directory and given first (Sentinel
   * rewrites its own file, so it needs one), built from the port it will get.
   */
  configFile?(port: number, dir: string): string;
  /** The log line that says it is ready: "Ready to accept connections" unless a sentinel ("+monitor master"). */
  readyLine?: string;
}

/** How long stop() waits for a SIGTERMed redis-server before it kills it. */
const STOP_GRACE_MS = 3_000;

export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const { logger, startTimeoutMs = 10_000, args: extraArgs = [], configFile, readyLine = 'Ready to accept connections' } = options;
  const dir = await mkdtemp(path.join(tmpdir(), 'bgjobs-redis-'));
  let port = await freePort();
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const file = configFile && path.join(dir, 'redis.conf');
    if (file) await writeFile(file, configFile!(port, dir));
    const args = [
      ...(file ? [file] : []),
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
      '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '',
      '--daemonize', 'no', '--logfile', '', '--loglevel', 'notice',
      ...extraArgs,
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
    await waitForReady(child, startTimeoutMs, readyLine);
    logger?.info({ port, redisPid: child.pid, dir }, 'private redis-server ready');
  }

  async function signal(sig: NodeJS.Signals, killAfterMs?: number): Promise<void> {
    if (!child) return;
    const c = child;
    child = undefined;
    c.kill(sig);
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => c.kill('SIGKILL'), killAfterMs);
    await exited(c);
    clearTimeout(timer);
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
      await signal('SIGTERM', STOP_GRACE_MS);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `f` on a one-off client of the server on 127.0.0.1:`port` that never retries, then drops it: for set-up code asking a server (or a sentinel) about its state. */
export async function onServer<T>(port: number, f: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  c.on('error', () => {});
  try {
    await c.connect();
    return await f(c);
  } finally {
    c.disconnect();
  }
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

const SENTINEL = 'redis-sentinel://';
const CLUSTER = 'redis-cluster://';

export type RedisAddress =
  | { kind: 'url'; url: string }
  | { kind: 'sentinel'; sentinels: HostPort[]; master: string }
  | { kind: 'cluster'; nodes: HostPort[] };

const hostPort = ({ host, port }: HostPort) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

export function formatAddress(a: RedisAddress): string {
  if (a.kind === 'url') return a.url;
  if (a.kind === 'cluster') return `${CLUSTER}${a.nodes.map(hostPort).join(',')}`;
  return `${SENTINEL}${a.sentinels.map(hostPort).join(',')}/${encodeURIComponent(a.master)}`;
}

const hostPorts = (list: string) =>
  list.split(',').map((item) => {
    const colon = item.lastIndexOf(':');
    return { host: item.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(item.slice(colon + 1)) };
  });

export function parseAddress(address: string): RedisAddress {
  if (address.startsWith(CLUSTER)) return { kind: 'cluster', nodes: hostPorts(address.slice(CLUSTER.length)) };
  if (!address.startsWith(SENTINEL)) return { kind: 'url', url: address };
  const rest = address.slice(SENTINEL.length);
  const slash = rest.lastIndexOf('/');
  return { kind: 'sentinel', sentinels: hostPorts(rest.slice(0, slash)), master: decodeURIComponent(rest.slice(slash + 1)) };
}

/** The address the settings name, or undefined when they name none (a private server is started then). */
export function configuredAddress(config: Config): string | undefined {
  if (config.REDIS_CLUSTER_NODES.length > 0) return formatAddress({ kind: 'cluster', nodes: config.REDIS_CLUSTER_NODES });
  if (config.REDIS_SENTINELS.length > 0) return formatAddress({ kind: 'sentinel', sentinels: config.REDIS_SENTINELS, master: config.REDIS_SENTINEL_MASTER });
  return config.REDIS_URL ? config.REDIS_URL.href.replace(/\/$/, '') : undefined;
}

/** The settings a child process needs to reach the same Redis (the others cleared, so it never gets two). */
export function redisEnv(address: string): Record<string, string> {
  const a = parseAddress(address);
  const none = { REDIS_URL: '', REDIS_SENTINELS: '', REDIS_SENTINEL_MASTER: '', REDIS_CLUSTER_NODES: '' };
  if (a.kind === 'url') return { ...none, REDIS_URL: a.url };
  if (a.kind === 'cluster') return { ...none, REDIS_CLUSTER_NODES: a.nodes.map(hostPort).join(',') };
  return { ...none, REDIS_SENTINELS: a.sentinels.map(hostPort).join(','), REDIS_SENTINEL_MASTER: a.master };
}

/** The same, as a shell would set it before a command: "REDIS_URL=redis://..." or the two Sentinel settings. */
export function redisEnvLine(address: string): string {
  return Object.entries(redisEnv(address)).filter(([, v]) => v !== '').map(([k, v]) => `${k}=${v}`).join(' ');
}

/**
 * A client on an address. Through Sentinel, every connect and reconnect asks
 * the sentinels which server is the primary, and the client also listens for
 * their +switch-master, so after a failover it drops the old primary and moves
 * to the new one; commands sent meanwhile wait in its offline queue. A client
 * can still land on a server that is about to stop being the primary (the old
 * one, restarted before every sentinel has heard of the switch, answers as a
 * primary until the sentinels make it a replica): the replica then refuses its
 * writes (READONLY) and cuts its blocking reads (UNBLOCKED), and the client
 * reconnects - asking the sentinels again - and sends that command again.
 */
export function createRedis(address: string, extra: RedisOptions = {}): Redis {
  const a = parseAddress(address);
  if (a.kind === 'url') return new Redis(a.url, redisOptions(extra));
  if (a.kind === 'cluster') return clusterClient(address, a.nodes, extra);
  const client = new Redis({
    sentinels: a.sentinels,
    name: a.master,
    failoverDetector: true,
    // Every sentinel unreachable: keep asking, as the client keeps reconnecting to a lost server.
    sentinelRetryStrategy: (times: number) => Math.min(100 * times, 1000),
    reconnectOnError: (err: Error) => (/^(READONLY|UNBLOCKED)/.test(err.message) ? 2 : false),
    ...redisOptions(extra),
  });
  return connectsAgainAfterUnaskedEnd(client, address, extra);
}

/**
 * ioredis's failover detector can end a Sentinel client for good: a
 * +switch-master that arrives while the client is already reconnecting (its
 * primary died and the sentinels were still naming it) aborts that connect
 * with "Connection is closed." and leaves the client in status "end", where
 * every later command fails at once. Under load that took strategy 6's web
 * process or mailer in about one failover of three. A client that ends
 * without having been asked to (quit, or disconnect without reconnecting)
 * connects again; duplicate() makes clients that do the same.
 */
function connectsAgainAfterUnaskedEnd(client: Redis, address: string, extra: RedisOptions): Redis {
  let asked = false;
  const quit = client.quit.bind(client);
  const disconnect = client.disconnect.bind(client);
  Object.assign(client, {
    quit: (...args: Parameters<Redis['quit']>) => ((asked = true), quit(...args)),
    disconnect: (reconnect = false) => ((asked ||= !reconnect), disconnect(reconnect)),
    duplicate: (override: RedisOptions = {}) => createRedis(address, { ...extra, ...override }),
  });
  client.on('end', () => {
    if (!asked) setTimeout(() => void client.connect().catch(() => {}), 100).unref();
  });
  return client;
}

/**
 * A Cluster client where the code expects a Redis one. The queue and the
 * stream send only commands whose keys share one slot (a hash-tagged
 * namespace: config.ts refuses one without a tag), and for those a Cluster
 * client has the same methods: it sends each command, script and pipeline to
 * the node that holds the slot, and follows the slot when it moves. Two
 * differ: duplicate() takes other arguments (here it makes a client like this
 * one with other options, as Redis's does), and a command with no key (INFO,
 * TIME, WAIT) goes to any node - the dashboard's memory figure is one node's.
 *
 * While the node of a slot restarts, the others answer MOVED to it or
 * CLUSTERDOWN, and its own connection is refused: each of those is a
 * redirection, and ioredis gives up after 16, the MOVED ones without a pause,
 * so a command failed within a second or two (a stream consumer's ack, left
 * pending until claimed). A pause of 100 ms before each and 300 of them keep a
 * command about as long as a client of one Redis does while it reconnects
 * (20 attempts, about 30 s).
 *
 * A Redis client says 'ready' again after each reconnect, and the code reads
 * that as "a reply may have been lost with the connection" (a stream consumer
 * reads its own pending list again, a worker reconciles what it reserved, a
 * scheduler gives the workers a grace period). A Cluster client says it once:
 * here it says it again when the connection to a node it lost while up (the
 * node restarted) is ready again.
 */
function clusterClient(address: string, nodes: HostPort[], extra: RedisOptions): Redis {
  const options = redisOptions(extra);
  const cluster = new Cluster(nodes, {
    redisOptions: options,
    enableOfflineQueue: options.enableOfflineQueue ?? true,
    enableReadyCheck: true,
    clusterRetryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    retryDelayOnMoved: 100,
    maxRedirections: 300,
  });
  let lostNode = false;
  cluster.on('-node', () => cluster.status === 'ready' && (lostNode = true));
  cluster.on('+node', (node: Redis) => lostNode && node.once('ready', () => lostNode && ((lostNode = false), cluster.emit('ready'))));
  return Object.assign(cluster, { duplicate: (override: RedisOptions = {}) => createRedis(address, { ...extra, ...override }) }) as unknown as Redis;
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
  /** The address (see the top of this file): a redis:// URL, or the sentinels and their master. */
  url: string;
  /** True when this process started the server, and it goes away with it. */
  private: boolean;
  /** Stops the private server, if this process started one. */
  close(): Promise<void>;
}

/** The Redis the settings name (Sentinel, REDIS_URL); otherwise a private redis-server owned by this process. */
export async function resolveRedis(config: Config, logger: Logger): Promise<RedisTarget> {
  const configured = configuredAddress(config);
  if (configured) return { url: configured, private: false, close: async () => {} };
  const server = await startPrivateRedis({ logger: logger.child({ component: 'redis' }) });
  return { url: server.url, private: true, close: () => server.stop() };
}
