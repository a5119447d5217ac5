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
import { emailFromJobArgs } from '../../shared/email.ts';
import { configOrExit, isMain, processLogger, resolveSmtp } from '../../shared/main.ts';
import { createMailer, isPermanentFailure } from '../../shared/mailer.ts';
import { backoffMs, defaults, Scheduler, Worker, type StopResult } from '../../shared/queue/index.ts';
import { createRedis, resolveRedis } from '../../shared/redis.ts';
import { onShutdown } from '../../shared/shutdown.ts';
import type { Config } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';
import { JOB, QUEUE, STRATEGY, superviseMe } from './main.ts';

export interface RunningWorker {
  worker: Worker;
  /** Graceful: stop taking jobs, finish running ones (until timeoutMs), deregister. */
  close(timeoutMs: number): Promise<StopResult>;
}

export async function startWorker({ config, logger, redisUrl, smtpUrl }: { config: Config; logger: Logger; redisUrl: string; smtpUrl: URL }): Promise<RunningWorker> {
  // One connection for commands, shared by the worker and the scheduler; the worker adds one for blocking waits.
  const redis = createRedis(redisUrl);
  redis.on('error', () => {}); // reported once per outage by the worker's 'error' events below
  // Pooled, one SMTP connection per concurrent job, kept open between emails.
  const mailer = createMailer({
    smtpUrl,
    from: config.MAIL_FROM,
    timeoutMs: config.SMTP_TIMEOUT_MS,
    allowRemote: config.SMTP_ALLOW_REMOTE,
    pool: true,
    maxConnections: config.WORKER_CONCURRENCY,
  });
  const worker = new Worker({
    redis,
    namespace: config.QUEUE_NAMESPACE,
    queues: [QUEUE],
    concurrency: config.WORKER_CONCURRENCY,
    maxAttempts: config.MAX_ATTEMPTS,
    backoff: (attempt) => backoffMs(attempt, config.RETRY_BASE_MS, defaults.backoffMaxMs),
    isPermanent: isPermanentFailure,
    jobs: {
      [JOB]: async (...args: unknown[]) => {
        // Anyone who can write to Redis can enqueue: check the email again before it goes out.
        const checked = (() => {
          try {
            return emailFromJobArgs(args);
          } catch (err) {
            throw Object.assign(new Error(`invalid email in job: ${(err as Error).message}`), { responseCode: 550 });
          }
        })();
        return mailer.send(checked);
      },
    },
  });
  const scheduler = new Scheduler({ redis, namespace: config.QUEUE_NAMESPACE, name: worker.name });

  let lastError = '';
  const onError = (err: Error) => err.message !== lastError && ((lastError = err.message), logger.warn({ err: err.message }, 'queue error'));
  worker.on('error', onError);
  scheduler.on('error', onError);
  worker.on('success', (job, _result, ms) => ((lastError = ''), logger.info({ id: job.id, attempt: job.attempt, sendMs: Math.round(ms) }, 'sent')));
  worker.on('retry', (job, err, delayMs) => logger.warn({ id: job.id, attempt: job.attempt, delayMs, error: err.message }, `send failed, retry in ${delayMs} ms`));
  worker.on('failure', (job, err) => logger.error({ id: job.id, attempts: job.attempt, error: err.message }, 'failed: giving up on this email'));
  scheduler.on('leader', (leading) => logger.info({ leading }, leading ? 'scheduler: leading' : 'scheduler: no longer leading'));
  scheduler.on('recovered', (r) => logger.warn(r, `recovered ${r.jobs} job${r.jobs === 1 ? "" : "s"} of dead worker ${r.worker}: back at the head of the queue`));

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

if (isMain(import.meta.url)) {
  const config = configOrExit();
  const logger = processLogger(config, STRATEGY, 'worker');
  const redis = await resolveRedis(config, logger);
  const smtp = await resolveSmtp(config, logger);
  const running = await startWorker({ config, logger, redisUrl: redis.url, smtpUrl: smtp.url });
  onShutdown(
    logger,
    async () => {
      // Leave a second of the hard-stop timer for deregistering and closing.
      const { unfinished, handedBack } = await running.close(Math.max(0, config.SHUTDOWN_TIMEOUT_MS - 1_000));
      await smtp.close();
      await redis.close();
      if (unfinished > 0) throw new Error(`${unfinished} jobs did not finish in time; handed back to the queue (${handedBack} in all)`);
      if (handedBack > 0) logger.info({ handedBack }, 'prefetched jobs handed back to the queue');
    },
    config.SHUTDOWN_TIMEOUT_MS,
  );
  superviseMe().ready();
}
