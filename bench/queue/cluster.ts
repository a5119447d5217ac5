// npm run bench:queue:cluster - what Redis Cluster buys the queue, in one run:
//
//   single        one redis-server, one namespace, W worker processes
//   cluster-1ns   a local three-primary cluster (shared/redis-cluster.ts), one
//                 hash-tagged namespace: every key in one slot, so one shard
//                 does all the work while two idle; W worker processes
//   cluster-3ns   the same cluster, three namespaces whose hash tags land on
//                 the three shards, W/3 worker processes each
//
// Each setup: the queue flushed, --jobs no-op jobs put in (split evenly over
// its namespaces), the workers started (fresh processes, connected, then told
// to go together), timed until resque's processed counters add up to --jobs.
// --rounds rounds, the order rotated each round; the table quotes medians.
// One machine runs the shards and the workers, so a CPU-bound machine can hide
// what more shards give: the machine line says how many cores there were.
//
//   npm run bench:queue:cluster -- --jobs 20000 --workers 3 --concurrency 20 --rounds 3
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { isMain } from '../../shared/main.ts';
import { keys, Queue, Worker } from '../../shared/queue/index.ts';
import { startLocalCluster, type LocalCluster } from '../../shared/redis-cluster.ts';
import { createRedis, startPrivateRedis } from '../../shared/redis.ts';
import { tsxExecArgv } from '../../shared/supervisor.ts';
import { describeMachine, endLoadAverage, machineLine, type Machine } from '../machine.ts';

const QUEUE = 'bench';
const BATCH = 1_000;

export interface ClusterRow {
  setup: 'single' | 'cluster-1ns' | 'cluster-3ns';
  namespaces: string[];
  workers: number;
  /** jobs/s of each round, in the order run. */
  jobsPerSec: number[];
}

interface Setup {
  name: ClusterRow['setup'];
  address: string;
  namespaces: string[];
  flush(): Promise<void>;
}

/** Hash-tagged namespaces, the first one found on each shard. */
async function oneNamespacePerShard(cluster: LocalCluster): Promise<string[]> {
  const byNode = new Map<number, string>();
  for (let i = 0; byNode.size < cluster.nodes.length && i < 1000; i++) {
    const ns = `{q${i}}`;
    const node = await cluster.nodeFor(ns);
    if (!byNode.has(node.port)) byNode.set(node.port, ns);
  }
  return [...byNode.values()];
}

