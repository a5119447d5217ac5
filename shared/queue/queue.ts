// The producer side: enqueue now, at a time or after a delay (the talk's API,
// node-resque's argument order), and read what is there: job status, stats,
// delayed jobs (run one now or remove it), failed jobs (retry or remove them).
// Every change is one Lua script or one MULTI, so each is atomic. A Queue holds no connection of its own:
// it uses the client it is given, which the web process shares with nothing
// else and a worker process shares with its Worker and Scheduler.
import type { Redis } from 'ioredis';
import { defaults } from './defaults.ts';
import { checkQueueName, encodePayload, newJobId, type FailureRecord } from './job.ts';
import { keys, type Keys } from './keys.ts';
import { pipeline, queueOn, run } from './scripts.ts';
import { readStats, type QueueStats } from './stats.ts';
import { perTurn } from '../per-turn.ts';

export interface QueueOptions {
  redis: Redis;
  namespace?: string;
  /** How long a job's status is kept after its last change; 0 = keep none (and no duplicate-id check). */
  statusTtlMs?: number;
}

export interface EnqueueOptions {
  /** Job id; a new one (newJobId) when left out. An id that still has a status is not enqueued twice. */
  id?: string;
}

export type JobState = 'queued' | 'delayed' | 'working' | 'succeeded' | 'failed';

export interface JobStatus {
  id: string;
  state: JobState;
  queue: string;
  class: string;
  /** Attempts started so far (0 while it waits for its first run). */
  attempts: number;
  /** The error of the last failed attempt, if any. */
  error: string | undefined;
  enqueuedAt: number;
  updatedAt: number;
  /** When a delayed job (or the next retry) is due, ms. */
  runAt: number | undefined;
}

/** One delayed job as stored: the unix second it is due and its exact payload string. */
export interface DelayedJob {
  second: number;
  payload: string;
}

/** The queue and id a stored payload names ("" for either when it names none, or is not JSON). */
function payloadTarget(payload: string): { queue: string; id: string } {
  try {
    const data = JSON.parse(payload) as { queue?: unknown; id?: unknown } | null;
    return { queue: typeof data?.queue === 'string' ? data.queue : '', id: typeof data?.id === 'string' ? data.id : '' };
  } catch {
    return { queue: '', id: '' };
  }
}

/** A waiting job's compact status, "<enqueued_at>|<queue>|<class>", as the fields of its own status hash. */
function queuedStatus(compact: string): Record<string, string> {
  const [, at = '', queue = '', className = ''] = /^(\d+)\|([^|]*)\|(.*)$/s.exec(compact) ?? [];
  return { state: 'queued', queue, class: className, attempts: '0', enqueued_at: at, updated_at: at };
}

export class Queue {
  readonly redis: Redis;
  readonly keys: Keys;
  private readonly statusTtlMs: number;

  constructor(options: QueueOptions) {
    this.redis = options.redis;
    this.keys = keys(options.namespace);
    this.statusTtlMs = options.statusTtlMs ?? defaults.statusTtlMs;
  }

  /**
   * Adds a job to the tail of `queue`; resolves with its id once Redis has it.
   * The jobs enqueued in one turn of the event loop (a web process answering
   * many requests at once) go to Redis in one script call, in the order they
   * were enqueued: one round trip and one command for Redis to run, not one
   * per job. Each still resolves only once Redis has it.
   */
  async enqueue(queue: string, className: string, args: unknown[] = [], options: EnqueueOptions = {}): Promise<string> {
    checkQueueName(queue);
    const id = options.id ?? newJobId();
    await this.enqueuer(queue)({ id, payload: encodePayload(queue, className, args, id, Date.now()), className });
    return id;
  }

  private readonly enqueuers = new Map<string, (job: { id: string; payload: string; className: string }) => Promise<number>>();

