// A Sentinel topology on one machine, for the tests, the benchmark's
// redis-failover fault and a reader trying failover (npm run sentinel): a
// primary, one replica and three sentinels, each a real redis-server on a free
// loopback port in its own temporary directory. The sentinels call the primary
// down after DOWN_AFTER_MS without an answer (quorum 2 of 3) and promote the
// replica; killPrimary() SIGKILLs the primary and resolves when a sentinel
// announces the new one (+switch-master), not after a guessed sleep.
//
//   npm run sentinel    # prints the REDIS_SENTINELS=... line to start strategies 4-6 with
import { Redis } from 'ioredis';
import { createLogger } from './logger.ts';
import { isMain } from './main.ts';
import { formatAddress, onServer, startPrivateRedis, type PrivateRedis } from './redis.ts';
import { onShutdown } from './shutdown.ts';

export const MASTER = 'bgjobs';
/** What the sentinels wait before they call a silent primary down: 1 s, where Sentinel's default is 30 s. */
export const DOWN_AFTER_MS = 1_000;
/** Small, so a failover that stalls is retried soon (Sentinel retries after twice this). */
export const FAILOVER_TIMEOUT_MS = 2_000;

/**
 * The bound on each step a sentinel takes (a failover, a restarted primary
 * made a replica). Normally seconds (a rejoin some 17 s: a sentinel waits 8 s
 * before it converts an old primary that is back), but a sentinel whose timer
 * ran 2 s late - a starved process on a loaded 2-core machine - enters TILT
 * mode and does nothing for 30 s.
 */
export const SENTINEL_STEP_MS = 60_000;

export interface SentinelTopology {
  /** REDIS_SENTINELS and REDIS_SENTINEL_MASTER for a process that should connect through them. */
  env: { REDIS_SENTINELS: string; REDIS_SENTINEL_MASTER: string };
  /** The data servers; which one is the primary changes with a failover. */
  servers: PrivateRedis[];
  sentinels: PrivateRedis[];
  /** The server the sentinels name as primary right now. */
  primary(): Promise<PrivateRedis>;
  /** SIGKILLs the primary; resolves with the server promoted in its place, once a sentinel announces it. */
  killPrimary(timeoutMs?: number): Promise<{ killedAt: number; switchedAt: number; old: PrivateRedis; promoted: PrivateRedis }>;
  /** Resolves once the primary has `n` replicas online and in step with it. */
  replicasOnline(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const client = (port: number) => {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  c.on('error', () => {});
  return c;
};

/** The address (shared/redis.ts) a client of the harness uses to reach the topology's primary through its sentinels. */
export const sentinelAddress = (t: SentinelTopology) =>
  formatAddress({ kind: 'sentinel', sentinels: t.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })), master: MASTER });

