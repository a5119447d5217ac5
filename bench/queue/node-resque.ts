// Queue micro-benchmark harness: node-resque 9 (a dev dependency).
// Same shape as ours.ts and bullmq.ts; the scenarios are in scenarios.ts.
//
// A node-resque Worker runs one job at a time; concurrency C is C Workers in
// this process, each with its own connection - what its MultiWorker runs at C
// processors, without the ramp-up (the scaling scenario measures that, with
// its MultiWorker at its default timeout). `timeout` (poll sleep and ping
// interval) is run.ts's choice per row: 5 ms for throughput, so that polling
// does not set the figure, its default 5 s elsewhere. Jobs are added one
// enqueue each (it has no bulk add), 1,000 at a time in flight.
// Recovery: the worker process also runs a Scheduler (its README's set-up).
// By default it judges a worker dead after stuckWorkerTimeout (1 hour) and
// then moves its job to the failed list; retryStuckJobs (off) would re-enqueue
// it. `tuned`: stuckWorkerTimeout 10 s, retryStuckJobs on, and
// leaderLockTimeout 10 s - the killed process led, and its lock would
// otherwise keep every other scheduler idle for 180 s.
import { hostname } from 'node:os';
import * as NR from 'node-resque';
import { isMain } from '../../shared/main.ts';
import { childMain, type LibSettings, type QueueLib } from './scenarios.ts';

const QUEUE = 'bench';
const BATCH = 1000;

export async function open(s: LibSettings): Promise<QueueLib> {
  const { port, hostname: host } = new URL(s.url);
  // node-resque opens a connection per Queue, Worker and Scheduler from these options.
  const connection = { host, port: Number(port), namespace: s.namespace };
  const queue = new NR.Queue({ connection }); // add() and fill(): not a worker's connection
  await queue.connect();
  const workers: NR.Worker[] = [];
  let multi: NR.MultiWorker | undefined;
  let scheduler: NR.Scheduler | undefined;
  return {
    fillHow: `enqueue (no bulk add), ${BATCH.toLocaleString('en-US')} at a time in flight`,
    async fill(n) {
      for (let i = 0; i < n; i += BATCH) await Promise.all(Array.from({ length: Math.min(BATCH, n - i) }, () => queue.enqueue(QUEUE, 'noop', [])));
    },
    async add(arg) {
      await queue.enqueue(QUEUE, 'noop', [arg]);
    },
    async work(o) {
      if (o.recover) {
        const tuned = s.tuned ? { stuckWorkerTimeout: 10_000, retryStuckJobs: true, leaderLockTimeout: 10 } : {};
        scheduler = new NR.Scheduler({ connection, ...tuned });
        scheduler.on('error', (err) => console.error(err));
        await scheduler.connect();
        await scheduler.start();
      }
      const jobs = { noop: { perform: async (arg?: number) => o.perform(arg) } };
      if (o.scale) {
        const { max, checkMs, maxDelayMs, onProcessors } = o.scale;
        const mw = new NR.MultiWorker({ connection, queues: [QUEUE], minTaskProcessors: 1, maxTaskProcessors: max, checkTimeout: checkMs, maxEventLoopDelay: maxDelayMs }, jobs);
        mw.on('success', o.done);
        mw.on('multiWorkerAction', () => onProcessors(mw.workers.length));
        mw.on('error', (err) => console.error(err));
        multi = mw;
        mw.start();
        return;
      }
      for (let id = 1; id <= o.concurrency; id++) {
        // Names as MultiWorker gives them: one name per Worker, or they share a "working on" key.
        const worker = new NR.Worker({ connection, queues: [QUEUE], timeout: s.pollMs, name: `${hostname()}:${process.pid}+${id}` }, jobs);
        worker.on('success', o.done);
        worker.on('error', (err) => console.error(err));
        workers.push(worker);
        await worker.connect();
        await worker.start();
      }
    },
    async leftover() {
      return queue.length(QUEUE);
    },
    async close() {
      await Promise.all(workers.map((w) => w.end()));
      await multi?.end();
      await scheduler?.end();
      await queue.end();
    },
  };
}

if (isMain(import.meta.url)) childMain(open);
