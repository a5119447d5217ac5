// Strategy 4 - Redis queue, a worker process: takes `sendEmail` jobs from
// Redis, WORKER_CONCURRENCY at a time (1, like a resque worker), and sends them
// through pooled SMTP connections. Failed sends are retried with exponential
// backoff and jitter (RETRY_BASE_MS, up to MAX_ATTEMPTS); a 5xx reply fails at
// once. A scheduler runs beside it (shared/worker-process.ts): the leader among
// all workers moves due retries back to the queue and hands back the jobs of
// any worker whose heartbeat stopped.
//
// When the response returns: long before this process sees the job.
// What a crash loses: nothing. A job is in this worker's processing list in
//   Redis from the moment it is taken until it is acked; after a kill -9 the
//   leader puts it back at the head of the queue once the heartbeat expires
//   (5 s). The email being sent at the kill may be delivered twice, unless
//   the provider honours the idempotency key every email carries.
// Walkthrough: docs/walkthrough.md, "4. Redis queue".
//
//   REDIS_URL=redis://127.0.0.1:6379 npm run strategy:4:worker   # as many as you like, on any host
import { EMAIL_QUEUE } from '../../shared/email.ts';
import { Worker } from '../../shared/queue/index.ts';
import { runWorkerProcess, startQueueWorker, type WorkerProcessContext } from '../../shared/worker-process.ts';

export async function startWorker(ctx: WorkerProcessContext) {
  const { config, logger } = ctx;
  const running = await startQueueWorker(ctx, config.WORKER_CONCURRENCY, (basics) => {
    const worker = new Worker({ ...basics, queues: [EMAIL_QUEUE], concurrency: config.WORKER_CONCURRENCY });
    return worker;
  });
  const { worker } = running;
  logger.info({ worker: worker.name, queue: EMAIL_QUEUE, concurrency: worker.concurrency }, 'worker ready');
  return running;
}

await runWorkerProcess(import.meta.url, '4-redis-queue', startWorker);
