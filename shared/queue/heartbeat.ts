// A worker's heartbeat: every interval, one script pushes its deadline in the
// heartbeats zset (by Redis's clock) and refreshes its resque registration and
// node-resque's ping record. If Redis says it was not registered - it was
// declared dead while cut off, and its jobs were handed back - the worker is
// told, so it can drop what it holds instead of running it twice.
import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';
import { run } from './scripts.ts';

export interface HeartbeatOptions {
  redis: Redis;
  keys: Keys;
  /** The worker's name. */
  worker: string;
  queues: string[];
  intervalMs: number;
  ttlMs: number;
  /** Called when a beat finds the worker had been deregistered. */
  onLost(): void;
  onError(err: Error): void;
}

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private beating = false;

  constructor(private readonly o: HeartbeatOptions) {}

  get registration(): string {
    return `${this.o.worker}:${this.o.queues.join(',')}`;
  }

  /** One beat; resolves with whether the worker was registered before it. */
  async beat(): Promise<boolean> {
    const { keys: k, worker: name, queues, ttlMs } = this.o;
    const csv = queues.join(',');
    const known = await run<number>(
      this.o.redis,
      'heartbeat',
      [k.heartbeats, k.workers, k.ping(name), k.started(name, csv)],
      [name, this.registration, ttlMs, csv],
    );
    return known === 1;
  }

  /** Registers (first beat), then beats every interval until stop(). */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => this.tick(), this.o.intervalMs);
  }

  /** A beat now, e.g. right after a reconnect, instead of waiting for the timer. */
  tick(): void {
    if (this.beating) return; // a slow beat is still in flight: do not pile them up
    this.beating = true;
    this.beat()
      .then((known) => {
        if (!known && this.timer) this.o.onLost();
      })
      .catch((err: Error) => this.o.onError(err))
      .finally(() => {
        this.beating = false;
      });
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
