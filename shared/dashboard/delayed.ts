// Delayed jobs (scheduled ones and retries waiting out their backoff) as the
// page shows them and acts on them: the Queue lists, moves and removes them,
// each change one atomic script; this names each entry for the page and finds
// the exact payload again when the page asks to act on one.
import type { Queue } from '../queue/queue.ts';
import { EntryGone, entryId, Refused, summarise, type JobSummary } from './entries.ts';

export interface DelayedEntry {
  /** The unix second it is due, as resque schedules. */
  second: number;
  dueAt: number;
  key: string;
  job: JobSummary;
}

/** The first `limit` delayed jobs, soonest first, and how many there are in all. */
export async function listDelayed(queue: Queue, limit: number): Promise<{ total: number; items: DelayedEntry[] }> {
  const { total, items } = await queue.delayed(limit);
  return {
    total,
    items: items.map(({ second, payload }) => ({ second, dueAt: second * 1000, key: entryId(payload), job: summarise(payload) })),
  };
}

async function findDelayed(queue: Queue, second: number, key: string): Promise<string> {
  const found = (await queue.delayedAt(second)).find((raw) => entryId(raw) === key);
  if (found === undefined) throw new EntryGone('this delayed job');
  return found;
}

/** Moves one delayed job to the tail of its queue now. */
export async function enqueueDelayedNow(queue: Queue, second: number, key: string): Promise<void> {
  const raw = await findDelayed(queue, second, key);
  if (summarise(raw).queue === '') throw new Refused(422, 'this delayed payload names no queue to enqueue it in');
  if (!(await queue.enqueueDelayedNow(second, raw))) throw new EntryGone('this delayed job');
}

export async function removeDelayed(queue: Queue, second: number, key: string): Promise<void> {
  if (!(await queue.removeDelayed(second, await findDelayed(queue, second, key)))) throw new EntryGone('this delayed job');
}
