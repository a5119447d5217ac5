// The failed list, as the page shows it and acts on it. Listing reads the raw
// records, to name each by its exact string; every change goes through the
// Queue (retryFailed, removeFailed, removeAllFailed), given that exact string,
// which also matches records written by Lua (cjson escapes differently from
// JSON.stringify, so a re-encoded record would not).
import type { Redis } from 'ioredis';
import type { FailureRecord } from '../queue/job.ts';
import type { Keys } from '../queue/keys.ts';
import type { Queue } from '../queue/queue.ts';
import { EntryGone, entryId, Refused, summarise, type JobSummary } from './entries.ts';

/** How far "find this record" and "retry all" look: a bound, so one click never blocks Redis for long. */
export const MAX_SCAN = 10_000;

export interface FailedEntry {
  index: number;
  key: string;
  worker: string;
  queue: string;
  exception: string;
  error: string;
  backtrace: string[];
  failedAt: string;
  job: JobSummary;
}

function parse(raw: string): Partial<FailureRecord> {
  try {
    const value = JSON.parse(raw) as unknown;
    return typeof value === 'object' && value !== null ? (value as Partial<FailureRecord>) : {};
  } catch {
    return {};
  }
}

export function describeFailed(raw: string, index: number): FailedEntry {
  const r = parse(raw);
  const payload = typeof r.payload === 'string' ? r.payload : JSON.stringify(r.payload ?? null);
  const queue = typeof r.queue === 'string' ? r.queue : '';
  return {
    index,
    key: entryId(raw),
    worker: typeof r.worker === 'string' ? r.worker : '',
    queue,
    exception: typeof r.exception === 'string' ? r.exception : '',
    error: typeof r.error === 'string' ? r.error : raw.slice(0, 500),
    // node-resque writes an array; Lua's cjson writes an empty one as {}.
    backtrace: Array.isArray(r.backtrace) ? r.backtrace.map(String) : [],
    failedAt: typeof r.failed_at === 'string' ? r.failed_at : '',
    job: summarise(payload, queue),
  };
}

export async function listFailed(redis: Redis, k: Keys, offset: number, limit: number) {
  const [total, raws] = await Promise.all([redis.llen(k.failed), redis.lrange(k.failed, offset, offset + limit - 1)]);
  return { total, offset, items: raws.map((raw, i) => describeFailed(raw, offset + i)) };
}

/** The exact record the page means: at `index` if the list did not move, else searched for. */
export async function findFailed(redis: Redis, k: Keys, index: number, key: string): Promise<string> {
  const at = await redis.lindex(k.failed, index);
  if (at !== null && entryId(at) === key) return at;
  const found = (await redis.lrange(k.failed, 0, MAX_SCAN - 1)).find((raw) => entryId(raw) === key);
  if (found === undefined) throw new EntryGone('this failed job');
  return found;
}

export async function retryFailed(queue: Queue, raw: string): Promise<void> {
  const entry = describeFailed(raw, 0);
  if (entry.job.problem) throw new Refused(422, `this job cannot run again: ${entry.job.problem}`);
  // The exact stored string: records written by Lua (cjson) would not survive re-encoding.
  if (!(await queue.retryFailed(raw))) throw new EntryGone('this failed job');
}

export async function removeFailed(queue: Queue, raw: string): Promise<void> {
  if (!(await queue.removeFailed(raw))) throw new EntryGone('this failed job');
}

/** Retries every record (up to MAX_SCAN); a record with no runnable payload stays and is counted. */
export async function retryAllFailed(queue: Queue, redis: Redis, k: Keys): Promise<{ retried: number; skipped: number }> {
  const raws = await redis.lrange(k.failed, 0, MAX_SCAN - 1);
  let retried = 0;
  let skipped = 0;
  // Each retry is its own atomic script; sent together they share round trips.
  const outcomes = await Promise.allSettled(raws.map((raw) => queue.retryFailed(raw)));
  for (const o of outcomes) {
    if (o.status === 'fulfilled' && o.value) retried++;
    else skipped++;
  }
  return { retried, skipped };
}

export async function removeAllFailed(queue: Queue): Promise<{ removed: number }> {
  return { removed: await queue.removeAllFailed() };
}
