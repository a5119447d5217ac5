// The talk's closing lesson: most background jobs wait on I/O (SMTP, HTTP, a
// database), so one Node process can run many at once - as long as someone
// watches the event loop, so that a CPU-bound job does not starve the rest.
//
// A MultiWorker is one Worker - one set of connections, one heartbeat, one
// fetcher, one processing list - whose concurrency ("task processors", as
// node-resque calls them) it changes every `checkTimeout`: it asks the
// EventLoopMonitor how late the loop ran and how busy it was, counts how many
// processors were running a job, and lets decideProcessors (scaling.ts) say how
// many to run next. So 100 processors cost no more connections than 1, where
// node-resque opens a connection (and a worker record) per processor; and a
// processor removed while it runs a job finishes that job first, because
// removing one only lowers the Worker's slot count.
//
// Everything else is the plain Worker's: reliable fetch, heartbeat, recovery
// of a SIGKILLed process's jobs by any Scheduler, graceful drain on stop().
// Prefetch stays at what you pass (default 0): the processor count already is
// "what can start now", and a job reserved beyond it would only wait - behind
// a CPU-bound job, that wait is pure latency.
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { defaults } from './defaults.ts';
import { EventLoopMonitor } from './event-loop.ts';
import type { WorkerEvents } from './events.ts';
import type { Job } from './job.ts';
import { decideProcessors, type ScalingVerb } from './scaling.ts';
import type { MultiWorkerStatus } from './stats.ts';
import { Worker, type Jobs, type Perform, type StopResult, type WorkerOptions } from './worker.ts';

export interface MultiWorkerOptions extends Omit<WorkerOptions, 'concurrency'> {
  minTaskProcessors?: number;
  maxTaskProcessors?: number;
  /** ms between two measurements and decisions. */
  checkTimeout?: number;
  /** ms of event-loop delay above which the loop counts as blocked. */
  maxEventLoopDelay?: number;
  targetLoopUtilization?: number;
  maxGrowthPerCheck?: number;
  blockMemoryMs?: number;
}

/** One check: what was measured and what was decided. Emitted every checkTimeout, "steady" included. */
export interface MultiWorkerAction {
  verb: ScalingVerb;
  /** Processors from now on. */
  processors: number;
  /** Processors before this check. */
  previous: number;
  /** Worst event-loop delay in the window, ms. */
  delayMs: number;
  /** The part of it this process caused, not a machine short of CPU (scaling.ts): what was compared with maxEventLoopDelay. */
  ownDelayMs: number;
  /** Share of the window the event loop was busy, 0-1. */
  utilization: number;
  /** Most processors running a job at once in the window. */
  busy: number;
  reason: string;
}

export interface MultiWorkerEvents extends WorkerEvents {
  multiWorkerAction: [action: MultiWorkerAction];
}

export class MultiWorker extends EventEmitter<MultiWorkerEvents> {
  readonly worker: Worker;
  readonly min: number;
  readonly max: number;
  private readonly o: MultiWorkerOptions;
  private monitor: EventLoopMonitor | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When the next check is due (performance.now() ms). */
  private due = Infinity;
  private latest: MultiWorkerAction | undefined;
  /** The processor count at which the loop last blocked, and when (see scaling.ts). */
  private blocked: { processors: number; at: number } | undefined;
  private publishing = false;
  // The window since the last check: jobs running now, the most at once, and
  // processor-milliseconds spent running jobs (for the average).
  private running = 0;
  private peak = 0;
  private busyMs = 0;
  private lastChange = performance.now();
  private windowStart = performance.now();

  constructor(options: MultiWorkerOptions) {
    super();
    this.o = options;
    this.min = options.minTaskProcessors ?? defaults.minTaskProcessors;
    this.max = options.maxTaskProcessors ?? defaults.maxTaskProcessors;
    if (!Number.isInteger(this.min) || !Number.isInteger(this.max) || this.min < 1 || this.max < this.min) {
      throw new Error(`need whole numbers 1 <= minTaskProcessors <= maxTaskProcessors, got ${this.min} and ${this.max}`);
    }
    const jobs: Jobs = {};
    for (const [name, job] of Object.entries(options.jobs)) jobs[name] = typeof job === 'function' ? this.counted(job) : { ...job, perform: this.counted(job.perform) };
    this.worker = new Worker({ ...options, jobs, concurrency: this.min });
    this.worker.on('job', (job) => this.emit('job', job));
    this.worker.on('success', (job, result, ms) => this.emit('success', job, result, ms));
    this.worker.on('failure', (job, err, ms) => this.emit('failure', job, err, ms));
    this.worker.on('retry', (job, err, delayMs) => this.emit('retry', job, err, delayMs));
    this.worker.on('error', (err) => this.emit('error', err));
  }

  get name(): string {
    return this.worker.name;
  }
  /** Task processors now: how many jobs may run at once. */
  get processors(): number {
    return this.worker.concurrency;
  }
  /** Jobs running now. */
  get active(): number {
    return this.running;
  }
  /** The last check, if there was one. */
  get lastAction(): MultiWorkerAction | undefined {
    return this.latest;
  }

