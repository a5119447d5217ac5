// Strategy 3 - cluster IPC, the worker child: an in-memory queue that sends
// what the primary hands it, WORKER_CONCURRENCY at a time, retrying failed
// sends with exponential backoff, and reporting every outcome to the primary.
//
// When the response returns: long before this process sees the email.
// What a crash loses: everything in its memory - queued, being sent, waiting
//   for a retry; the primary says how many ("worker died: N emails lost").
// Walkthrough: docs/walkthrough.md, "3. Cluster IPC" (and why nothing replays them).
import type { Email } from '../../shared/email.ts';
import { configOrExit, isMain, processLogger } from '../../shared/main.ts';
import { isPermanentFailure, mailerFromConfig } from '../../shared/mailer.ts';
import { assertSupervised, exitWhenWritten, toSupervisor } from '../../shared/supervisor.ts';
import { STRATEGY, type FromWorker, type ToWorker } from './protocol.ts';

/** `job`: the primary's number for this hand-over (tracking ids may repeat). */
type Job = { job: number; email: Email; attempts: number };

// A provider down for longer than this needs a person, not a longer sleep.
const MAX_RETRY_DELAY_MS = 60 * 60 * 1000;

export async function start(): Promise<void> {
  const config = configOrExit();
  const logger = processLogger(config, STRATEGY, 'worker');
  const concurrency = config.WORKER_CONCURRENCY;
  const mailer = mailerFromConfig(config, config.SMTP_URL!, { pool: concurrency }); // the primary sets SMTP_URL
  const queue: Job[] = [];
  const retrying = new Set<NodeJS.Timeout>();
  let inFlight = 0;
  let draining = false; // set by the primary's "drain": nothing new comes after it

  const report = (message: FromWorker) => toSupervisor(message);
  // Every outcome carries the load, so the primary's log shows the backlog shrink.
  const load = () => ({ queue: queue.length, inFlight, retrying: retrying.size });

  // Event-driven, no polling: a send starts the moment there is room and work.
  function pump(): void {
    while (inFlight < concurrency && queue.length > 0) void attempt(queue.shift()!);
    if (draining && inFlight === 0 && queue.length === 0 && retrying.size === 0) {
      mailer.close();
      logger.info('worker drained');
      exitWhenWritten(0);
    }
  }

  async function attempt(job: Job): Promise<void> {
    inFlight++;
    job.attempts++;
    const started = Date.now();
    try {
      await mailer.send(job.email);
      inFlight--;
      report({ type: 'sent', job: job.job, attempt: job.attempts, ms: Date.now() - started, ...load() });
    } catch (err) {
      inFlight--;
      const error = (err as Error).message;
      const permanent = isPermanentFailure(err);
      if (permanent || job.attempts >= config.MAX_ATTEMPTS) {
        report({ type: 'failed', job: job.job, attempt: job.attempts, error, permanent, ...load() });
      } else {
        const delayMs = Math.min(MAX_RETRY_DELAY_MS, config.RETRY_BASE_MS * 2 ** (job.attempts - 1));
        const timer = setTimeout(() => {
          retrying.delete(timer);
          queue.unshift(job); // it has waited its turn already
          pump();
        }, delayMs);
        retrying.add(timer);
        report({ type: 'retry', job: job.job, attempt: job.attempts, delayMs, error, ...load() });
      }
    }
    pump();
  }

  function drain(): void {
    if (!draining) logger.info(load(), 'draining: finishing what is in memory');
    draining = true;
    pump();
  }
  process.on('message', (message: ToWorker) => {
    if (message.type === 'drain') return drain();
    queue.push({ job: message.job, email: message.email, attempts: 0 });
    pump();
  });
  process.once('disconnect', drain); // the primary is gone: nothing more will come
  // SIGTERM to this pid alone is a graceful restart: the primary stops handing
  // us emails and answers "drain" (after any still on their way), we finish,
  // exit, and are re-forked. Ctrl-C reaches every process of the terminal:
  // the primary decides then.
  process.on('SIGTERM', () => report({ type: 'stop-requested' }));
  process.on('SIGINT', () => {});
  report({ type: 'ready' });
}

if (isMain(import.meta.url)) {
  assertSupervised('strategies/3-cluster-ipc/worker.ts', 'strategies/3-cluster-ipc/main.ts (npm run strategy:3)');
  await start();
}
