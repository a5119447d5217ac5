// The consumer side. A Worker owns two connections' worth of work - commands
// on the client it is given (shared with a Queue or Scheduler in the same
// process), blocking waits on one duplicate - however many jobs it runs at
// once. `concurrency` slots run jobs; `prefetch` more wait reserved behind
// them. Both can change at runtime (setConcurrency), so a MultiWorker can grow
// and shrink one Worker instead of opening a connection per processor.
//
// A job's life: reserve (Lua: queue -> this worker's processing list, in one
// step) -> perform -> ack (removed and counted) | retry (-> delayed schedule,
// with backoff) | fail (-> resque's failed list). If the process dies at any
// point, the job is in a queue, the processing list or the schedule, and the
// Scheduler hands a dead worker's processing list back to its queues.
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AckBatcher } from './acks.ts';
import { defaults } from './defaults.ts';
import { toError, type WorkerEvents } from './events.ts';
import { Fetcher } from './fetcher.ts';
import { Heartbeat } from './heartbeat.ts';
import { backoffMs, failureRecord, nextAttemptPayload, UnknownJobError, type Job } from './job.ts';
import { keys, type Keys } from './keys.ts';
import { run } from './scripts.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- job arguments are whatever was enqueued
export type Perform = (this: Job, ...args: any[]) => unknown;
/**
 * Job classes by name, as in node-resque: a function, or an object with
 * `perform` - and `ackAtOnce` for a job whose effect must not be repeated.
 *
 * ackAtOnce: the ack leaves for Redis the moment perform resolves, instead of
 * with the acks of the rest of this event-loop turn. Until the ack lands the
 * job is in the processing list, and a crash sends it back to the queue; for
 * an email the provider has already answered 250 for, that is a second email.
 * Acking at once closes the wait for the batch - the rest of the turn, which a
 * CPU-bound job in the same process can stretch to seconds - at the price of
 * one script call per such job instead of one per batch (no-op jobs keep the
 * batch). It cannot close the rest: a process killed with the ack on the
 * wire, an ack kept and retried while Redis is unreachable, a worker declared
 * dead while it was still sending (its job already runs elsewhere), and above
 * all a crash while the provider holds the message before its 250 - the
 * provider has it and the worker never heard. Only the provider can tell that
 * repeat from a new email: the idempotency key shared/mailer.ts sends.
 */
export type Jobs = Record<string, Perform | { perform: Perform; ackAtOnce?: boolean }>;

export interface WorkerOptions {
  redis: Redis;
  /** Queues in priority order: a job in the first is always taken before one in the second. */
  queues: string[];
  jobs: Jobs;
  /** Unique per running worker; default "<hostname>:<pid>-<random>" (node-resque reads "host:pid"-style names). */
  name?: string;
  namespace?: string;
  concurrency?: number;
  prefetch?: number;
  maxAttempts?: number;
  /** Delay before the retry after attempt n; default exponential from backoffBaseMs with jitter. */
  backoff?: (attempt: number) => number;
  /** A failure that retrying cannot fix goes straight to failed. Default: `err.permanent === true`. */
  isPermanent?: (err: unknown) => boolean;
  heartbeatIntervalMs?: number;
  heartbeatTtlMs?: number;
  blockTimeoutMs?: number;
  statusTtlMs?: number;
}

export interface StopResult {
  /** Jobs still running when the timeout passed (they go back to the queue: they will run again). */
  unfinished: number;
  /** Jobs this worker held that went back to the head of their queues. */
  handedBack: number;
}

export class Worker extends EventEmitter<WorkerEvents> {
  readonly name: string;
  readonly queues: string[];
  readonly keys: Keys;
  private readonly o: WorkerOptions;
  private readonly jobs: Map<string, Perform>;
  private readonly ackAtOnce: Set<string>;
  private readonly heartbeat: Heartbeat;
  private readonly acks: AckBatcher;
  private readonly fetcher: Fetcher;
  private readonly running = new Set<Job>();
  private slots: number;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private connectedOnce = false;
  /** Set by stop(): called when the last running job ends. */
  private idle: (() => void) | undefined;

