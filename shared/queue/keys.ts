// Every Redis key the queue library touches, in one place. The first group is
// resque's own layout (node-resque and Ruby resque read and write the same
// keys); the second group is ours, for what resque does not have: a processing
// list per worker (reliable fetch), heartbeats, wake-up markers, job status and
// the scheduler's lock. Resque tools ignore keys they do not know.
//
// The Lua scripts build the same names from `prefix` (they cannot import this
// file): keep lua/*.lua and lua/includes/*.lua in step when a name changes here.
// Every script declares at least one key of the namespace and builds the others
// from the prefix, so on Redis Cluster a namespace with a hash tag ({resque})
// keeps all of them in one slot, the one the script is sent to; config.ts
// refuses a namespace without one there.
import { defaults } from './defaults.ts';

export type Keys = ReturnType<typeof keys>;

export function keys(namespace: string = defaults.namespace) {
  const p = `${namespace}:`;
  return {
    prefix: p,
    // --- resque layout ---
    /** set: every queue name */
    queues: `${p}queues`,
    /** list: payloads, pushed on the right, taken from the left (FIFO) */
    queue: (q: string) => `${p}queue:${q}`,
    /** zset: score = member = unix second that has delayed jobs */
    schedule: `${p}delayed_queue_schedule`,
    /** list: payloads due at that unix second */
    delayed: (second: number) => `${p}delayed:${second}`,
    /** set: "delayed:<second>" entries of one payload (node-resque finds and removes delayed jobs with it) */
    timestamps: (payload: string) => `${p}timestamps:${payload}`,
    /** list: failure records {worker, queue, payload, exception, error, backtrace, failed_at} */
    failed: `${p}failed`,
    /** counters */
    processed: `${p}stat:processed`,
    failedCount: `${p}stat:failed`,
    workerProcessed: (worker: string) => `${p}stat:processed:${worker}`,
    workerFailed: (worker: string) => `${p}stat:failed:${worker}`,
    /** set: "<worker name>:<queues csv>" */
    workers: `${p}workers`,
    /** string JSON {run_at, queue, payload, worker}: what the worker is doing */
    workingOn: (worker: string, queues: string) => `${p}worker:${worker}:${queues}`,
    /** string: unix second the worker started */
    started: (worker: string, queues: string) => `${p}worker:${worker}:${queues}:started`,
    /** string JSON {time, name, queues}: node-resque's heartbeat shape */
    ping: (worker: string) => `${p}worker:ping:${worker}`,
    // --- ours ---
    /** list: payloads this worker has reserved and not yet acknowledged */
    processing: (worker: string) => `${p}processing:${worker}`,
    /** zset: worker name -> Redis time (ms) after which it counts as dead */
    heartbeats: `${p}heartbeats`,
    /** list of at most one token: "this queue has work", for workers blocked on several queues */
    wake: (q: string) => `${p}wake:${q}`,
    /** hash: job id -> "<enqueued_at ms>|<queue>|<class>", the status of a job still waiting since its enqueue (lua/includes/status.lua) */
    queued: `${p}queued`,
    /** hash: status of one job {state, queue, class, attempts, error, ...}, from its first start, retry or failure on */
    job: (id: string) => `${p}job:${id}`,
    /** string: token of the scheduler that currently leads */
    leader: `${p}scheduler:leader`,
    /** string JSON {processors, active, delayMs, ...}: a multiWorker's scaling status, expires with its heartbeat */
    multiWorker: (worker: string) => `${p}multiworker:${worker}`,
  };
}
