// The scheduler: one leader at a time (a lock with an expiry, renewed while it
// lives) does the periodic work that must not wait for a job to arrive:
//   - moves due delayed jobs (enqueueAt/enqueueIn, retries) to their queues,
//     each in one Lua step, so a crash mid-move loses nothing;
//   - hands the processing list of every dead worker (heartbeat expired) back
//     to the head of its queues: a job of a kill -9'd worker runs again within
//     seconds, not after node-resque's hour;
//   - walks the compact statuses of waiting jobs, a step at a time, dropping
//     those older than the status TTL (lua/sweepQueued.lua).
// Every worker process runs one, so whichever process survives leads. The lock
// only saves work: both scripts are atomic, so two leaders overlapping during a
// lock hand-over do no harm.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { defaults } from './defaults.ts';
import { toError, type Recovery, type SchedulerEvents } from './events.ts';
import { keys, type Keys } from './keys.ts';
import { run } from './scripts.ts';

export interface SchedulerOptions {
  redis: Redis;
  namespace?: string;
  /** Shown as the lock's value (with a random suffix); default "<hostname>:<pid>". */
  name?: string;
  pollMs?: number;
  leaderLockTtlMs?: number;
  leaderRenewMs?: number;
  recoveryIntervalMs?: number;
  moveBatch?: number;
  /** The status TTL the queues use (Queue's statusTtlMs): older compact statuses of waiting jobs are dropped. */
  statusTtlMs?: number;
  /** Compact statuses the sweep looks at per step, at least; one step runs with each look for dead workers. */
  sweepBatch?: number;
  /** Steps one walk over all compact statuses takes at most (bigger steps for a bigger hash). */
  sweepPassSteps?: number;
  /**
   * After a reconnect, judge nobody dead for this long: the workers were cut off
   * too, and need a beat to show they are alive. Use the workers' heartbeat TTL.
   */
  heartbeatTtlMs?: number;
  /**
   * The same grace, when it must be longer than the TTL: a Sentinel failover
   * cuts every process off at once, and each finds the new primary on its own
   * retry schedule. Default: heartbeatTtlMs. The gap itself never counts: the
   * grace starts when this scheduler's connection is back.
   */
  reconnectGraceMs?: number;
}

export class Scheduler extends EventEmitter<SchedulerEvents> {
  readonly keys: Keys;
  readonly token: string;
  private readonly redis: Redis;
  private readonly o: Required<Omit<SchedulerOptions, 'redis' | 'namespace' | 'name'>>;
  private leading = false;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private nextLockAt = 0;
  private nextRecoveryAt = 0;
  private graceUntil = 0;
  private connectedOnce = false;
  private sweepCursor = '0';
  private sweepStep = 0;

  constructor(options: SchedulerOptions) {
    super();
    this.redis = options.redis;
    this.keys = keys(options.namespace);
    this.token = `${options.name ?? `${hostname()}:${process.pid}`}:${randomBytes(3).toString('hex')}`;
    this.o = {
      pollMs: options.pollMs ?? defaults.schedulerPollMs,
      leaderLockTtlMs: options.leaderLockTtlMs ?? defaults.leaderLockTtlMs,
      leaderRenewMs: options.leaderRenewMs ?? defaults.leaderRenewMs,
      recoveryIntervalMs: options.recoveryIntervalMs ?? defaults.recoveryIntervalMs,
      moveBatch: options.moveBatch ?? defaults.moveBatch,
      statusTtlMs: options.statusTtlMs ?? defaults.statusTtlMs,
      sweepBatch: options.sweepBatch ?? defaults.sweepBatch,
      sweepPassSteps: options.sweepPassSteps ?? defaults.sweepPassSteps,
      heartbeatTtlMs: options.heartbeatTtlMs ?? defaults.heartbeatTtlMs,
      reconnectGraceMs: options.reconnectGraceMs ?? options.heartbeatTtlMs ?? defaults.heartbeatTtlMs,
    };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  private readonly onReady = () => {
    if (!this.connectedOnce) {
      this.connectedOnce = true;
      return;
    }
    this.graceUntil = Date.now() + this.o.reconnectGraceMs;
    this.nextLockAt = 0;
  };

  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.connectedOnce = this.redis.status === 'ready';
    this.redis.on('ready', this.onReady);
    this.ticking = this.tick();
    await this.ticking;
  }

