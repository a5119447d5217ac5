// The queue library: resque's data layout, reliable fetch, retries, a leader
// scheduler and dead-worker recovery. Start with queue.ts (producing) and
// worker.ts (consuming), multi-worker.ts for a worker that scales with its event
// loop; defaults.ts lists every tunable; keys.ts every key.
export { Queue, type QueueOptions, type EnqueueOptions, type JobStatus, type JobState } from './queue.ts';
export { Worker, type WorkerOptions, type Jobs, type Perform, type StopResult } from './worker.ts';
export { MultiWorker, type MultiWorkerOptions, type MultiWorkerAction, type MultiWorkerEvents } from './multi-worker.ts';
export { Scheduler, type SchedulerOptions } from './scheduler.ts';
export type { WorkerEvents, SchedulerEvents, Recovery } from './events.ts';
export { type Job, type FailureRecord, InvalidPayloadError, UnknownJobError, backoffMs, newJobId } from './job.ts';
export type { QueueStats, QueueInfo, WorkerInfo, MultiWorkerStatus } from './stats.ts';
export { keys, type Keys } from './keys.ts';
export { defaults } from './defaults.ts';
