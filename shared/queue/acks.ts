// Batches the worker's bookkeeping writes. A job that succeeds frees its slot
// at once; its ack joins the others finished in the same turn of the event
// loop and they go to Redis in one script call. That is most of the speed of
// a no-op job: one round trip per batch, not per job.
//
// The guarantee is unchanged: until its ack lands, a job is still in the
// processing list, so a crash in between runs it again (at least once, like
// every queue that acks after the work). Writes that fail (Redis restarting)
// are kept and tried again: every script ignores a job no longer reserved, so
// a write that landed twice does nothing the second time.
import type { Redis } from 'ioredis';
import type { Job } from './job.ts';
import type { Keys } from './keys.ts';
import { run } from './scripts.ts';

export interface Done {
  job: Job;
  result: unknown;
  durationMs: number;
}

export interface AckBatcherOptions {
  redis: Redis;
  keys: Keys;
  worker: string;
  queues: string;
  statusTtlMs: number;
  /** Is this job still running (its start is worth recording)? */
  isRunning(job: Job): boolean;
  /** Is the worker running nothing now (its working-on record can go)? */
  isIdle(): boolean;
  onAcked(done: Done): void;
  onError(err: Error): void;
}

export class AckBatcher {
  private starts: Job[] = [];
  private acks: Done[] = [];
  /** Acks sent and not yet confirmed: still "held" by this worker. */
  readonly inFlight = new Set<Done>();
  private scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private workingOnSet = false;
  private failures = 0;

  constructor(private readonly o: AckBatcherOptions) {}

  get pending(): number {
    return this.acks.length + this.inFlight.size;
  }

  /** Payloads this batcher still owes Redis an ack for. */
  *payloads(): Iterable<string> {
    for (const d of this.acks) yield d.job.payload;
    for (const d of this.inFlight) yield d.job.payload;
  }

  started(job: Job): void {
    this.starts.push(job);
    this.schedule();
  }

  /** `atOnce`: send it now, with whatever else is pending, not at the end of the turn (Jobs' ackAtOnce says why). */
  succeeded(done: Done, atOnce = false): void {
    this.acks.push(done);
    // After a failed write the retry waits out its backoff: Redis is not answering anyway.
    if (atOnce && this.failures === 0) this.flushNow();
    else this.schedule();
  }

  /** A job failed before its start was sent: do not record it as working after its failure. */
  forget(job: Job): void {
    const i = this.starts.indexOf(job);
    if (i >= 0) this.starts.splice(i, 1);
  }

  /** After a retry or a failure: the working-on record may have to go. */
  touched(): void {
    this.schedule();
  }

  /**
   * Sends everything pending and waits until Redis has it (graceful stop).
   * While Redis is unreachable it keeps trying; the caller's hard-stop timer
   * bounds the wait, and whatever is not acked stays in the processing list.
   */
  async drain(): Promise<void> {
    while (this.acks.length > 0 || this.inFlight.size > 0) {
      if (this.acks.length > 0 && this.inFlight.size === 0) this.flushNow();
      await this.flushing;
      if (this.acks.length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private flushNow(): void {
    clearTimeout(this.scheduled as NodeJS.Timeout);
    clearImmediate(this.scheduled as NodeJS.Immediate);
    this.scheduled = undefined;
    this.flush();
  }

  private schedule(delayMs = 0): void {
    if (this.scheduled) return;
    const go = () => {
      this.scheduled = undefined;
      this.flush();
    };
    this.scheduled = delayMs > 0 ? setTimeout(go, delayMs) : setImmediate(go);
  }

  private flush(): void {
    const { redis, keys: k, worker, queues, statusTtlMs } = this.o;
    const acks = this.acks.splice(0);
    const starts = this.starts.splice(0).filter((j) => this.o.isRunning(j));
    const idle = this.o.isIdle();
    const now = Date.now();
    const writes: Promise<unknown>[] = [];
    if (acks.length > 0 || (idle && this.workingOnSet)) {
      for (const d of acks) this.inFlight.add(d);
      const args: (string | number)[] = [k.prefix, statusTtlMs, now, idle && starts.length === 0 ? '1' : '0'];
      for (const d of acks) args.push(d.job.payload, d.job.id ?? '', d.job.attempt);
      writes.push(
        run(redis, 'ack', [k.processing(worker), k.processed, k.workerProcessed(worker), k.workingOn(worker, queues)], args).then(
          () => {
            for (const d of acks) {
              this.inFlight.delete(d);
              this.o.onAcked(d);
            }
            if (idle && starts.length === 0) this.workingOnSet = false;
          },
          (err: Error) => {
            for (const d of acks) this.inFlight.delete(d);
            this.acks.unshift(...acks); // kept: tried again below
            throw err;
          },
        ),
      );
    }
    const latest = starts[starts.length - 1];
    if (latest) {
      const record = JSON.stringify({ run_at: new Date(now).toISOString(), queue: latest.queue, payload: safeParse(latest.payload), worker });
      const args: (string | number)[] = [record, k.prefix, statusTtlMs, now];
      for (const j of starts) if (j.id !== undefined) args.push(j.id, j.attempt);
      this.workingOnSet = true;
      writes.push(run(redis, 'start', [k.workingOn(worker, queues)], args));
    }
    if (writes.length === 0) return;
    this.flushing = Promise.all(writes).then(
      () => {
        this.failures = 0;
      },
      (err: Error) => {
        this.failures++;
        this.o.onError(err);
        this.schedule(Math.min(2000, 50 * 2 ** this.failures));
      },
    );
  }
}

function safeParse(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
}