  /** Stops the loop and gives up the lock, so another scheduler leads at once. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.redis.off('ready', this.onReady);
    await this.ticking;
    if (this.leading) {
      this.leading = false;
      await run(this.redis, 'unlock', [this.keys.leader], [this.token]);
      this.emit('leader', false);
    }
  }

  private async tick(): Promise<void> {
    try {
      const now = Date.now();
      if (now >= this.nextLockAt) {
        this.nextLockAt = now + this.o.leaderRenewMs;
        const lead = (await run<number>(this.redis, 'lock', [this.keys.leader], [this.token, this.o.leaderLockTtlMs])) === 1;
        if (lead !== this.leading) {
          this.leading = lead;
          this.emit('leader', lead);
        }
      }
      if (this.leading) {
        await this.moveDueJobs();
        if (now >= this.nextRecoveryAt && now >= this.graceUntil) {
          this.nextRecoveryAt = now + this.o.recoveryIntervalMs;
          await this.recoverDeadWorkers();
          await this.sweepQueuedStatuses();
        }
      }
    } catch (err) {
      this.nextLockAt = 0; // check the lock first thing once Redis answers again
      this.emit('error', toError(err));
    } finally {
      if (!this.stopped) {
        this.timer = setTimeout(() => (this.ticking = this.tick()), this.leading ? this.o.pollMs : this.o.leaderRenewMs);
      }
    }
  }

  /** Moves every due delayed job to its queue; resolves with how many moved. */
  async moveDueJobs(): Promise<number> {
    const k = this.keys;
    let total = 0;
    for (;;) {
      const [moved] = await run<[number, number]>(this.redis, 'moveDue', [k.schedule, k.queues, k.failed, k.failedCount], [
        k.prefix, this.o.moveBatch, new Date().toString(),
      ]);
      total += moved;
      if (moved < this.o.moveBatch) break;
    }
    if (total > 0) this.emit('moved', total);
    return total;
  }

  /**
   * One step of the walk over the compact statuses of waiting jobs: looks at
   * about sweepBatch of them (more when there are more than sweepBatch x
   * sweepPassSteps) and drops those enqueued longer ago than the status TTL.
   * Resolves with how many it dropped.
   */
  async sweepQueuedStatuses(): Promise<number> {
    if (this.o.statusTtlMs <= 0) return 0;
    const [cursor, dropped, step] = await run<[string, number, number]>(this.redis, 'sweepQueued', [this.keys.queued], [
      this.sweepCursor, this.sweepCursor === '0' ? this.o.sweepBatch : this.sweepStep, Date.now(), this.o.statusTtlMs, this.o.sweepPassSteps,
    ]);
    this.sweepCursor = cursor;
    this.sweepStep = step;
    return dropped;
  }

  /** Hands back the jobs of every worker whose heartbeat expired. */
  async recoverDeadWorkers(): Promise<Recovery[]> {
    const k = this.keys;
    const flat = await run<(string | number)[]>(this.redis, 'recover', [k.heartbeats, k.workers, k.queues, k.failed, k.failedCount], [
      k.prefix, 100, new Date().toString(), '',
    ]);
    const recovered: Recovery[] = [];
    for (let i = 0; i < flat.length; i += 2) recovered.push({ worker: String(flat[i]), jobs: Number(flat[i + 1]) });
    for (const r of recovered) this.emit('recovered', r);
    return recovered;
  }
}
