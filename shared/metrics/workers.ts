// The processes that do the work report what they did and what they hold:
// a queue Worker or MultiWorker (strategies 4, 5), a stream consumer
// (strategy 6) and strategy 3's primary, which reports for its worker child
// (the child never reports itself: its IPC messages are the figures). Each is
// listeners on events that exist anyway, and gauges read when scraped.
import type { EventEmitter } from 'node:events';
import { Gauge } from 'prom-client';
import type { Job, MultiWorker, Worker, WorkerEvents } from '../queue/index.ts';
import type { GroupConsumer } from '../streams/consumer.ts';
import { attempted, lostSome, started } from './emails.ts';
import { freshName, registry } from './registry.ts';

const gauge = (name: string, help: string, read: () => number) =>
  new Gauge({
    name: freshName(name),
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });

/** Counts a queue worker's outcomes and waits, and serves how busy it is: a Worker's slots, or a MultiWorker's processors and event loop. */
export function countQueueWorker(queueWorker: Worker | MultiWorker, isEmail: (job: Job) => boolean): void {
  // Both emit every Worker event; TypeScript cannot call `on` on the union of two typed emitters.
  const worker = queueWorker as EventEmitter<WorkerEvents>;
  worker.on('job', (job) => isEmail(job) && job.attempt === 1 && job.enqueuedAt !== undefined && started(Date.now() - job.enqueuedAt));
  worker.on('success', (job, _result, ms) => isEmail(job) && attempted('sent', ms));
  worker.on('failure', (job, _err, ms) => isEmail(job) && attempted('failed', ms));
  worker.on('retry', (job) => isEmail(job) && attempted('retried'));
  gauge('worker_busy_jobs', 'Jobs this worker process is running right now.', () => queueWorker.active);
  if ('processors' in queueWorker) {
    gauge('multiworker_processors', 'Task processors the multiWorker runs now: how many jobs may run at once, as its last check decided.', () => queueWorker.processors);
    gauge('multiworker_event_loop_delay_seconds', 'Worst event-loop delay of the multiWorker\'s last check window (what it compares with MAX_EVENT_LOOP_DELAY_MS).', () => (queueWorker.lastAction?.delayMs ?? 0) / 1000);
  } else {
    gauge('worker_concurrency', 'Jobs this worker process may run at once (WORKER_CONCURRENCY).', () => queueWorker.concurrency);
  }
}

/** The time an entry was appended, from its id (<ms>-<seq>): the stream's enqueue time. */
const appendedAt = (entryId: string) => Number(entryId.split('-')[0]);

/** Counts a stream consumer's outcomes; only a group that sends email counts emails. */
export function countConsumer(consumer: GroupConsumer, sendsEmail: boolean): void {
  if (!sendsEmail) return;
  consumer.on('handled', (entry, ms) => {
    if (entry.deliveries === 1) started(Date.now() - ms - appendedAt(entry.id));
    attempted('sent', ms);
  });
  consumer.on('failed', () => attempted('retried'));
  consumer.on('dead', () => attempted('failed'));
  consumer.on('trimmed', (ids) => lostSome(ids.length));
}

/** What strategy 3's worker reports of an attempt (strategies/3-cluster-ipc/protocol.ts), as far as counting needs it. */
type AttemptReport = { type: string; attempt?: number; ms?: number };

/**
 * Strategy 3's primary counts its worker child's reports; `acceptedAt` is when
 * it took the email. A first attempt that was sent tells how long it waited:
 * its age minus its send.
 */
export function countWorkerReport(report: AttemptReport, acceptedAt: number | undefined): void {
  if (report.type === 'sent') {
    if (report.attempt === 1 && acceptedAt !== undefined && report.ms !== undefined) started(Date.now() - acceptedAt - report.ms);
    attempted('sent', report.ms);
  } else if (report.type === 'retry') attempted('retried');
  else if (report.type === 'failed') attempted('failed');
}

/** Strategy 3's primary: what it holds and what its worker holds, as it last heard, read at each scrape. */
export function collectPrimaryMetrics(read: () => { buffered: number; queue: number; inFlight: number; retrying: number; workerUp: boolean }): void {
  gauge('primary_buffered_emails', 'Emails the primary holds while no worker is online (at most BUFFER_LIMIT).', () => read().buffered);
  gauge('worker_queued_emails', 'Emails in the worker\'s in-memory queue, as its last report said: lost if it dies.', () => read().queue);
  gauge('worker_busy_jobs', 'Emails the worker is sending right now, as its last report said.', () => read().inFlight);
  gauge('worker_retrying_emails', 'Emails in the worker\'s memory waiting out a retry backoff, as its last report said.', () => read().retrying);
  gauge('worker_up', 'Whether a worker child is online and taking emails (1) or not (0).', () => Number(read().workerUp));
}
