// Strategy 5 - multiWorker, the worker process: strategy 4's worker, except
// that one process runs between MIN_TASK_PROCESSORS and MAX_TASK_PROCESSORS
// jobs at once and picks the number itself. Every CHECK_TIMEOUT_MS it asks its
// event loop how late it ran: healthy and every processor busy, it adds
// processors (fast: it sizes the step by how busy the loop was); blocked -
// later than MAX_EVENT_LOOP_DELAY_MS because a job hogs the CPU - it cuts
// them. Sending an email is a wait on SMTP, so one process sends many at once
// over MAX_TASK_PROCESSORS pooled connections and two Redis connections. It
// also runs the talk's demo jobs (demo-jobs.ts, npm run strategy:5:demo).
//
// When the response returns: as in strategy 4 (its web process answers once
//   Redis has the job) - long before this process sees it.
// What a crash loses: nothing. However many jobs run at once, each is in this
//   worker's processing list in Redis until it is acked; after a kill -9 the
//   scheduler of the restarted process (or any other worker's) hands them all
//   back once the heartbeat expires (5 s). Those being sent at the kill may be
//   delivered twice, unless the provider honours their idempotency keys.
// Walkthrough: docs/walkthrough.md, "5. multiWorker".
//
//   REDIS_URL=redis://127.0.0.1:6379 npm run strategy:5:worker
import { EMAIL_QUEUE } from '../../shared/email.ts';
import { MultiWorker } from '../../shared/queue/index.ts';
import { runWorkerProcess, startQueueWorker, type WorkerProcessContext } from '../../shared/worker-process.ts';
import { DEMO_QUEUE, demoJobs } from './demo-jobs.ts';

export async function startWorker(ctx: WorkerProcessContext) {
  const { config, logger } = ctx;
  // As many SMTP connections as processors: an email waiting for a connection is a processor doing nothing.
  const running = await startQueueWorker(ctx, config.MAX_TASK_PROCESSORS, (basics) => {
    const worker = new MultiWorker({
      ...basics,
      jobs: { ...basics.jobs, ...demoJobs },
      queues: [EMAIL_QUEUE, DEMO_QUEUE],
      minTaskProcessors: config.MIN_TASK_PROCESSORS,
      maxTaskProcessors: config.MAX_TASK_PROCESSORS,
      checkTimeout: config.CHECK_TIMEOUT_MS,
      maxEventLoopDelay: config.MAX_EVENT_LOOP_DELAY_MS,
    });
    // Every change is logged with the measurements behind it, as in the talk; a steady check only at debug level.
    worker.on('multiWorkerAction', ({ verb, processors, previous, delayMs, ownDelayMs, utilization, busy, reason }) =>
      logger[verb === 'steady' ? 'debug' : 'info'](
        { multiWorkerAction: verb, processors, previous, delayMs: round(delayMs), ownDelayMs: round(ownDelayMs), utilization: round(utilization, 3), busy },
        `${verb === 'added' ? '+' : verb === 'removed' ? '-' : '='} processors ${previous} -> ${processors}, event-loop delay ${round(delayMs)} ms: ${reason}`,
      ),
    );
    return worker;
  });
  const { worker } = running;
  logger.info({ worker: worker.name, queues: [EMAIL_QUEUE, DEMO_QUEUE], minTaskProcessors: worker.min, maxTaskProcessors: worker.max }, 'multiWorker ready');
  return running;
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

await runWorkerProcess(import.meta.url, '5-multi-worker', startWorker);
