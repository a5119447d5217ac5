// Strategy 4 - Redis queue, a worker process: takes `sendEmail` jobs from
// Redis, WORKER_CONCURRENCY at a time (1, like a resque worker), and sends them
// through a pooled SMTP connection. Failed sends are retried with exponential
// backoff and jitter (RETRY_BASE_MS, up to MAX_ATTEMPTS); a 5xx reply fails at
// once. It also runs a scheduler that competes for leadership with the other
// workers: the leader moves due retries back to the queue and hands back the
// jobs of any worker whose heartbeat stopped.
//
// When the response returns: long before this process sees the job.
// What a crash loses: nothing. A job is in this worker's processing list in
//   Redis from the moment it is taken until it is acked; after a kill -9 the
//   leader puts it back at the head of the queue once the heartbeat expires
//   (5 s). The email being sent at the kill may be delivered twice.
// Walkthrough: docs/walkthrough.md, "4. Redis queue".
//
//   REDIS_URL=redis://127.0.0.1:6379 npm run strategy:4:worker   # as many as you like, on any host
import { isPermanentFailure } from '../../shared/mailer.ts';
import { backoffMs, defaults, Scheduler, Worker } from '../../shared/queue/index.ts';
import { createRedis } from '../../shared/redis.ts';
import { logQueueEvents, runWorkerProcess, sendEmailJob, workerMailer, type RunningWorkerProcess, type WorkerProcessContext } from '../../shared/worker-process.ts';
import { JOB, QUEUE, STRATEGY, superviseMe } from './main.ts';

export interface RunningWorker extends RunningWorkerProcess {
  worker: Worker;
}

export async function startWorker({ config, logger, redisUrl, smtpUrl }: WorkerProcessContext): Promise<RunningWorker> {
  // One connection for commands, shared by the worker and the scheduler; the worker adds one for blocking waits.
  const redis = createRedis(redisUrl);
  redis.on('error', () => {}); // reported once per outage by logQueueEvents
  const mailer = workerMailer(config, smtpUrl, config.WORKER_CONCURRENCY);
  const worker = new Worker({
    redis,
    namespace: config.QUEUE_NAMESPACE,
    queues: [QUEUE],
    concurrency: config.WORKER_CONCURRENCY,
    maxAttempts: config.MAX_ATTEMPTS,
    backoff: (attempt) => backoffMs(attempt, config.RETRY_BASE_MS, defaults.backoffMaxMs),
    isPermanent: isPermanentFailure,
    jobs: { [JOB]: sendEmailJob(mailer) },
  });
  const scheduler = new Scheduler({ redis, namespace: config.QUEUE_NAMESPACE, name: worker.name });
  logQueueEvents(logger, worker, scheduler);

  await worker.start();
  await scheduler.start();
  logger.info({ worker: worker.name, queue: QUEUE, concurrency: worker.concurrency }, 'worker ready');
  return {
    worker,
    async close(timeoutMs) {
      const result = await worker.stop(timeoutMs);
      await scheduler.stop();
      mailer.close();
      await redis.quit();
      return result;
    },
  };
}

await runWorkerProcess(import.meta.url, STRATEGY, startWorker, () => superviseMe().ready());
