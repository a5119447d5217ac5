// Durable enqueue (ENQUEUE_REPLICAS): a web process answers 202 only once
// that many replicas have the job or event, not just the primary. Redis
// replicates asynchronously, so without it a failover can lose a write the old
// primary acknowledged; with it the answer waits one round trip to a replica
// (Redis's WAIT), and a replica that does not confirm in time turns the 202
// into a 503 the client retries with the same id - added once, sent once.
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import type { Reply } from './http.ts';

/** The write was not confirmed by enough replicas in time: it is on the primary, maybe only there. */
export class NotReplicated extends Error {
  override name = 'NotReplicated';
}

/**
 * Confirms writes of one client with WAIT: confirm(), called once a write on
 * that client has its reply, resolves when a WAIT sent after it counted
 * `replicas` replicas, or throws NotReplicated after `timeoutMs`. WAIT covers
 * every earlier write of its connection and, while it waits, that connection
 * runs nothing else; so one WAIT at a time confirms every write that came
 * before it, and writes that land while it waits share the next one. A down
 * replica then costs each request one or two timeouts, not one per request
 * queued ahead of it.
 */
export class ReplicaConfirmer {
  private inFlight: Promise<number> | undefined;
  private next: Promise<number> | undefined;

  constructor(
    private readonly redis: Redis,
    readonly replicas: number,
    readonly timeoutMs: number,
  ) {}

  async confirm(): Promise<void> {
    if (this.replicas <= 0) return;
    const acked = await this.nextWait();
    if (acked < this.replicas) throw new NotReplicated(`${acked} of ${this.replicas} replica(s) confirmed the write within ${this.timeoutMs} ms`);
  }

  private nextWait(): Promise<number> {
    if (!this.inFlight) return this.send();
    // The WAIT under way may have left before this write: the one after it is the first sure to cover it.
    this.next ??= this.inFlight.then(
      () => this.afterCurrent(),
      () => this.afterCurrent(),
    );
    return this.next;
  }

  private afterCurrent(): Promise<number> {
    this.next = undefined;
    return this.send();
  }

  private send(): Promise<number> {
    const waiting = this.redis.wait(this.replicas, this.timeoutMs);
    this.inFlight = waiting;
    const clear = () => void (this.inFlight === waiting && (this.inFlight = undefined));
    waiting.then(clear, clear);
    return waiting;
  }
}

/** ENQUEUE_REPLICAS and its timeout, for the web process that writes on `redis`. */
export const replicaConfirmer = (redis: Redis, config: Config) => new ReplicaConfirmer(redis, config.ENQUEUE_REPLICAS, config.ENQUEUE_REPLICA_TIMEOUT_MS);

/**
 * The 503 for a write the replicas did not confirm. It says what is true: the
 * primary has it, so it may still be sent; a retry with the same id is added
 * once, so retrying is always safe.
 */
export function notReplicatedReply(id: string, err: NotReplicated, config: Config): Reply {
  return {
    status: 503,
    headers: { 'retry-after': String(Math.max(1, Math.ceil(config.ENQUEUE_REPLICA_TIMEOUT_MS / 1000))) },
    body: {
      id,
      error: `not confirmed by ${config.ENQUEUE_REPLICAS} replica(s) in time (${err.message}); retry with the header X-Request-Id: ${id} - it is added once, and may be sent even if you do not retry`,
    },
  };
}
