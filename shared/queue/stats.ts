// What is in Redis right now, in the shape dashboards show (resque-web, Sidekiq
// Web): queues with length and latency (age of the oldest job), totals, and
// workers with what each is doing. Two pipelined round trips; read-only.
import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';

/**
 * What a multiWorker publishes in Redis (keys.multiWorker) after each check,
 * for /stats and dashboards. It lives here, with the other shapes this file
 * reads, so that reading stats never imports the worker side.
 */
export interface MultiWorkerStatus {
  processors: number;
  active: number;
  min: number;
  max: number;
  delayMs: number;
  utilization: number;
  /** The check's decision (scaling.ts's ScalingVerb; multi-worker.ts assigns one, so tsc keeps the two in step). */
  verb: 'added' | 'removed' | 'steady';
  /** ms since the epoch. */
  at: number;
}

export interface QueueInfo {
  name: string;
  length: number;
  /** Age of the job at the head, ms; null when empty or the job has no enqueued_at (pushed by another client). */
  latencyMs: number | null;
}

export interface WorkerInfo {
  name: string;
  queues: string[];
  /** Jobs in its processing list (running or prefetched); 0 for workers that are not ours. */
  reserved: number;
  /** The job it is working on, from resque's working-on record. */
  job: { queue: string; class: string; id: string | undefined; runAt: string } | null;
  /** One of ours, with a heartbeat (node-resque and Ruby workers have none we read). */
  heartbeat: boolean;
  /** A multiWorker's latest check (task processors, event-loop delay); null for other workers. */
  multiWorker: MultiWorkerStatus | null;
}

export interface QueueStats {
  queues: QueueInfo[];
  /** Jobs waiting in the queues. */
  queued: number;
  /** Jobs in the delayed schedule (including retries waiting for their backoff). */
  delayed: number;
  /** Jobs reserved by workers: running, or prefetched to run next. */
  working: number;
  /** resque's counters: jobs that succeeded, jobs that ended in the failed list. */
  processed: number;
  failed: number;
  /** Records in the failed list now (the counter above only grows). */
  failedListed: number;
  workers: WorkerInfo[];
}

/** resque's "<name>:<queues>" split, as node-resque does it: the name is host:pid when there are more colons. */
function splitRegistration(member: string, ours: Set<string>): { name: string; queues: string } {
  for (const name of ours) if (member.startsWith(`${name}:`)) return { name, queues: member.slice(name.length + 1) };
  const parts = member.split(':');
  if (parts.length <= 2) return { name: parts[0] ?? member, queues: parts[1] ?? '' };
  return { name: `${parts[0]}:${parts[1]}`, queues: parts.slice(2).join(':') };
}

export async function readStats(redis: Redis, k: Keys): Promise<QueueStats> {
  const first = await redis
    .pipeline()
    .smembers(k.queues)
    .zrange(k.schedule, '0', '-1')
    .smembers(k.workers)
    .zrange(k.heartbeats, '0', '-1')
    .exec();
  const [queueNames, seconds, registrations, beating] = (first ?? []).map(([err, v]) => {
    if (err) throw err;
    return v;
  }) as [string[], string[], string[], string[]];
  const ours = new Set(beating);
  const workers = registrations.map((r) => ({ registration: r, ...splitRegistration(r, ours) }));
  queueNames.sort();

  const second = redis.pipeline();
  for (const q of queueNames) second.llen(k.queue(q)).lindex(k.queue(q), 0);
  for (const s of seconds) second.llen(k.delayed(Number(s)));
  for (const w of workers) second.get(`${k.prefix}worker:${w.registration}`).llen(k.processing(w.name)).get(k.multiWorker(w.name));
  // The counters last: an ack removes a job from its processing list and counts
  // it in one step, so read after the lists they are never behind them - "nothing
  // pending" then means "every job counted" (read first, a job acked in between
  // was in neither).
  second.mget(k.processed, k.failedCount).llen(k.failed);
  const values = ((await second.exec()) ?? []).map(([err, v]) => {
    if (err) throw err;
    return v;
  });
  const now = Date.now();
  let i = 0;
  const queues: QueueInfo[] = queueNames.map((name) => {
    const length = values[i++] as number;
    const head = values[i++] as string | null;
    let latencyMs: number | null = null;
    try {
      const at = head === null ? undefined : (JSON.parse(head) as { enqueued_at?: unknown }).enqueued_at;
      if (typeof at === 'number') latencyMs = Math.max(0, now - at);
    } catch {
      // a head that is not JSON has no age we can read; the worker will fail it
    }
    return { name, length, latencyMs };
  });
  let delayed = 0;
  for (let s = 0; s < seconds.length; s++) delayed += values[i++] as number;
  const workerInfo: WorkerInfo[] = workers.map((w) => {
    const record = values[i++] as string | null;
    const reserved = values[i++] as number;
    const scaling = values[i++] as string | null;
    let job: WorkerInfo['job'] = null;
    try {
      if (record) {
        const r = JSON.parse(record) as { run_at: string; queue: string; payload: { class?: string; id?: string } };
        job = { queue: r.queue, class: r.payload?.class ?? '', id: r.payload?.id, runAt: r.run_at };
      }
    } catch {
      // "started" or another client's format: no job to show
    }
    let multiWorker: MultiWorkerStatus | null = null;
    try {
      multiWorker = scaling ? (JSON.parse(scaling) as MultiWorkerStatus) : null;
    } catch {
      // not ours to read
    }
    return { name: w.name, queues: w.queues.split(','), reserved, job, heartbeat: ours.has(w.name), multiWorker };
  });
  const counters = values[i++] as (string | null)[];
  const failedListed = values[i++] as number;
  return {
    queues,
    queued: queues.reduce((n, q) => n + q.length, 0),
    delayed,
    working: workerInfo.reduce((n, w) => n + w.reserved, 0),
    processed: Number(counters[0] ?? 0),
    failed: Number(counters[1] ?? 0),
    failedListed,
    workers: workerInfo,
  };
}
