// "Where is my email?": a job by its tracking id. The queue library keeps one
// status per job (its latest state, attempts, last error), not a log, so the
// history shown is rebuilt from what Redis still holds: when it was enqueued,
// its failure records, the worker holding it, where it waits in its queue or
// the schedule. Every scan is bounded, so a lookup never blocks Redis long.
import type { Redis } from 'ioredis';
import type { Keys } from '../queue/keys.ts';
import type { JobStatus, Queue } from '../queue/queue.ts';
import { describeFailed, MAX_SCAN } from './failed.ts';
import { summarise } from './entries.ts';

export interface HistoryEvent {
  /** Ms since the epoch; null when Redis kept no time for it. */
  at: number | null;
  event: string;
  detail: string;
}

export interface JobLookup {
  id: string;
  status: JobStatus | null;
  /** Where the job is now, when it could be found. */
  location: string | null;
  history: HistoryEvent[];
}

/** True when `raw` is a payload (or a record holding one) of job `id`: our payloads are JSON.stringify'd, ids are plain. */
const mentions = (raw: string, id: string) => raw.includes(`"id":${JSON.stringify(id)}`);

export async function lookupJob(queue: Queue, redis: Redis, k: Keys, id: string): Promise<JobLookup> {
  const status = await queue.status(id);
  const history: HistoryEvent[] = [];
  let location: string | null = null;
  if (status) history.push({ at: status.enqueuedAt || null, event: 'enqueued', detail: `${status.class} on queue ${status.queue}` });

  const failures = (await redis.lrange(k.failed, 0, MAX_SCAN - 1))
    .map((raw, index) => ({ raw, index }))
    .filter(({ raw }) => mentions(raw, id))
    .map(({ raw, index }) => describeFailed(raw, index))
    .filter((f) => f.job.id === id);
  for (const f of failures) {
    const at = Date.parse(f.failedAt);
    history.push({ at: Number.isNaN(at) ? null : at, event: 'failed', detail: `${f.exception}: ${f.error} (worker ${f.worker})` });
  }
  if (failures.length > 0) location = `the failed list (position ${failures[0]!.index + 1})`;

  if (status?.state === 'queued') {
    const waiting = await redis.lrange(k.queue(status.queue), 0, MAX_SCAN - 1);
    const position = waiting.findIndex((raw) => mentions(raw, id) && summarise(raw).id === id);
    if (position >= 0) location = `queue ${status.queue}, position ${position + 1} of ${await redis.llen(k.queue(status.queue))}`;
  }
  if (status?.state === 'working') {
    // Only our workers have processing lists, and every one of them beats.
    for (const name of await redis.zrange(k.heartbeats, '0', '-1')) {
      const held = await redis.lrange(k.processing(name), 0, MAX_SCAN - 1);
      if (held.some((raw) => mentions(raw, id))) location = `held by worker ${name}`;
    }
  }
  if (status?.state === 'delayed' && status.runAt) {
    location = `the delayed schedule, due ${new Date(status.runAt).toISOString()}`;
    history.push({ at: status.runAt, event: 'due', detail: status.attempts > 0 ? `retry after attempt ${status.attempts}` : 'scheduled run' });
  }
  if (status && status.updatedAt && status.updatedAt !== status.enqueuedAt) {
    const detail = [`attempts ${status.attempts}`, status.error ? `last error: ${status.error}` : ''].filter(Boolean).join(', ');
    history.push({ at: status.updatedAt, event: `now ${status.state}`, detail });
  }
  history.sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
  return { id, status, location, history };
}
