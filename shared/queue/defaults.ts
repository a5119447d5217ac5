// Every default of the queue library, in one place, each with the reason for
// its value. Options passed to Queue, Worker, MultiWorker or Scheduler
// override these; shared/queue/README.md points here.

export const defaults = {
  /** Key prefix. "resque" is what node-resque and Ruby resque use, so their tools see our data. */
  namespace: 'resque',

  // --- Worker -------------------------------------------------------------
  /** Jobs one Worker runs at the same time. 1 is a classic resque worker. */
  concurrency: 1,
  /**
   * Jobs reserved beyond the running ones (taken into the processing list, not
   * yet started). 0 is fair to other workers: nothing waits behind a slow job.
   * Raise it for throughput on short jobs; a crash loses none of them, they are
   * in the processing list and come back with the rest.
   */
  prefetch: 0,
  /** Attempts per job, the first one included (node-resque's retryLimit counts the same way). */
  maxAttempts: 5,
  /** Wait before the first retry; doubles with each attempt, with jitter. */
  backoffBaseMs: 1_000,
  /** Ceiling of one backoff, so a job that fails ten times still runs today. */
  backoffMaxMs: 5 * 60_000,
  /**
   * A worker proves it is alive this often. node-resque pings every 5 s and
   * trusts a ping for an hour; we beat faster so a dead worker is found fast.
   */
  heartbeatIntervalMs: 1_000,
  /**
   * A worker that has not beaten for this long is dead and its jobs go back to
   * the queues. Shorter recovers sooner; too short and a worker whose event loop
   * is blocked by a CPU-heavy job is declared dead while it runs (BullMQ's
   * "stalled job" pain). 5 s is 5 missed beats.
   */
  heartbeatTtlMs: 5_000,
  /**
   * An idle worker blocks on Redis for at most this long before it looks again.
   * It is woken at once by our own enqueue; the timeout only matters for jobs
   * pushed by other resque clients onto a worker that watches several queues.
   */
  blockTimeoutMs: 1_000,
  /** Graceful stop: how long to wait for running jobs before handing them back to the queue. */
  stopTimeoutMs: 10_000,
  /**
   * Arguments one job may carry. Jobs take a handful; a payload with 100,000
   * is broken or hostile, and calling a function with that many overflows the
   * stack (a RangeError that would be retried as if it could succeed). Past
   * this the payload goes straight to failed.
   */
  maxArgs: 1_000,

  // --- MultiWorker ----------------------------------------------------------
  // One Worker whose concurrency ("task processors", node-resque's name) follows
  // the event loop. See multi-worker.ts and scaling.ts.
  /** Processors never go below this. 1 is node-resque's default. */
  minTaskProcessors: 1,
  /** Processors never go above this. node-resque defaults to 10; the talk's demo used 20 and 100. */
  maxTaskProcessors: 10,
  /**
   * How often the multiWorker measures the loop and decides, ms. A check is one
   * sample of a timer the process already runs, so checking often is cheap and
   * reacts sooner both ways; node-resque checks every 500 ms.
   */
  checkTimeout: 100,
  /** Above this event-loop delay (ms) the loop counts as blocked and processors are cut (scaling.ts). node-resque's default. */
  maxEventLoopDelay: 10,
  /**
   * While the loop is healthy, grow towards the processor count that would keep
   * it busy about this share of the time (measured per busy processor). Half
   * leaves room for HTTP, Redis replies and the heartbeat.
   */
  targetLoopUtilization: 0.5,
  /** Never grow more than this many times in one check, however idle the loop looked: a short window can mislead. */
  maxGrowthPerCheck: 16,
  /**
   * The multiWorker remembers the processor count at which its loop blocked:
   * it grows back halfway towards it per check and one at a time past it. It
   * forgets it after this long without another block (workloads change).
   */
  blockMemoryMs: 2_000,

  // --- Job status ---------------------------------------------------------
  /** How long a job's status (queued, working, succeeded...) is kept after its last change. 0 = no status at all. */
  statusTtlMs: 24 * 60 * 60_000,

  // --- Scheduler ----------------------------------------------------------
  /** The leader looks for due delayed jobs this often: a delayed job runs at most this late after its second. */
  schedulerPollMs: 100,
  /** The leader lock expires after this long unless renewed, so a dead leader is replaced within it. */
  leaderLockTtlMs: 5_000,
  /** Renew (leader) or try to take (follower) the lock this often. */
  leaderRenewMs: 1_000,
  /** The leader looks for dead workers this often. */
  recoveryIntervalMs: 1_000,
  /** Jobs moved from the delayed schedule per script call, so one call never blocks Redis for long. */
  moveBatch: 1_000,
  /**
   * Compact statuses of waiting jobs the leader looks at per recovery interval
   * (lua/sweepQueued.lua), at least: a short step each second.
   */
  sweepBatch: 1_000,
  /**
   * A walk over all of them takes at most this many steps (10 minutes at one a
   * second): a big hash gets bigger steps, so fields that a foreign worker
   * leaves behind faster than sweepBatch a second are still dropped in time.
   */
  sweepPassSteps: 600,
} as const;
