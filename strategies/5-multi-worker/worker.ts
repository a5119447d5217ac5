// Strategy 5 - multiWorker, the worker process: strategy 4's worker, except
// that one process runs between MIN_TASK_PROCESSORS and MAX_TASK_PROCESSORS
// jobs at once and picks the number itself. Every CHECK_TIMEOUT_MS it asks its
// event loop how late it ran: healthy and every processor busy, it adds
// processors (fast: it sizes the step by how busy the loop was); blocked -
// later than MAX_EVENT_LOOP_DELAY_MS because a job hogs the CPU - it cuts
// them. Sending an email is a wait on SMTP, so one process sends many at once
// over MAX_TASK_PROCESSORS pooled connections and two Redis connections.
// It also knows the talk's demo jobs, in `slowQueue`: slowSleepJob awaits a
// timer, slowCPUJob busy-waits (npm run strategy:5:demo).
//
// When the response returns: as in strategy 4 (its web process answers once
//   Redis has the job) - long before this process sees it.
// What a crash loses: nothing. However many jobs run at once, each is in this
//   worker's processing list in Redis until it is acked; after a kill -9 the
//   scheduler of the restarted process (or any other worker's) hands them all
//   back once the heartbeat expires (5 s). Those being sent at the kill may be
//   delivered twice.
// Walkthrough: docs/walkthrough.md, "5. multiWorker".
//
//   REDIS_URL=redis://127.0.0.1:6379 npm run strategy:5:worker
import { isPermanentFailure } from '../../shared/mailer.ts';
import { backoffMs, defaults, MultiWorker, Scheduler } from '../../shared/queue/index.ts';
import { createRedis } from '../../shared/redis.ts';
import { logQueueEvents, runWorkerProcess, sendEmailJob, workerMailer, type RunningWorkerProcess, type WorkerProcessContext } from '../../shared/worker-process.ts';
import { JOB, QUEUE, superviseMe } from '../4-redis-queue/main.ts';
import { DEMO_QUEUE, demoJobs } from './demo-jobs.ts';

export const STRATEGY = '5-multi-worker';
export interface RunningMultiWorker extends RunningWorkerProcess {
  multiWorker: MultiWorker;
}

export async function startMultiWorker({ config, logger, redisUrl, smtpUrl }: WorkerProcessContext): Promise<RunningMultiWorker> {
  // One connection for commands (worker, scheduler, status), one for blocking waits: for 1 processor or 1,000.
  const redis = createRedis(redisUrl);
  redis.on('error', () => {}); // reported once per outage by logQueueEvents
  // As many SMTP connections as processors: an email waiting for a connection is a processor doing nothing.
  const mailer = workerMailer(config, smtpUrl, config.MAX_TASK_PROCESSORS);
  const multiWorker = new MultiWorker({
    redis,
    namespace: config.QUEUE_NAMESPACE,
    queues: [QUEUE, DEMO_QUEUE],
    minTaskProcessors: config.MIN_TASK_PROCESSORS,
    maxTaskProcessors: config.MAX_TASK_PROCESSORS,
    checkTimeout: config.CHECK_TIMEOUT_MS,
    maxEventLoopDelay: config.MAX_EVENT_LOOP_DELAY_MS,
    maxAttempts: config.MAX_ATTEMPTS,
    backoff: (attempt) => backoffMs(attempt, config.RETRY_BASE_MS, defaults.backoffMaxMs),
    isPermanent: isPermanentFailure,
    jobs: { [JOB]: sendEmailJob(mailer), ...demoJobs },
  });
  const scheduler = new Scheduler({ redis, namespace: config.QUEUE_NAMESPACE, name: multiWorker.name });
  logQueueEvents(logger, multiWorker, scheduler);
  // Every change is logged with the measurements behind it, as in the talk; a steady check only at debug level.
  multiWorker.on('multiWorkerAction', ({ verb, processors, previous, delayMs, ownDelayMs, utilization, busy, reason }) =>
    logger[verb === 'steady' ? 'debug' : 'info'](
      { multiWorkerAction: verb, processors, previous, delayMs: round(delayMs), ownDelayMs: round(ownDelayMs), utilization: round(utilization, 3), busy },
      `${verb === 'added' ? '+' : verb === 'removed' ? '-' : '='} processors ${previous} -> ${processors}, event-loop delay ${round(delayMs)} ms: ${reason}`,
    ),
  );

  await multiWorker.start();
  await scheduler.start();
  logger.info(
    { worker: multiWorker.name, queues: [QUEUE, DEMO_QUEUE], minTaskProcessors: multiWorker.min, maxTaskProcessors: multiWorker.max },
    'multiWorker ready',
  );
  return {
    multiWorker,
    async close(timeoutMs) {
      const result = await multiWorker.stop(timeoutMs);
      await scheduler.stop();
      mailer.close();
      await redis.quit();
      return result;
    },
  };
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

await runWorkerProcess(import.meta.url, STRATEGY, startMultiWorker, () => superviseMe().ready());