  /** Sends the jobs of one turn for `queue` in one enqueue script (shared/per-turn.ts). */
  private enqueuer(queue: string) {
    let add = this.enqueuers.get(queue);
    if (!add) {
      const k = this.keys;
      add = perTurn((jobs: { id: string; payload: string; className: string }[]) =>
        run<number[]>(this.redis, 'enqueue', [k.queues, k.queue(queue), k.wake(queue), k.queued], [
          queue, this.statusTtlMs, Date.now(), k.prefix, ...jobs.flatMap((j) => [j.payload, j.className, j.id]),
        ]),
      );
      this.enqueuers.set(queue, add);
    }
    return add;
  }

  /** Many jobs of one class in one round trip (each still its own atomic script). */
  async enqueueMany(queue: string, className: string, argsList: unknown[][]): Promise<string[]> {
    checkQueueName(queue);
    const k = this.keys;
    const now = Date.now();
    const pipe = pipeline(this.redis);
    const ids = argsList.map((args) => {
      const id = newJobId();
      queueOn(pipe, 'enqueue', [k.queues, k.queue(queue), k.wake(queue), k.queued], [queue, this.statusTtlMs, now, k.prefix, encodePayload(queue, className, args, id, now), className, id]);
      return id;
    });
    const results = (await pipe.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    return ids;
  }

  /**
   * Runs the job at `timestampMs` or later, never earlier: resque schedules by
   * the second, so the job waits for the first whole second at or after it.
   */
  async enqueueAt(timestampMs: number, queue: string, className: string, args: unknown[] = [], options: EnqueueOptions = {}): Promise<string> {
    checkQueueName(queue);
    const id = options.id ?? newJobId();
    const now = Date.now();
    const second = Math.ceil(timestampMs / 1000);
    const payload = encodePayload(queue, className, args, id, now);
    const k = this.keys;
    await run(this.redis, 'schedule', [k.schedule, k.delayed(second), k.timestamps(payload), k.job(id)], [
      second, payload, this.statusTtlMs, now, queue, className, Math.round(timestampMs), k.prefix, id,
    ]);
    return id;
  }

  enqueueIn(delayMs: number, queue: string, className: string, args: unknown[] = [], options: EnqueueOptions = {}): Promise<string> {
    return this.enqueueAt(Date.now() + delayMs, queue, className, args, options);
  }

  /**
   * The job's status, or null when it is unknown or its status expired. Both
   * places a status can be (lua/includes/status.lua) are read in one MULTI, so
   * a job that starts between two reads is not missed in both.
   */
  async status(id: string): Promise<JobStatus | null> {
    const k = this.keys;
    const replies = ((await this.redis.multi().hget(k.queued, id).hgetall(k.job(id)).exec()) ?? []).map(([err, v]) => {
      if (err) throw err;
      return v;
    });
    const [compact, hash] = replies as [string | null, Record<string, string>];
    const h = compact === null ? hash : queuedStatus(compact);
    if (!h.state) return null;
    const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
    return {
      id,
      state: h.state as JobState,
      queue: h.queue ?? '',
      class: h.class ?? '',
      attempts: num(h.attempts) ?? 0,
      error: h.error,
      enqueuedAt: num(h.enqueued_at) ?? 0,
      updatedAt: num(h.updated_at) ?? 0,
      runAt: num(h.run_at),
    };
  }

  length(queue: string): Promise<number> {
    return this.redis.llen(this.keys.queue(queue));
  }

  stats(): Promise<QueueStats> {
    return readStats(this.redis, this.keys);
  }

  /** The first `limit` delayed jobs (scheduled ones and retries waiting out their backoff), soonest first, and how many there are in all. */
  async delayed(limit: number): Promise<{ total: number; items: DelayedJob[] }> {
    const k = this.keys;
    const all = await this.redis.zrange(k.schedule, '0', '-1');
    const seconds = all.slice(0, limit).map(Number);
    const pipe = this.redis.pipeline();
    for (const s of all) pipe.llen(k.delayed(Number(s)));
    for (const s of seconds) pipe.lrange(k.delayed(s), 0, limit - 1);
    const values = ((await pipe.exec()) ?? []).map(([err, v]) => {
      if (err) throw err;
      return v;
    });
    const total = values.slice(0, all.length).reduce<number>((n, v) => n + Number(v), 0);
    const lists = values.slice(all.length) as string[][];
    const items = seconds.flatMap((second, i) => lists[i]!.map((payload) => ({ second, payload }))).slice(0, limit);
    return { total, items };
  }

  /** Every payload due at one unix second, as stored. */
  delayedAt(second: number): Promise<string[]> {
    return this.redis.lrange(this.keys.delayed(second), 0, -1);
  }

  /**
   * Moves one delayed job (its second and exact payload, as delayed() lists
   * them) to the tail of its queue now; false when it is no longer due at that
   * second (the scheduler moved it meanwhile, or it was removed).
   */
  async enqueueDelayedNow(second: number, payload: string): Promise<boolean> {
    const { queue, id } = payloadTarget(payload);
    if (queue === '') throw new Error('this delayed payload names no queue to enqueue it in');
    const k = this.keys;
    const done = await run<number>(this.redis, 'enqueueDelayedNow', [
      k.schedule, k.delayed(second), k.timestamps(payload), k.queues, k.queue(queue), k.wake(queue), k.job(id),
    ], [second, payload, queue, Date.now()]);
    return done === 1;
  }

  /** Removes one delayed job and its status; false when it is no longer due at that second. */
  async removeDelayed(second: number, payload: string): Promise<boolean> {
    const { id } = payloadTarget(payload);
    const k = this.keys;
    const done = await run<number>(this.redis, 'removeDelayed', [k.schedule, k.delayed(second), k.timestamps(payload), k.job(id)], [
      second, payload, id === '' ? '0' : '1',
    ]);
    return done === 1;
  }

  /** Failure records, oldest first; `stop` -1 means to the end. */
  async failed(start = 0, stop = -1): Promise<FailureRecord[]> {
    const raw = await this.redis.lrange(this.keys.failed, start, stop);
    return raw.map((r) => JSON.parse(r) as FailureRecord);
  }

  failedCount(): Promise<number> {
    return this.redis.llen(this.keys.failed);
  }

  /**
   * Removes one failed entry; false if it was not there. Pass the exact string
   * stored in the list when you have it: records written by Lua (recovery,
   * moved delayed jobs) are encoded by cjson, and re-encoding a parsed record
   * in JavaScript may not give the same bytes.
   */
  async removeFailed(entry: FailureRecord | string): Promise<boolean> {
    return (await this.redis.lrem(this.keys.failed, 1, typeof entry === 'string' ? entry : JSON.stringify(entry))) === 1;
  }

  /** Empties the failed list in one step; resolves with how many records it held. */
  async removeAllFailed(): Promise<number> {
    const k = this.keys;
    const [[, removed]] = (await this.redis.multi().llen(k.failed).del(k.failed).exec()) as [[Error | null, number], unknown];
    return removed;
  }

  /** Takes one record off the failed list and enqueues its job again with a fresh attempt count, atomically. */
  async retryFailed(entry: FailureRecord | string): Promise<boolean> {
    const stored = typeof entry === 'string' ? entry : JSON.stringify(entry);
    const record = typeof entry === 'string' ? (JSON.parse(entry) as FailureRecord) : entry;
    const payload = record.payload;
    if (typeof payload !== 'object' || payload === null || typeof (payload as { class?: unknown }).class !== 'string') {
      throw new Error('this failed job has no readable payload to run again');
    }
    const data = { ...(payload as Record<string, unknown>) };
    delete data.attempt;
    const queue = typeof data.queue === 'string' && data.queue !== '' ? data.queue : record.queue;
    const id = typeof data.id === 'string' ? data.id : '';
    const k = this.keys;
    const done = await run<number>(this.redis, 'retryFailed', [k.failed, k.queues, k.queue(queue), k.wake(queue), k.job(id)], [
      stored, JSON.stringify(data), queue, this.statusTtlMs, Date.now(), String(data.class), id,
    ]);
    return done === 1;
  }
}
