// Queue micro-benchmark harness: our queue library (shared/queue/).
// Same shape as bullmq.ts and node-resque.ts; the scenarios are in scenarios.ts.
//
// Defaults throughout, job status included (a hash per job, kept 24 h), except
// `prefetch`, which run.ts sets per row: 0, and a prefetch (reserved jobs wait
// in the processing list, so a crash loses none of them); multi-worker.ts
// turns the status off, to compare scaling rather than bookkeeping.
// Recovery: the worker process also runs a Scheduler, as strategy 4's worker
// does; a dead worker's jobs go back to the queue once its heartbeat is older
// than heartbeatTtlMs (5 s), checked every second by the scheduler leader.
// Scaling: our MultiWorker. Every worker here holds two connections, however
// many jobs run (its blocking waits get a duplicate); add() opens a third.
import type { Redis } from 'ioredis';
import { isMain } from '../../shared/main.ts';
import { MultiWorker, Queue, Scheduler, Worker } from '../../shared/queue/index.ts';
import { createRedis } from '../../shared/redis.ts';
import { childMain, type LibSettings, type QueueLib } from './scenarios.ts';

const QUEUE = 'bench';
const BATCH = 1000;

export async function open(s: LibSettings): Promise<QueueLib> {
  const status = s.keepStatus === false ? { statusTtlMs: 0 } : {};
  const redis = createRedis(s.url); // the worker's commands, and fill() before it starts
  const queue = new Queue({ redis, namespace: s.namespace, ...status });
  let producer: Redis | undefined; // add(): not the worker's connection
  let adder: Queue | undefined;
  let worker: Worker | undefined;
  let multi: MultiWorker | undefined;
  let scheduler: Scheduler | undefined;
  return {
    fillHow: `enqueueMany, ${BATCH.toLocaleString('en-US')} jobs a call, one call at a time`,
    async fill(n) {
      for (let i = 0; i < n; i += BATCH) await queue.enqueueMany(QUEUE, 'noop', Array.from({ length: Math.min(BATCH, n - i) }, () => []));
    },
    async add(arg) {
      producer ??= createRedis(s.url);
      adder ??= new Queue({ redis: producer, namespace: s.namespace, ...status });
      await adder.enqueue(QUEUE, 'noop', [arg]);
    },
    async work(o) {
      const common = { redis, namespace: s.namespace, queues: [QUEUE], jobs: { noop: o.perform }, prefetch: o.prefetch, ...status };
      if (o.recover) {
        scheduler = new Scheduler({ redis, namespace: s.namespace });
        scheduler.on('error', (err) => console.error(err));
        await scheduler.start();
      }
      if (o.scale) {
        const { max, checkMs, maxDelayMs, onProcessors } = o.scale;
        multi = new MultiWorker({ ...common, minTaskProcessors: 1, maxTaskProcessors: max, checkTimeout: checkMs, maxEventLoopDelay: maxDelayMs });
        multi.on('success', o.done);
        multi.on('multiWorkerAction', (a) => onProcessors(a.processors));
        multi.on('error', (err) => console.error(err));
        await multi.start();
        return;
      }
      worker = new Worker({ ...common, concurrency: o.concurrency });
      worker.on('success', o.done);
      worker.on('error', (err) => console.error(err));
      await worker.start();
    },
    async leftover() {
      const [waiting, reserved] = await Promise.all([redis.llen(queue.keys.queue(QUEUE)), worker ? redis.llen(queue.keys.processing(worker.name)) : 0]);
      return waiting + reserved;
    },
    async close() {
      await worker?.stop();
      await multi?.stop();
      await scheduler?.stop();
      redis.disconnect();
      producer?.disconnect();
    },
  };
}

if (isMain(import.meta.url)) childMain(open);
