// Reliable fetch without a polling sleep. One loop per Worker:
//   - reserve: one Lua call moves as many jobs as there is room for from the
//     queues (priority order) into the worker's processing list;
//   - nothing there: block on Redis until something arrives. A worker on one
//     queue blocks in BLMOVE queue -> processing list, which hands it the job
//     in the same atomic step, whoever pushed it (our Queue, node-resque, Ruby).
//     A worker on several queues blocks on their wake-up markers (BLPOP), set
//     by our enqueue; blockTimeoutMs bounds the wait for jobs pushed by others.
// Nothing is ever popped without landing in the processing list in the same
// step. The reserved jobs wait here (`buffer`) until the Worker has a free slot.
//
// After a reconnect, a reply can be lost while its command ran (or ran twice:
// ioredis re-sends unanswered commands). So the loop then reconciles: what the
// processing list holds that this process does not, it adopts; what it holds
// that the list no longer has (recovery handed it back), it drops.
import type { Redis } from 'ioredis';
import { toError } from './events.ts';
import { decodePayload, type Job } from './job.ts';
import type { Keys } from './keys.ts';
import { run } from './scripts.ts';

export interface Reserved {
  job: Job;
  /** Set when the payload cannot run at all (not JSON, no class): it goes straight to failed. */
  error?: Error;
}

export interface FetcherOptions {
  redis: Redis;
  keys: Keys;
  worker: string;
  queues: string[];
  prefetch: number;
  blockTimeoutMs: number;
  /** Free job slots now (0 while stopping). */
  capacity(): number;
  /** Payloads this process holds outside the buffer: running, or waiting for their ack. */
  held(): Iterable<string>;
  /** New jobs are in the buffer. */
  onReserved(): void;
  onError(err: Error): void;
}

export class Fetcher {
  private buffer: Reserved[] = [];
  private blocking: Redis | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private waiter: (() => void) | undefined;
  // True at start too: a restarted worker that reuses a name adopts what its predecessor left.
  private needsReconcile = true;
  private paused = false;

  constructor(private readonly o: FetcherOptions) {}

  get buffered(): number {
    return this.buffer.length;
  }

  /** The next reserved job, unless reservations are in doubt (see lost()). */
  take(): Reserved | undefined {
    return this.paused ? undefined : this.buffer.shift();
  }

  /** Capacity may have changed: re-check instead of waiting. */
  wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  reconnected(): void {
    this.needsReconcile = true;
  }

  /** The worker was declared dead meanwhile: start nothing until the buffer is checked against Redis. */
  lost(): void {
    this.paused = true;
    this.needsReconcile = true;
    this.wake();
  }

  async start(): Promise<void> {
    // Blocking waits get their own connection, so commands never queue behind them.
    // It waits for Redis forever instead of failing commands while Redis restarts.
    const blocking = this.o.redis.duplicate({ maxRetriesPerRequest: null });
    let connected = false;
    blocking.on('ready', () => (connected ? this.reconnected() : (connected = true)));
    blocking.on('error', (err: Error) => this.o.onError(err));
    this.blocking = blocking;
    this.loop = this.run();
  }

  /** Stops taking jobs; what is still buffered stays reserved (the Worker hands it back). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    this.blocking?.disconnect(); // cuts a blocked BLMOVE short
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.needsReconcile) await this.reconcile();
        const room = this.o.capacity() + this.o.prefetch - this.buffer.length;
        // With prefetch, refill at half empty so slots never wait for a round trip.
        const lowWater = this.o.prefetch > 0 ? Math.ceil(this.o.prefetch / 2) : 1;
        if (room < lowWater) await new Promise<void>((resolve) => (this.waiter = resolve));
        else if ((await this.reserve(room)) === 0) await this.block();
        failures = 0;
      } catch (err) {
        if (this.stopped) break;
        this.needsReconcile = true;
        this.o.onError(toError(err));
        // Back off while Redis is away; this is error handling, not polling.
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 50 * 2 ** failures++)));
      }
    }
  }

  private accept(queue: string, payload: string): void {
    this.buffer.push(decodePayload(payload, queue));
  }

  private async reserve(count: number): Promise<number> {
    const { keys: k, queues } = this.o;
    const wake = queues.length > 1 ? queues.map((q) => k.wake(q)) : [];
    const flat = await run<(number | string)[]>(this.o.redis, 'reserve', [k.processing(this.o.worker), ...queues.map((q) => k.queue(q)), ...wake], [
      count,
      queues.length,
    ]);
    for (let i = 0; i < flat.length; i += 2) this.accept(queues[Number(flat[i]) - 1]!, String(flat[i + 1]));
    if (flat.length > 0) this.o.onReserved();
    return flat.length / 2;
  }

  private async block(): Promise<void> {
    const { keys: k, queues } = this.o;
    const seconds = this.o.blockTimeoutMs / 1000;
    if (queues.length === 1) {
      const queue = queues[0]!;
      const payload = await this.blocking!.blmove(k.queue(queue), k.processing(this.o.worker), 'LEFT', 'RIGHT', seconds);
      if (payload !== null && !this.stopped) {
        this.accept(queue, payload);
        this.o.onReserved();
      }
    } else {
      await this.blocking!.blpop(...queues.map((q) => k.wake(q)), seconds);
    }
  }

  private async reconcile(): Promise<void> {
    this.needsReconcile = false;
    const listed = await this.o.redis.lrange(this.o.keys.processing(this.o.worker), 0, -1);
    const count = new Map<string, number>();
    for (const p of listed) count.set(p, (count.get(p) ?? 0) + 1);
    const claim = (p: string) => {
      const n = count.get(p) ?? 0;
      if (n > 0) count.set(p, n - 1);
      return n > 0;
    };
    for (const p of this.o.held()) claim(p);
    this.buffer = this.buffer.filter((r) => claim(r.job.payload));
    for (const [payload, n] of count) {
      for (let i = 0; i < n; i++) this.accept(queueOf(payload) ?? this.o.queues[0]!, payload);
    }
    this.paused = false;
    if (this.buffer.length > 0) this.o.onReserved();
  }
}

function queueOf(payload: string): string | undefined {
  try {
    const q = (JSON.parse(payload) as { queue?: unknown }).queue;
    return typeof q === 'string' && q !== '' ? q : undefined;
  } catch {
    return undefined;
  }
}
