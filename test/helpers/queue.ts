// For the queue library's tests: a private redis-server per test file, clients
// that are all closed at the end, and waits on events or conditions with a
// bounded timeout (never a fixed sleep).
import type { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach } from 'vitest';
import { Queue, Worker, type Jobs, type WorkerOptions } from '../../shared/queue/index.ts';
import { createRedis, startPrivateRedis, type PrivateRedis } from '../../shared/redis.ts';

export interface TestRedis {
  server: PrivateRedis;
  /** A new client; closed by close(). */
  client(): Redis;
  close(): Promise<void>;
}

export async function testRedis(): Promise<TestRedis> {
  const server = await startPrivateRedis();
  const clients: Redis[] = [];
  return {
    server,
    client() {
      const c = createRedis(server.url);
      c.on('error', () => {}); // reconnect noise while a test restarts Redis
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.disconnect();
      await server.stop();
    },
  };
}

export interface QueueTestbed extends TestRedis {
  /** The tests' own client, and a Queue on it. */
  redis: Redis;
  queue: Queue;
  /** Stops something (a worker, a scheduler, a node-resque client) when the current test ends, pass or fail; the last registered stops first. */
  afterTest(stop: () => Promise<unknown>): void;
  /** A Worker on the tests' client (queue "q" unless options say otherwise), stopped when the test ends; its errors go to onError (default: logged). */
  worker(jobs: Jobs, options?: Partial<WorkerOptions>, onError?: (err: Error) => void): Worker;
}

/**
 * The set-up every queue test file shares, called once at its top level:
 *   const { redis, queue, afterTest } = await queueTestbed();
 * One private redis-server for the file, emptied before each test; what a test
 * registered with afterTest is stopped after it; everything is closed after
 * the file's last test.
 */
export async function queueTestbed(): Promise<QueueTestbed> {
  const t = await testRedis();
  const redis = t.client();
  const queue = new Queue({ redis });
  const stops: (() => Promise<unknown>)[] = [];
  beforeEach(async () => {
    await redis.flushall();
  });
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });
  afterAll(() => t.close());
  const afterTest = (stop: () => Promise<unknown>) => void stops.push(stop);
  const worker = (jobs: Jobs, options: Partial<WorkerOptions> = {}, onError = (err: Error) => console.error('worker error', err)) => {
    const w = new Worker({ redis, queues: ['q'], jobs, ...options });
    w.on('error', onError);
    afterTest(() => w.stop(500));
    return w;
  };
  return { ...t, redis, queue, afterTest, worker };
}

/** Resolves with the arguments of the next matching event; rejects after timeoutMs. */
export async function nextEvent<T extends unknown[]>(
  emitter: EventEmitter | { on: unknown; off: unknown },
  event: string,
  timeoutMs = 10_000,
  match: (...args: T) => boolean = () => true,
): Promise<T> {
  const e = emitter as EventEmitter;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      e.off(event, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for "${event}"`));
    }, timeoutMs);
    const listener = (...args: unknown[]) => {
      if (!match(...(args as T))) return;
      clearTimeout(timer);
      e.off(event, listener);
      resolve(args as T);
    };
    e.on(event, listener);
  });
}

/** Re-checks `check` every few ms until it returns true; throws after timeoutMs with `what`. (helpers/wait.ts's `eventually` is the same for a value.) */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs)); // the poll interval of a bounded wait
  }
}

/** The same as until(); the multiWorker tests use this name. */
export const eventually = until;