  constructor(options: WorkerOptions) {
    super();
    if (options.queues.length === 0) throw new Error('a worker needs at least one queue');
    this.o = options;
    this.name = options.name ?? `${hostname()}:${process.pid}-${randomBytes(2).toString('hex')}`;
    this.queues = [...options.queues];
    this.keys = keys(options.namespace);
    this.slots = options.concurrency ?? defaults.concurrency;
    this.jobs = new Map(Object.entries(options.jobs).map(([k, v]) => [k, typeof v === 'function' ? v : v.perform]));
    this.ackAtOnce = new Set(Object.entries(options.jobs).flatMap(([k, v]) => (typeof v !== 'function' && v.ackAtOnce ? [k] : [])));
    const statusTtlMs = options.statusTtlMs ?? defaults.statusTtlMs;
    // What the three parts share: one client, one key layout, one name, one error event.
    const parts = { redis: options.redis, keys: this.keys, worker: this.name, onError: (err: Error) => this.emit('error', err) };
    this.heartbeat = new Heartbeat({
      ...parts,
      queues: this.queues,
      intervalMs: options.heartbeatIntervalMs ?? defaults.heartbeatIntervalMs,
      ttlMs: options.heartbeatTtlMs ?? defaults.heartbeatTtlMs,
      onLost: () => {
        this.emit('error', new Error(`worker ${this.name} was declared dead and its jobs handed back; dropping what it held`));
        this.fetcher.lost();
      },
    });
    this.acks = new AckBatcher({
      ...parts,
      queues: this.queues.join(','),
      statusTtlMs,
      isRunning: (job) => this.running.has(job),
      isIdle: () => this.running.size === 0,
      onAcked: (d) => this.emit('success', d.job, d.result, d.durationMs),
    });
    this.fetcher = new Fetcher({
      ...parts,
      queues: this.queues,
      capacity: () => (this.state === 'running' ? this.slots - this.running.size : 0),
      held: () => [...[...this.running].map((j) => j.payload), ...this.acks.payloads()],
      onReserved: () => this.pump(),
      prefetch: options.prefetch ?? defaults.prefetch,
      blockTimeoutMs: options.blockTimeoutMs ?? defaults.blockTimeoutMs,
    });
  }

  get concurrency(): number {
    return this.slots;
  }
  /** Jobs running now. */
  get active(): number {
    return this.running.size;
  }
  /** Jobs reserved and waiting for a free slot. */
  get prefetched(): number {
    return this.fetcher.buffered;
  }

  /** Changes how many jobs run at once, now: new slots start at once, removed ones finish their job first. */
  setConcurrency(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new Error(`concurrency must be a whole number >= 0, got ${n}`);
    this.slots = n;
    this.pump();
  }

  /** Registers the worker, starts its heartbeat and begins taking jobs. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('a worker starts once');
    this.state = 'running';
    this.connectedOnce = this.o.redis.status === 'ready';
    this.o.redis.on('ready', this.onReady);
    await this.heartbeat.start();
    await this.fetcher.start();
  }

  private readonly onReady = () => {
    // The first "ready" is the connection coming up; later ones are reconnects.
    if (!this.connectedOnce) {
      this.connectedOnce = true;
      return;
    }
    this.heartbeat.tick();
    this.fetcher.reconnected();
  };

  /** Starts reserved jobs while slots are free. */
  private pump(): void {
    while (this.state === 'running' && this.running.size < this.slots) {
      const next = this.fetcher.take();
      if (!next) break;
      void this.perform(next.job, next.error);
    }
    this.fetcher.wake();
  }

