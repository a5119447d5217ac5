// The events of the queue library, typed: `worker.on('retry', (job, err, delayMs) => ...)`
// is checked by TypeScript. Background loops (fetching, heartbeats, the
// scheduler) report trouble on `error` and carry on; attach a listener, as
// with any EventEmitter, or an error event throws.
import type { Job } from './job.ts';

export interface WorkerEvents {
  /** A job starts to run. */
  job: [job: Job];
  /** A job succeeded and its ack is in Redis. */
  success: [job: Job, result: unknown, durationMs: number];
  /** A job failed for good and is in the failed list (no attempts left, permanent error, bad payload, unknown class). */
  failure: [job: Job, error: Error, durationMs: number];
  /** A job failed and will run again after `delayMs` (via the delayed schedule). */
  retry: [job: Job, error: Error, delayMs: number];
  error: [error: Error];
}

export interface Recovery {
  /** The dead worker's name. */
  worker: string;
  /** Jobs handed back to the head of their queues. */
  jobs: number;
}

export interface SchedulerEvents {
  /** This scheduler became (true) or stopped being (false) the leader. */
  leader: [isLeader: boolean];
  /** Due delayed jobs were moved to their queues. */
  moved: [count: number];
  /** A dead worker's jobs were handed back. */
  recovered: [recovery: Recovery];
  error: [error: Error];
}

/** Anything thrown, as an Error (a job may throw a string). */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(typeof value === 'string' ? value : JSON.stringify(value));
}
