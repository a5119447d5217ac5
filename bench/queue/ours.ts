// Queue micro-benchmark harness: our queue library (shared/queue/).
// Same shape as bullmq.ts and node-resque.ts; the scenarios are in scenarios.ts.
//
// Defaults throughout, job status included (a hash per job, kept 24 h), except
// `prefetch`, which run.ts sets per row: 0, and a prefetch (reserved jobs wait
// in the processing list, so a crash loses none of them).
// Recovery: the worker process also runs a Scheduler, as strategy 4's worker
// does; a dead worker's jobs go back to the queue once its heartbeat is older
// than heartbeatTtlMs (5 s), checked every second by the scheduler leader.
import { isMain } from '../../shared/main.ts';
import { Queue, Scheduler, Worker } from '../../shared/queue/index.ts';
import { createRedis } from '../../shared/redis.ts';
import { childMain, type LibSettings, type QueueLib } from './scenarios.ts';

const QUEUE = 'bench';
const BATCH = 1000;

export async function open(s: LibSettings): Promise<QueueLib> {
  const redis = createRedis(s.url); // the worker's commands (its blocking waits get a duplicate)
  const producer = createRedis(s.url); // add() and fill(): not the worker's connection
  const queue = new Queue({ redis: producer, namespace: s.namespace });
  let worker: Worker | undefined;
  let scheduler: Scheduler | undefined;
  return {
    async fill(n) {
      for (let i = 0; i < n; i += BATCH) await queue.enqueueMany(QUEUE, 'noop', Array.from({ length: Math.min(BATCH, n - i) }, () => []));
    },
    async add(arg) {
      await queue.enqueue(QUEUE, 'noop', [arg]);
    },
    async work(o) {
      worker = new Worker({ redis, namespace: s.namespace, queues: [QUEUE], jobs: { noop: o.perform }, concurrency: o.concurrency, prefetch: o.prefetch });
      worker.on('success', o.done);
      worker.on('error', (err) => console.error(err));
      if (o.recover) {
        scheduler = new Scheduler({ redis, namespace: s.namespace });
        scheduler.on('error', (err) => console.error(err));
        await scheduler.start();
      }
      await worker.start();
    },
    async leftover() {
      const [waiting, reserved] = await Promise.all([producer.llen(queue.keys.queue(QUEUE)), worker ? producer.llen(queue.keys.processing(worker.name)) : 0]);
      return waiting + reserved;
    },
    async close() {
      await worker?.stop();
      await scheduler?.stop();
      redis.disconnect();
      producer.disconnect();
    },
  };
}

if (isMain(import.meta.url)) childMain(open);
