// One consumer of a consumer group: it reads entries with XREADGROUP BLOCK (no
// polling), runs `handle` on up to `concurrency` at once, and acknowledges each
// after it succeeded. Until then the entry is in the group's pending list, so
// nothing is lost when this process dies:
//   - on start a consumer reads its own pending entries first (id 0), so one
//     restarted under the same name picks up at once where it stopped;
//   - every consumer sweeps the group with XAUTOCLAIM: an entry idle longer
//     than `minIdleMs` - its consumer died, or its send failed - is claimed and
//     run again. minIdleMs must exceed the slowest run, or an entry still being
//     worked on is claimed and run twice.
// A stream has no delayed delivery, so that idle time *is* the wait before a
// retry: a failed entry is left pending, and retried when it has been idle for
// minIdleMs - retries are evenly spaced, not exponential. Each delivery counts;
// past `maxDeliveries`, or at once when `handle` throws a permanent error (a
// malformed entry, a 5xx), the entry goes to the dead letters with its error,
// and the consumer carries on.
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { perTurn } from '../per-turn.ts';
import type { EventStream } from './stream.ts';

export interface Entry {
  id: string;
  fields: Record<string, string>;
  /** This delivery included. */
  deliveries: number;
}

export interface ConsumerOptions {
  stream: EventStream;
  group: string;
  name: string;
  /** For commands; `blocking` is a second connection, for XREADGROUP BLOCK only. */
  redis: Redis;
  blocking: Redis;
  concurrency: number;
  minIdleMs: number;
  maxDeliveries: number;
  handle(entry: Entry): Promise<void>;
  /**
   * Acknowledges handled entries: every entry handled in one turn of the
   * event loop, in one call (one script, not one per entry). The default is
   * stream.ack (XACK, and the group's processed counter once per entry).
   */
  ack?(entries: Entry[]): Promise<void>;
  isPermanent(err: unknown): boolean;
  /** How long one XREADGROUP waits for new entries before it is sent again. */
  blockMs?: number;
}

export interface ConsumerEvents {
  handled: [entry: Entry, ms: number];
  /** Left pending: claimed again once idle for minIdleMs. */
  failed: [entry: Entry, err: Error];
  dead: [entry: { id: string }, error: string];
  /** Entries claimed from the group's pending list (a dead consumer's, or failed ones). */
  claimed: [count: number];
  /** Pending entries trimmed from the stream before they were acknowledged: lost to this group. */
  trimmed: [ids: string[]];
  error: [err: Error];
}

// Object.fromEntries defines each field as the object's own: a field named
// __proto__ (anyone can XADD one) stays a field the check refuses, where
// `fields[name] = value` would drop it silently and let the rest through.
const flat = (pairs: string[]): Record<string, string> => Object.fromEntries(pairs.flatMap((name, i) => (i % 2 === 0 && i + 1 < pairs.length ? [[name, pairs[i + 1]!]] : [])));

export class GroupConsumer extends EventEmitter<ConsumerEvents> {
  private readonly o: Required<ConsumerOptions>;
  private readonly running = new Map<string, Promise<void>>();
  private slotFree: (() => void) | undefined;
  private stopping = false;
  private sweeper: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  // Set by the sweep timer, cleared once a scan of the pending list finds nothing more to claim.
  private claimDue = false;
  private sweeping: Promise<void> | undefined;
  private reconnected = false;

  constructor(options: ConsumerOptions) {
    super();
    const { stream, group, blocking } = options;
    this.o = { ack: (entries: Entry[]) => stream.ack(group, entries.map((e) => e.id)), blockMs: 5_000, ...options };
    // A read whose reply a dropped connection cut off still delivered its entries to this consumer, and
    // ioredis's resent read fetches the next ones: read the own pending list again after every reconnect
    // (not after the first connect: the reader starts with its pending list anyway).
    let connected = blocking.status === 'ready';
    blocking.on('ready', () => (connected ? (this.reconnected = true) : (connected = true)));
  }

  get inFlight(): number {
    return this.running.size;
  }

  start(): void {
    this.reading = this.read().catch((err: Error) => void (this.stopping || this.emit('error', err)));
    // Claims are due once an entry is minIdleMs idle: look often enough (XAUTOCLAIM is cheap) to take it
    // well within a second of that, its send included.
    // With a free slot the timer claims at once (the reader may be blocked waiting for new entries); without
    // one, the reader claims before it reads anything new, so a backlog of new entries cannot starve old ones.
    const every = Math.min(250, Math.max(50, this.o.minIdleMs / 4));
    const tick = () => {
      this.claimDue = true;
      const free = this.running.size < this.o.concurrency;
      void (free ? this.sweep() : Promise.resolve()).finally(() => this.stopping || (this.sweeper = setTimeout(tick, every)));
    };
    this.sweeper = setTimeout(tick, every);
  }

  /** Stops reading and claiming; waits up to timeoutMs for running entries. Unfinished ones stay pending: someone claims them. */
  async stop(timeoutMs: number): Promise<{ unfinished: number }> {
    this.stopping = true;
    clearTimeout(this.sweeper);
    this.o.blocking.disconnect(); // ends a blocking read at once
    this.slotFree?.();
    await this.reading;
    await this.sweeping;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(this.running.values()), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    return { unfinished: this.running.size };
  }

