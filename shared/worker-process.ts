// What strategy 4's worker and strategy 5's multiWorker processes have in
// common: the sendEmail job, the scheduler beside the worker, the log lines a
// person watches, and the process around them (config, Redis, sink, graceful
// stop). Each strategy's worker.ts keeps only its idea: one Worker at a fixed
// concurrency, or a MultiWorker.
import type { EventEmitter } from 'node:events';
import type { Config } from './config.ts';
import { emailFromJobArgs, SEND_EMAIL } from './email.ts';
import type { Logger } from './logger.ts';
import { configOrExit, isMain, processLogger, resolveSmtp } from './main.ts';
import { isPermanentFailure, mailerFromConfig, type Mailer } from './mailer.ts';
import { backoffMs, defaults, Scheduler, type Job, type MultiWorker, type StopResult, type Worker, type WorkerEvents, type WorkerOptions } from './queue/index.ts';
import { createRedis, resolveRedis } from './redis.ts';
import { onShutdown } from './shutdown.ts';
import { superviseMe } from './supervisor.ts';
import { processMetrics } from './metrics/registry.ts';
import { serveMetrics } from './metrics/server.ts';
import { countQueueWorker } from './metrics/workers.ts';

/**
 * The sendEmail job. Anyone who can write to Redis can enqueue, so its one
 * argument is checked like a request before anything goes out; an invalid
 * email fails for good (as a 5xx would): never retried, never sent.
 */
export function sendEmailJob(mailer: Mailer) {
  return async (...args: unknown[]) => {
    let email;
    try {
      email = emailFromJobArgs(args);
    } catch (err) {
      throw Object.assign(new Error(`invalid email in job: ${(err as Error).message}`), { responseCode: 550 });
    }
    return mailer.send(email);
  };
}

/** A Worker, or a MultiWorker: it emits the Worker's events (and one more, multiWorkerAction). */
type QueueWorker = Worker | MultiWorker;

/**
 * One line per outcome, and queue errors once per outage rather than at every
 * reconnect attempt. Jobs other than sendEmail (strategy 5's demo jobs, which
 * its demo charts from these lines) log at debug.
 */
export function logQueueEvents(logger: Logger, queueWorker: QueueWorker, scheduler: Scheduler): void {
  // TypeScript cannot call `on` on the union of two typed emitters; both carry every Worker event.
  const worker = queueWorker as EventEmitter<WorkerEvents>;
  let lastError = '';
  const onError = (err: Error) => err.message !== lastError && ((lastError = err.message), logger.warn({ err: err.message }, 'queue error'));
  const isEmail = (job: Job) => job.class === SEND_EMAIL;
  worker.on('error', onError);
  scheduler.on('error', onError);
  worker.on('success', (job, _result, ms) => {
    lastError = '';
    if (isEmail(job)) logger.info({ id: job.id, attempt: job.attempt, sendMs: Math.round(ms) }, 'sent');
    else logger.debug({ class: job.class, ms: Math.round(ms) }, 'demo job done');
  });
  worker.on('retry', (job, err, delayMs) => logger.warn({ id: job.id, attempt: job.attempt, delayMs, error: err.message }, `send failed, retry in ${delayMs} ms`));
  worker.on('failure', (job, err) => logger.error({ id: job.id, class: job.class, attempts: job.attempt, error: err.message }, 'failed: giving up'));
  scheduler.on('leader', (leading) => logger.info({ leading }, leading ? 'scheduler: leading' : 'scheduler: no longer leading'));
  scheduler.on('recovered', (r) =>
    logger.warn(r, `recovered ${r.jobs} job${r.jobs === 1 ? '' : 's'} of dead worker ${r.worker}: back at the head of the queue`),
  );
}

export interface WorkerProcessContext {
  config: Config;
  logger: Logger;
  redisUrl: string;
  smtpUrl: URL;
}

export interface RunningWorkerProcess<W extends QueueWorker = QueueWorker> {
  worker: W;
  /** Graceful: stop taking jobs, finish running ones (until timeoutMs), deregister. */
  close(timeoutMs: number): Promise<StopResult>;
}

/** What every worker of ours is given: Redis, the retry policy, the sendEmail job. */
export type WorkerBasics = Pick<WorkerOptions, 'redis' | 'namespace' | 'maxAttempts' | 'backoff' | 'isPermanent' | 'jobs'>;

/**
 * Starts the worker `make` builds from the basics, and a scheduler beside it
 * (it competes with the other workers' for leadership: the leader moves due
 * retries back to the queue and hands back the jobs of dead workers).
 * `smtpConnections`: one per job that may run at once, kept open between emails.
 */
export async function startQueueWorker<W extends QueueWorker>(
  { config, logger, redisUrl, smtpUrl }: WorkerProcessContext,
  smtpConnections: number,
  make: (basics: WorkerBasics) => W,
): Promise<RunningWorkerProcess<W>> {
  // One connection for commands, shared by the worker and the scheduler; the worker adds one for blocking waits.
  const redis = createRedis(redisUrl);
  redis.on('error', () => {}); // reported once per outage by logQueueEvents
  const mailer = mailerFromConfig(config, smtpUrl, { pool: smtpConnections });
  const worker = make({
    redis,
    namespace: config.QUEUE_NAMESPACE,
    maxAttempts: config.MAX_ATTEMPTS,
    backoff: (attempt) => backoffMs(attempt, config.RETRY_BASE_MS, defaults.backoffMaxMs),
    isPermanent: isPermanentFailure,
    // Acked the moment the provider's 250 is in, not with the turn's batch (Jobs in shared/queue/worker.ts).
    jobs: { [SEND_EMAIL]: { perform: sendEmailJob(mailer), ackAtOnce: true } },
  });
  const scheduler = new Scheduler({ redis, namespace: config.QUEUE_NAMESPACE, name: worker.name, reconnectGraceMs: config.RECONNECT_GRACE_MS });
  logQueueEvents(logger, worker, scheduler);
  countQueueWorker(worker, (job) => job.class === SEND_EMAIL);
  await worker.start();
  await scheduler.start();
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

/**
 * Runs a worker entry from the command line, behind its main-module guard:
 * Redis and the sink (embedded unless REDIS_URL / SMTP_URL), start, then a
 * graceful stop on SIGINT/SIGTERM that leaves a second of the hard-stop timer
 * for deregistering; then it tells a supervisor, if there is one, that it is ready.
 */
export async function runWorkerProcess(importMetaUrl: string, strategy: string, start: (ctx: WorkerProcessContext) => Promise<RunningWorkerProcess>): Promise<void> {
  if (!isMain(importMetaUrl)) return;
  const config = configOrExit();
  const logger = processLogger(config, strategy, 'worker');
  processMetrics(config, strategy);
  const metrics = await serveMetrics(config, logger);
  const redis = await resolveRedis(config, logger);
  const smtp = await resolveSmtp(config, logger);
  const running = await start({ config, logger, redisUrl: redis.url, smtpUrl: smtp.url });
  onShutdown(
    logger,
    async () => {
      const { unfinished, handedBack } = await running.close(Math.max(0, config.SHUTDOWN_TIMEOUT_MS - 1_000));
      await metrics?.close();
      await smtp.close();
      await redis.close();
      if (unfinished > 0) throw new Error(`${unfinished} jobs did not finish in time; handed back to the queue (${handedBack} in all)`);
      if (handedBack > 0) logger.info({ handedBack }, 'prefetched jobs handed back to the queue');
    },
    config.SHUTDOWN_TIMEOUT_MS,
  );
  superviseMe().ready();
}
