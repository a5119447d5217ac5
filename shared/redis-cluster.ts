// A Redis Cluster on one machine, for the tests, the queue benchmark's cluster
// run and a reader trying it (npm run redis-cluster): three primaries, each a
// real redis-server with --cluster-enabled on a free loopback port in its own
// temporary directory, joined by `redis-cli --cluster create` (16384 slots
// split in three), ready once every node reports cluster_state:ok.
//
//   npm run redis-cluster   # prints the REDIS_CLUSTER_NODES=... line to start strategy 4 with
import { spawn } from 'node:child_process';
import { createLogger } from './logger.ts';
import { isMain } from './main.ts';
import { formatAddress, onServer, startPrivateRedis, type PrivateRedis } from './redis.ts';
import { onShutdown } from './shutdown.ts';

export interface LocalCluster {
  nodes: PrivateRedis[];
  /** REDIS_CLUSTER_NODES for a process that should use it. */
  env: { REDIS_CLUSTER_NODES: string };
  /** The address shared/redis.ts's createRedis() takes. */
  address: string;
  /** The node that serves the slot of `key` (its hash tag decides). */
  nodeFor(key: string): Promise<PrivateRedis>;
  /** Every key of every node gone (FLUSHALL on each: on a Cluster that command reaches one node only). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}


function redisCli(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', (err) => reject(new Error(`redis-cli could not run (it comes with redis-server): ${err.message}`)));
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`redis-cli ${args.join(' ')} exited ${code}:\n${output.slice(-2000)}`))));
  });
}

export async function startLocalCluster(size = 3): Promise<LocalCluster> {
  const nodes: PrivateRedis[] = [];
  try {
    for (let i = 0; i < size; i++) nodes.push(await startPrivateRedis({ args: ['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000'] }));
    await redisCli(['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    // Bounded wait: each node says ok once it knows every slot is served (the nodes gossip it within a second or two).
    const deadline = Date.now() + 30_000;
    for (;;) {
      const states = await Promise.all(nodes.map((n) => onServer(n.port, (c) => c.cluster('INFO')).catch(() => '')));
      if (states.every((s) => /cluster_state:ok/.test(String(s)))) break;
      if (Date.now() > deadline) throw new Error(`the cluster did not reach cluster_state:ok within 30 s: ${JSON.stringify(states.map((s) => /cluster_state:\w+/.exec(String(s))?.[0]))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  const hostPorts = nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  return {
    nodes,
    env: { REDIS_CLUSTER_NODES: hostPorts.map((h) => `${h.host}:${h.port}`).join(',') },
    address: formatAddress({ kind: 'cluster', nodes: hostPorts }),
    async nodeFor(key) {
      const slot = await onServer(nodes[0]!.port, (c) => c.cluster('KEYSLOT', key));
      const ranges = await onServer(nodes[0]!.port, (c) => c.cluster('SLOTS'));
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      const node = nodes.find((n) => n.port === Number(range?.[2]?.[1]));
      if (!node) throw new Error(`no node of ours serves slot ${slot}`);
      return node;
    },
    async flush() {
      await Promise.all(nodes.map((n) => onServer(n.port, (c) => c.flushall())));
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

if (isMain(import.meta.url)) {
  const logger = createLogger({ strategy: 'redis-cluster', role: 'topology', level: 'info', format: '' });
  const cluster = await startLocalCluster();
  logger.info(
    { nodes: cluster.nodes.map((n) => ({ port: n.port, pid: n.pid() })) },
    `3 primaries ready; try: ${Object.entries(cluster.env).map(([k, v]) => `${k}=${v}`).join(' ')} QUEUE_NAMESPACE={resque} npm run strategy:4`,
  );
  onShutdown(logger, () => cluster.stop(), 10_000);
}