  private async read(): Promise<void> {
    const { stream, group, name, blocking, concurrency, blockMs } = this.o;
    let from = '0'; // own pending entries first, then '>' (never delivered to anyone)
    while (!this.stopping) {
      if (this.running.size >= concurrency) await new Promise<void>((resolve) => (this.slotFree = resolve));
      if (this.stopping) return;
      if (this.claimDue) await this.sweep();
      if (this.running.size >= concurrency) continue;
      if (this.reconnected) [from, this.reconnected] = ['0', false];
      const wait = from === '>' ? ['BLOCK', blockMs] : [];
      let entries: [string, string[] | null][];
      try {
        const reply = (await blocking.xreadgroup('GROUP', group, name, 'COUNT', concurrency - this.running.size, ...(wait as ['BLOCK', number]), 'STREAMS', stream.name, from)) as
          | [string, [string, string[] | null][]][]
          | null;
        entries = reply?.[0]?.[1] ?? [];
      } catch (err) {
        if (this.stopping) return;
        // A command refused (the group deleted, Redis restarted without its data): say so, and try again shortly.
        this.emit('error', err as Error);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        continue;
      }
      if (from === '>') {
        for (const [id, pairs] of entries) this.run({ id, fields: flat(pairs ?? []), deliveries: 1 });
      } else if (entries.length === 0) from = '>';
      else {
        from = entries.at(-1)![0];
        await this.runPending(entries);
      }
    }
  }

  /** Entries already delivered before (own pending, or claimed): their delivery count decides whether they run again. */
  private async runPending(entries: [string, string[] | null][]): Promise<void> {
    const { stream, group, redis, maxDeliveries, name } = this.o;
    const deleted = entries.filter(([, pairs]) => pairs === null).map(([id]) => id);
    if (deleted.length > 0) await this.lostToTrimming(deleted, true);
    const live = entries.filter(([id, pairs]) => pairs !== null && !this.running.has(id)) as [string, string[]][];
    const counts = redis.pipeline();
    for (const [id] of live) counts.xpending(stream.name, group, id, id, 1);
    const replies = (await counts.exec()) ?? [];
    for (const [i, [id, pairs]] of live.entries()) {
      // [id, consumer, idle ms, deliveries], asked after the filter above: an entry this consumer finished
      // after Redis wrote the read's reply was acknowledged before this question, and is not run again.
      const pending = (replies[i]?.[1] as [string, string, number, number][] | undefined)?.[0];
      if (pending?.[1] !== name) continue;
      const deliveries = Number(pending[3]);
      const entry = { id, fields: flat(pairs), deliveries };
      if (deliveries <= maxDeliveries) this.run(entry);
      else {
        const last = await stream.lastFailure(group, id);
        const error = `gave up after ${maxDeliveries} deliveries${last === null ? '' : `; the last failed with: ${last}`}`;
        await stream.deadLetter(group, entry, name, deliveries, error);
        this.emit('dead', entry, error);
      }
    }
  }

  /** Claims what is due, as far as there is room; one sweep at a time (the timer's, or the reader's). */
  private sweep(): Promise<void> {
    this.sweeping ??= this.claim()
      .catch((err: Error) => void this.emit('error', err))
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async claim(): Promise<void> {
    const { stream, group, name, redis, minIdleMs, concurrency } = this.o;
    let cursor = '0-0';
    do {
      const room = concurrency - this.running.size;
      if (this.stopping || room <= 0) return; // still due: the reader claims when a slot frees
      const [next, entries, deleted] = (await redis.xautoclaim(stream.name, group, name, minIdleMs, cursor, 'COUNT', room)) as [string, [string, string[] | null][], string[]];
      if (deleted.length > 0) await this.lostToTrimming(deleted, false);
      if (entries.length > 0) {
        this.emit('claimed', entries.length);
        await this.runPending(entries);
      }
      cursor = next;
    } while (cursor !== '0-0');
    this.claimDue = false;
  }

  /** Pending entries whose event was trimmed away: nothing to run. `ack`: still in the pending list (XAUTOCLAIM already removed them). */
  private async lostToTrimming(ids: string[], ack: boolean): Promise<void> {
    const { stream, group, redis } = this.o;
    const tx = redis.multi().incrby(stream.keys.stat(group, 'trimmed'), ids.length).hdel(stream.keys.errors(group), ...ids);
    if (ack) tx.xack(stream.name, group, ...ids);
    await tx.exec();
    this.emit('trimmed', ids);
  }

  /**
   * Entries handled in the same turn of the event loop are acknowledged
   * together, after it (shared/per-turn.ts): a counting group that handles 50
   * entries of one read makes one script call, not 50. Until the call lands
   * the entries are still pending (and their slots taken), so a crash
   * meanwhile runs them again, as it would with one call each.
   */
  private readonly ack = perTurn(async (entries: Entry[]) => {
    await this.o.ack(entries);
    return entries.map(() => undefined);
  });

  private run(entry: Entry): void {
    const started = performance.now();
    const done = (async () => {
      try {
        await this.o.handle(entry);
        await this.ack(entry);
        // Only an entry delivered before can have failed before.
        if (entry.deliveries > 1) await this.o.stream.forgetFailures(this.o.group, [entry.id]);
        this.emit('handled', entry, performance.now() - started);
      } catch (err) {
        const { message } = err as Error;
        if (this.o.isPermanent(err)) {
          await this.o.stream.deadLetter(this.o.group, entry, this.o.name, entry.deliveries, message);
          this.emit('dead', entry, message);
        } else {
          await this.o.stream.recordFailure(this.o.group, entry.id, message);
          this.emit('failed', entry, err as Error);
        }
      }
    })()
      .catch((err: Error) => void this.emit('error', err)) // Redis gone while acking: the entry stays pending, and is claimed later
      .finally(() => {
        this.running.delete(entry.id);
        this.slotFree?.();
        this.slotFree = undefined;
      });
    this.running.set(entry.id, done);
  }
}