/** Polls `read` until `ok` (these states announce no event), bounded, failing with the last value seen. */
async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await read();
    if (ok(last)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Resolves once `server` has `n` replicas online and acknowledging: INFO's
 * state=online comes when the first sync's data is sent, before the replica
 * has loaded it, so a short-lived probe write is then confirmed with WAIT.
 */
async function replicasOf(server: PrivateRedis, n: number, timeoutMs: number): Promise<void> {
  await until(
    async () => {
      const info = await onServer(server.port, (c) => c.info('replication')).catch(() => '');
      // slaveN:ip=...,port=...,state=online,offset=...,lag=...
      return info.match(/^slave\d+:.*state=online/gm)?.length ?? 0;
    },
    (online) => online >= n,
    timeoutMs,
    `${n} replica(s) online at 127.0.0.1:${server.port}`,
  );
  await until(
    () =>
      onServer(server.port, async (c) => {
        await c.set('replicas-probe', '1', 'PX', 1_000);
        return Number(await c.call('WAIT', n, 1_000));
      }).catch(() => 0),
    (acked) => acked >= n,
    timeoutMs,
    `${n} replica(s) to acknowledge a write at 127.0.0.1:${server.port}`,
  );
}

export async function startSentinelTopology(): Promise<SentinelTopology> {
  const started: PrivateRedis[] = [];
  try {
    const first = await startPrivateRedis();
    started.push(first);
    const replica = await startPrivateRedis({ args: ['--replicaof', '127.0.0.1', String(first.port)] });
    started.push(replica);
    const servers = [first, replica];
    // Sentinels learn of replicas from the primary's INFO, every 10 s after the first: start them once the replica is in.
    await replicasOf(first, 1, SENTINEL_STEP_MS);
    const sentinels: PrivateRedis[] = [];
    for (let i = 0; i < 3; i++) {
      const sentinel = await startPrivateRedis({
        args: ['--sentinel'],
        readyLine: '+monitor master',
        configFile: (port, dir) =>
          [
            `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
            `sentinel monitor ${MASTER} 127.0.0.1 ${first.port} 2`,
            `sentinel down-after-milliseconds ${MASTER} ${DOWN_AFTER_MS}`,
            `sentinel failover-timeout ${MASTER} ${FAILOVER_TIMEOUT_MS}`,
            `sentinel parallel-syncs ${MASTER} 1`,
            '',
          ].join('\n'),
      });
      sentinels.push(sentinel);
      started.push(sentinel);
    }

    const topology: SentinelTopology = {
      env: { REDIS_SENTINELS: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','), REDIS_SENTINEL_MASTER: MASTER },
      servers,
      sentinels,
      async primary() {
        const [, port] = (await onServer(sentinels[0]!.port, (c) => c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER))) as [string, string];
        const server = servers.find((s) => s.port === Number(port));
        if (!server) throw new Error(`the sentinels name 127.0.0.1:${port} as primary, which is none of ours`);
        return server;
      },
      async replicasOnline(n, timeoutMs = SENTINEL_STEP_MS) {
        await replicasOf(await topology.primary(), n, timeoutMs);
      },
      async killPrimary(timeoutMs = SENTINEL_STEP_MS) {
        const old = await topology.primary();
        const watcher = client(sentinels[1]!.port);
        await watcher.connect();
        try {
          await watcher.subscribe('+switch-master');
          const switched = new Promise<string>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no +switch-master within ${timeoutMs} ms of killing the primary`)), timeoutMs);
            watcher.on('message', (_channel, message: string) => {
              clearTimeout(timer);
              resolve(message);
            });
          });
          const killedAt = Date.now();
          await old.kill();
          // "<master> <old ip> <old port> <new ip> <new port>"
          const message = await switched;
          const switchedAt = Date.now();
          const port = Number(message.split(' ')[4]);
          const promoted = servers.find((s) => s.port === port);
          if (!promoted) throw new Error(`+switch-master named port ${port}, none of ours: ${message}`);
          // The other sentinels hear of the switch a moment later: until then one may still name the old primary.
          await until(
            () => Promise.all(sentinels.map((s) => onServer(s.port, (c) => c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER)).then((a) => Number((a as string[])[1])).catch(() => 0))),
            (ports) => ports.every((p) => p === port),
            timeoutMs,
            'every sentinel to name the promoted replica',
          );
          return { killedAt, switchedAt, old, promoted };
        } finally {
          watcher.disconnect();
        }
      },
      async stop() {
        await Promise.all(started.map((s) => s.stop()));
      },
    };

    // Ready for a failover once every sentinel knows the replica and the two other sentinels, and the replica is in step.
    await until(
      () =>
        Promise.all(
          sentinels.map((s) =>
            onServer(s.port, async (c) => {
              const flat = (await c.call('SENTINEL', 'MASTER', MASTER)) as string[];
              const info = Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1]]] : [])));
              return Number(info['num-slaves']) >= 1 && Number(info['num-other-sentinels']) >= 2;
            }).catch(() => false),
          ),
        ),
      (all) => all.every(Boolean),
      SENTINEL_STEP_MS,
      'every sentinel to know the replica and the other sentinels',
    );
    await topology.replicasOnline(1);
    return topology;
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    throw err;
  }
}

if (isMain(import.meta.url)) {
  const logger = createLogger({ strategy: 'sentinel', role: 'topology', level: 'info', format: '' });
  const topology = await startSentinelTopology();
  const line = `REDIS_SENTINELS=${topology.env.REDIS_SENTINELS} REDIS_SENTINEL_MASTER=${MASTER}`;
  logger.info(
    { primary: topology.servers[0]!.port, replica: topology.servers[1]!.port, sentinels: topology.sentinels.map((s) => s.port), pids: topology.servers.map((s) => s.pid()) },
    `primary, replica and 3 sentinels ready; try: ${line} ENQUEUE_REPLICAS=1 npm run strategy:4 - then kill -9 the primary (pid ${topology.servers[0]!.pid()})`,
  );
  onShutdown(logger, () => topology.stop(), 10_000);
}
