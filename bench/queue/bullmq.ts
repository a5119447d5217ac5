// Queue micro-benchmark harness: BullMQ 6 (a dev dependency).
// Same shape as ours.ts and node-resque.ts; the scenarios are in scenarios.ts.
//
// Defaults throughout, plus `removeOnComplete` on every job (as its docs
// advise for a busy queue): a completed job's hash is deleted instead of
// kept. Jobs are added with addBulk.
// Recovery: built into its Worker - a job whose lock (lockDuration 30 s) was
// not renewed is found by the stalled-job check (stalledInterval 30 s), which
// marks active jobs on one pass and moves those still unlocked on the next.
// Scaling: BullMQ has no multiWorker; it runs at the fixed concurrency only.
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import { isMain } from '../../shared/main.ts';
import { childMain, type LibSettings, type QueueLib } from './scenarios.ts';

const QUEUE = 'bench';
const BATCH = 1000;

export async function open(s: LibSettings): Promise<QueueLib> {
  const { port, hostname } = new URL(s.url);
  // BullMQ opens its own connections from these options (the Worker's blocking one included).
  const connection = { host: hostname, port: Number(port), maxRetriesPerRequest: null };
  const queue = new BullQueue(QUEUE, { connection, prefix: s.namespace }); // add() and fill(): not the worker's connection
  await queue.waitUntilReady();
  let worker: BullWorker | undefined;
  return {
    fillHow: `addBulk, ${BATCH.toLocaleString('en-US')} jobs a call, one call at a time`,
    async fill(n) {
      for (let i = 0; i < n; i += BATCH) {
        await queue.addBulk(Array.from({ length: Math.min(BATCH, n - i) }, () => ({ name: 'noop', data: {}, opts: { removeOnComplete: true } })));
      }
    },
    async add(arg) {
      await queue.add('noop', { arg }, { removeOnComplete: true });
    },
    async work(o) {
      if (o.scale) throw new Error('BullMQ has no multiWorker: run it at a fixed concurrency');
      worker = new BullWorker(QUEUE, async (job) => o.perform(job.data.arg as number | undefined), { connection, prefix: s.namespace, concurrency: o.concurrency });
      worker.on('completed', o.done);
      worker.on('error', (err) => console.error(err));
      // o.recover: nothing to add, the Worker runs the stalled-job check itself.
      await worker.waitUntilReady();
    },
    async leftover() {
      const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
      return Object.values(counts).reduce((a, b) => a + b, 0);
    },
    async close() {
      await worker?.close();
      await queue.close();
    },
  };
}

if (isMain(import.meta.url)) childMain(open);