function startWorker(address: string, namespace: string, concurrency: number): ChildProcess {
  return fork(import.meta.filename, ['--worker', '--redis', address, '--namespace', namespace, '--concurrency', String(concurrency)], { execArgv: tsxExecArgv(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

async function processed(redis: Redis, namespaces: string[]): Promise<number> {
  const counts = await Promise.all(namespaces.map((ns) => redis.get(keys(ns).processed)));
  return counts.reduce((sum, c) => sum + Number(c ?? 0), 0);
}

/** One measured run of a setup: jobs/s from "go" to the last job counted. */
async function runOnce(s: Setup, o: { jobs: number; workers: number; concurrency: number; timeoutMs: number }): Promise<number> {
  await s.flush();
  const redis = createRedis(s.address);
  redis.on('error', () => {});
  const children: ChildProcess[] = [];
  try {
    const share = Math.floor(o.jobs / s.namespaces.length);
    for (const [i, ns] of s.namespaces.entries()) {
      const queue = new Queue({ redis, namespace: ns, statusTtlMs: 0 });
      const n = i === s.namespaces.length - 1 ? o.jobs - share * i : share;
      for (let done = 0; done < n; done += BATCH) await queue.enqueueMany(QUEUE, 'noop', Array.from({ length: Math.min(BATCH, n - done) }, () => []));
    }
    for (let i = 0; i < o.workers; i++) children.push(startWorker(s.address, s.namespaces[i % s.namespaces.length]!, o.concurrency));
    await Promise.all(children.map((c) => once(c, 'message')));
    const started = performance.now();
    for (const c of children) c.send('go');
    const deadline = Date.now() + o.timeoutMs;
    while ((await processed(redis, s.namespaces)) < o.jobs) {
      if (Date.now() > deadline) throw new Error(`${s.name}: ${await processed(redis, s.namespaces)} of ${o.jobs} jobs done after ${o.timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return Math.round(o.jobs / ((performance.now() - started) / 1000));
  } finally {
    await Promise.all(children.map(async (c) => {
      if (c.exitCode !== null) return;
      c.send('stop');
      await once(c, 'exit');
    }));
    redis.disconnect();
  }
}

export async function clusterBench(o: { jobs: number; workers: number; concurrency: number; rounds: number; timeoutMs?: number }): Promise<{ rows: ClusterRow[]; machine: Machine }> {
  const machine = describeMachine();
  const single = await startPrivateRedis();
  const cluster = await startLocalCluster();
  try {
    const spread = await oneNamespacePerShard(cluster);
    const flushSingle = async () => {
      const c = createRedis(single.url);
      await c.flushall();
      c.disconnect();
    };
    const setups: Setup[] = [
      { name: 'single', address: single.url, namespaces: ['{q0}'], flush: flushSingle },
      { name: 'cluster-1ns', address: cluster.address, namespaces: [spread[0]!], flush: () => cluster.flush() },
      { name: 'cluster-3ns', address: cluster.address, namespaces: spread, flush: () => cluster.flush() },
    ];
    const rows: ClusterRow[] = setups.map((s) => ({ setup: s.name, namespaces: s.namespaces, workers: o.workers, jobsPerSec: [] }));
    for (let round = 0; round < o.rounds; round++) {
      for (let k = 0; k < setups.length; k++) {
        const i = (k + round) % setups.length;
        rows[i]!.jobsPerSec.push(await runOnce(setups[i]!, { ...o, timeoutMs: o.timeoutMs ?? 10 * 60_000 }));
      }
    }
    machine.loadAverage.end = endLoadAverage();
    return { rows, machine };
  } finally {
    await cluster.stop();
    await single.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

export function clusterTable(rows: ClusterRow[]): string {
  const base = median(rows.find((r) => r.setup === 'cluster-1ns')!.jobsPerSec);
  const lines = ['| setup | namespaces | worker processes | jobs/s, median (range) | x cluster, one namespace |', '|---|---|---:|---:|---:|'];
  for (const r of rows) {
    const m = median(r.jobsPerSec);
    lines.push(`| ${r.setup} | ${r.namespaces.join(' ')} | ${r.workers} | ${m.toLocaleString('en-US')} (${Math.min(...r.jobsPerSec).toLocaleString('en-US')}-${Math.max(...r.jobsPerSec).toLocaleString('en-US')}) | ${(m / base).toFixed(2)} |`);
  }
  return lines.join('\n');
}

/** A worker process of a measured run: connects, says so, runs no-op jobs from "go" until "stop". */
async function workerRole(address: string, namespace: string, concurrency: number): Promise<void> {
  const redis = createRedis(address);
  const worker = new Worker({ redis, namespace, queues: [QUEUE], jobs: { noop: () => undefined }, concurrency, statusTtlMs: 0 });
  worker.on('error', (err) => process.stderr.write(`${err.message}\n`));
  await redis.ping();
  process.on('message', async (m) => {
    if (m === 'go') await worker.start();
    if (m === 'stop') {
      await worker.stop();
      redis.disconnect();
      process.exit(0);
    }
  });
  process.send!('ready');
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      worker: { type: 'boolean', default: false },
      redis: { type: 'string' },
      namespace: { type: 'string' },
      concurrency: { type: 'string', default: '20' },
      jobs: { type: 'string', default: '20000' },
      workers: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '3' },
    },
  });
  if (values.worker) await workerRole(values.redis!, values.namespace!, Number(values.concurrency));
  else {
    const o = { jobs: Number(values.jobs), workers: Number(values.workers), concurrency: Number(values.concurrency), rounds: Number(values.rounds) };
    const started = Date.now();
    const { rows, machine } = await clusterBench(o);
    process.stdout.write(
      `npm run bench:queue:cluster -- --jobs ${o.jobs} --workers ${o.workers} --concurrency ${o.concurrency} --rounds ${o.rounds} (${Math.round((Date.now() - started) / 1000)} s)\n` +
        `Machine: ${machineLine(machine)}\n\n${clusterTable(rows)}\n`,
    );
    process.exit(0);
  }
}
