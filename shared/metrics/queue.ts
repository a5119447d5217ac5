// The queue as Redis holds it, read when Prometheus scrapes and never per
// request: resque-web's questions (how long is the queue? how old is its
// oldest job? who is working?) as gauges. A web process of strategies 4 and 5
// serves them: it is scraped anyway, and one reader is enough (a worker
// serving them too would double every sum). Each scrape costs the two
// pipelined round trips of readStats; Redis not answering within a second
// reads as redis_up 0, with the queue gauges left out rather than stale.
import { Gauge } from 'prom-client';
import type { QueueStats } from '../queue/index.ts';
import { freshName, oncePerScrape, registry, within } from './registry.ts';

const REDIS_TIMEOUT_MS = 1_000;

const gauge = (name: string, help: string, labelNames: string[], collect: (this: Gauge) => Promise<void>) =>
  new Gauge({ name: freshName(name), help, labelNames, registers: [registry], collect });

/**
 * Reads `read` once per scrape, and serves redis_up: 1 when that read answered
 * in time. `apply` sets the gauges from a reading (they are reset first, so a
 * queue that went away leaves no series). Shared with the stream's reader.
 */
export function scrapeRedis<T>(read: () => Promise<T>): (apply: (value: T) => void) => Promise<void> {
  const once = oncePerScrape(() => within(REDIS_TIMEOUT_MS, read()).catch(() => undefined));
  new Gauge({
    name: freshName('redis_up'),
    help: 'Whether Redis answered this scrape\'s read within a second (1) or not (0).',
    registers: [registry],
    async collect() {
      this.set((await once()) === undefined ? 0 : 1);
    },
  });
  return async (apply) => {
    const value = await once();
    if (value !== undefined) apply(value);
  };
}

/** The queue's gauges, from `stats` (Queue#stats) at each scrape. */
export function collectQueueMetrics(stats: () => Promise<QueueStats>): void {
  const scrape = scrapeRedis(stats);
  gauge('queue_length', 'Jobs waiting in each queue (LLEN of resque:queue:<queue>).', ['queue'], async function () {
    await scrape((s) => {
      this.reset();
      for (const q of s.queues) this.set({ queue: q.name }, q.length);
    });
  });
  gauge('queue_latency_seconds', 'Age of the oldest job waiting in each queue (0 when empty): how long the next job has waited so far.', ['queue'], async function () {
    await scrape((s) => {
      this.reset();
      for (const q of s.queues) this.set({ queue: q.name }, (q.latencyMs ?? 0) / 1000);
    });
  });
  gauge('queue_delayed_jobs', 'Jobs in the delayed schedule: retries waiting out their backoff, and scheduled jobs.', [], async function () {
    await scrape((s) => this.set(s.delayed));
  });
  gauge('queue_working_jobs', 'Jobs reserved by workers: running, or prefetched to run next.', [], async function () {
    await scrape((s) => this.set(s.working));
  });
  gauge('queue_failed_jobs', 'Records in the failed list now.', [], async function () {
    await scrape((s) => this.set(s.failedListed));
  });
  gauge('queue_workers', 'Workers registered in Redis; alive ones keep a heartbeat (state="alive"), others are listed without one (state="no_heartbeat").', ['state'], async function () {
    await scrape((s) => {
      this.set({ state: 'alive' }, s.workers.filter((w) => w.heartbeat).length);
      this.set({ state: 'no_heartbeat' }, s.workers.filter((w) => !w.heartbeat).length);
    });
  });
  gauge('queue_workers_busy', 'Workers working on a job right now (their resque working-on record is set).', [], async function () {
    await scrape((s) => this.set(s.workers.filter((w) => w.job !== null).length));
  });
}