  /** The job, plus bookkeeping of how many run at once. An async wrapper runs the job synchronously up to its first await, as before. */
  private counted(perform: Perform): Perform {
    const self = this;
    return async function (this: Job, ...args: unknown[]) {
      self.began();
      try {
        return await perform.apply(this, args);
      } finally {
        self.ended();
      }
    };
  }

  private account(now: number): void {
    this.busyMs += this.running * (now - this.lastChange);
    this.lastChange = now;
  }
  private began(): void {
    const now = performance.now();
    this.account(now);
    this.running++;
    this.peak = Math.max(this.peak, this.running);
    // Every processor busy and room to grow: a burst is waiting for processors,
    // so decide after a quarter of the period instead of the rest of it. The
    // same short window also catches an overshoot sooner.
    if (this.running >= this.worker.concurrency && this.worker.concurrency < this.max && this.timer) {
      const soon = this.windowStart + this.quickCheckMs;
      if (soon < this.due) this.schedule(Math.max(0, soon - now));
    }
  }
  private ended(): void {
    this.account(performance.now());
    this.running--;
  }

  async start(): Promise<void> {
    // Watching before the first job can start: a first job that hogs the CPU must be seen.
    this.monitor = new EventLoopMonitor();
    this.windowStart = this.lastChange = performance.now();
    try {
      await this.worker.start();
    } catch (err) {
      this.monitor.stop();
      throw err;
    }
    this.schedule(this.periodMs);
  }

  private get periodMs(): number {
    return this.o.checkTimeout ?? defaults.checkTimeout;
  }
  /** A quarter of the period, but at least two ticks of the monitor: a shorter window measures nothing. */
  private get quickCheckMs(): number {
    return Math.min(this.periodMs, Math.max(20, this.periodMs / 4));
  }

  private schedule(inMs: number): void {
    clearTimeout(this.timer);
    this.due = performance.now() + inMs;
    this.timer = setTimeout(() => {
      this.check();
      this.schedule(this.periodMs);
    }, inMs);
  }

  /** One measurement and decision. Runs every checkTimeout (sooner in a burst, see began()); public so a test can drive it. */
  check(): MultiWorkerAction {
    const now = performance.now();
    this.account(now);
    const windowMs = now - this.windowStart;
    const busyAverage = windowMs > 0 ? this.busyMs / windowMs : this.running;
    const busy = this.peak;
    this.busyMs = 0;
    this.windowStart = now;
    this.peak = this.running;
    const { maxDelayMs, utilization, cpuMs } = this.monitor!.sample();
    const previous = this.worker.concurrency;
    if (this.blocked && now - this.blocked.at > (this.o.blockMemoryMs ?? defaults.blockMemoryMs)) this.blocked = undefined;
    const decision = decideProcessors(
      { processors: previous, busy, delayMs: maxDelayMs, utilization, busyAverage, windowMs, cpuMs, blockedAt: this.blocked?.processors },
      {
        minProcessors: this.min,
        maxProcessors: this.max,
        maxEventLoopDelayMs: this.o.maxEventLoopDelay ?? defaults.maxEventLoopDelay,
        targetUtilization: this.o.targetLoopUtilization ?? defaults.targetLoopUtilization,
        maxGrowth: this.o.maxGrowthPerCheck ?? defaults.maxGrowthPerCheck,
      },
    );
    if (decision.blocked) this.blocked = { processors: previous, at: now };
    // Fewer slots never interrupt a job: the Worker lets running ones finish and starts no new one until it is under the count.
    if (decision.processors !== previous) this.worker.setConcurrency(decision.processors);
    const { verb, processors, reason, ownDelayMs } = decision;
    const action: MultiWorkerAction = { verb, processors, previous, delayMs: maxDelayMs, ownDelayMs, utilization, busy, reason };
    this.latest = action;
    this.publish(action);
    this.emit('multiWorkerAction', action);
    return action;
  }

  /** Status for /stats and dashboards; it expires with the heartbeat, so a dead process's status vanishes with it. */
  private publish(a: MultiWorkerAction): void {
    if (this.publishing) return; // Redis is slow: skip a beat rather than pile writes up
    this.publishing = true;
    const status: MultiWorkerStatus = {
      processors: a.processors, active: this.running, min: this.min, max: this.max,
      delayMs: Math.round(a.delayMs * 10) / 10, utilization: Math.round(a.utilization * 1000) / 1000, verb: a.verb, at: Date.now(),
    };
    this.o.redis
      .set(this.worker.keys.multiWorker(this.name), JSON.stringify(status), 'PX', this.o.heartbeatTtlMs ?? defaults.heartbeatTtlMs)
      .catch((err: Error) => this.emit('error', err))
      .finally(() => (this.publishing = false));
  }

  /** Like Worker.stop(): no new jobs, running ones finish (up to timeoutMs), then deregister. Processors stay as they are meanwhile. */
  async stop(timeoutMs: number = defaults.stopTimeoutMs): Promise<StopResult> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.monitor?.stop();
    const result = await this.worker.stop(timeoutMs);
    await this.o.redis.del(this.worker.keys.multiWorker(this.name)).catch((err: Error) => this.emit('error', err));
    return result;
  }
}