  private async perform(job: Job, invalid: Error | undefined): Promise<void> {
    this.running.add(job);
    const started = performance.now();
    try {
      if (invalid) throw invalid;
      const fn = this.jobs.get(job.class);
      if (!fn) throw new UnknownJobError(`no job named "${job.class}" on this worker (it knows: ${[...this.jobs.keys()].join(', ')})`);
      this.acks.started(job);
      this.emit('job', job);
      const result = await fn.apply(job, job.args);
      this.acks.succeeded({ job, result, durationMs: performance.now() - started }, this.ackAtOnce.has(job.class));
    } catch (err) {
      await this.failed(job, toError(err), performance.now() - started, invalid !== undefined || err instanceof UnknownJobError);
    } finally {
      this.running.delete(job);
      if (this.running.size === 0) this.idle?.();
      this.pump();
    }
  }

  /** Retry with backoff while attempts remain; otherwise the failed list. The write is retried until Redis has it. */
  private async failed(job: Job, error: Error, durationMs: number, permanent: boolean): Promise<void> {
    const k = this.keys;
    const maxAttempts = this.o.maxAttempts ?? defaults.maxAttempts;
    const statusTtlMs = this.o.statusTtlMs ?? defaults.statusTtlMs;
    const isPermanent = this.o.isPermanent ?? ((e: unknown) => (e as { permanent?: unknown }).permanent === true);
    const retry = !permanent && !isPermanent(error) && job.attempt < maxAttempts;
    this.acks.forget(job);
    let delayMs = 0;
    const write = retry
      ? () => {
          delayMs = this.o.backoff?.(job.attempt) ?? backoffMs(job.attempt, defaults.backoffBaseMs, defaults.backoffMaxMs);
          const runAt = Date.now() + delayMs;
          const second = Math.ceil(runAt / 1000);
          const next = nextAttemptPayload(job);
          return run(this.o.redis, 'retry', [k.processing(this.name), k.schedule, k.delayed(second), k.timestamps(next), k.queued], [
            job.payload, next, second, statusTtlMs, Date.now(), job.attempt, error.message, runAt, k.prefix, job.id ?? '',
          ]);
        }
      : () =>
          run(this.o.redis, 'fail', [k.processing(this.name), k.failed, k.failedCount, k.workerFailed(this.name), k.queued], [
            job.payload, JSON.stringify(failureRecord(this.name, job, error)), statusTtlMs, Date.now(), job.attempt, error.message, k.prefix, job.id ?? '',
          ]);
    for (let tries = 0; ; tries++) {
      try {
        await write();
        break;
      } catch (err) {
        if (this.state === 'stopped') return; // deregistration handed the job back already
        this.emit('error', toError(err));
        await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** tries)));
      }
    }
    this.acks.touched();
    if (retry) this.emit('retry', job, error, delayMs);
    else this.emit('failure', job, error, durationMs);
  }

  /**
   * Graceful stop: take no more jobs, let running ones finish (up to
   * timeoutMs), write their acks, then deregister - which hands anything still
   * reserved (prefetched, or unfinished at the timeout) back to the head of its
   * queue. The Redis client passed in stays open: it belongs to the caller.
   */
  async stop(timeoutMs: number = defaults.stopTimeoutMs): Promise<StopResult> {
    if (this.state !== 'running') return { unfinished: 0, handedBack: 0 };
    this.state = 'stopping';
    await this.fetcher.stop();
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idle = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.idle = undefined;
    }
    const unfinished = this.running.size;
    await this.acks.drain();
    this.heartbeat.stop();
    this.o.redis.off('ready', this.onReady);
    const k = this.keys;
    const result = await run<(string | number)[]>(this.o.redis, 'recover', [k.heartbeats, k.workers, k.queues, k.failed, k.failedCount], [
      k.prefix, 1, new Date().toString(), this.name,
    ]);
    this.state = 'stopped';
    return { unfinished, handedBack: Number(result[1] ?? 0) };
  }
}
