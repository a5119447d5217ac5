// Delayed jobs (scheduled ones and retries waiting out their backoff), which
// the queue library writes but does not list: read from resque's schedule, and
// moved or removed by the two Lua scripts next to this file, each one atomic.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Keys } from '../queue/keys.ts';
import { EntryGone, entryId, Refused, summarise, type JobSummary } from './entries.ts';

export interface DelayedEntry {
  /** The unix second it is due, as resque schedules. */
  second: number;
  dueAt: number;
  key: string;
  job: JobSummary;
}

/** The first `limit` delayed jobs, soonest first, and how many there are in all. */
export async function listDelayed(redis: Redis, k: Keys, limit: number): Promise<{ total: number; items: DelayedEntry[] }> {
  const seconds = (await redis.zrange(k.schedule, '0', String(limit - 1))).map(Number);
  const counting = redis.pipeline();
  const all = await redis.zrange(k.schedule, '0', '-1');
  for (const s of all) counting.llen(k.delayed(Number(s)));
  const listing = redis.pipeline();
  for (const s of seconds) listing.lrange(k.delayed(s), 0, limit - 1);
  const [counts, lists] = await Promise.all([counting.exec(), listing.exec()]);
  const total = (counts ?? []).reduce((n, [, v]) => n + Number(v ?? 0), 0);
  const items: DelayedEntry[] = [];
  seconds.forEach((second, i) => {
    for (const raw of (lists?.[i]?.[1] as string[] | undefined) ?? []) {
      if (items.length < limit) items.push({ second, dueAt: second * 1000, key: entryId(raw), job: summarise(raw) });
    }
  });
  return { total, items };
}

async function findDelayed(redis: Redis, k: Keys, second: number, key: string): Promise<string> {
  const found = (await redis.lrange(k.delayed(second), 0, -1)).find((raw) => entryId(raw) === key);
  if (found === undefined) throw new EntryGone('this delayed job');
  return found;
}

const scripts = {
  enqueueDelayedNow: readFileSync(path.join(import.meta.dirname, 'lua', 'enqueueDelayedNow.lua'), 'utf8'),
  removeDelayed: readFileSync(path.join(import.meta.dirname, 'lua', 'removeDelayed.lua'), 'utf8'),
};
type ScriptName = keyof typeof scripts;
const loaded = new WeakSet<Redis>();

function runScript(redis: Redis, name: ScriptName, keys: string[], args: (string | number)[]): Promise<number> {
  if (!loaded.has(redis)) {
    for (const [n, lua] of Object.entries(scripts)) redis.defineCommand(`dashboard_${n}`, { lua });
    loaded.add(redis);
  }
  const command = (redis as unknown as Record<string, (...a: (string | number)[]) => Promise<number>>)[`dashboard_${name}`]!;
  return command.call(redis, keys.length, ...keys, ...args);
}

/** Moves one delayed job to the tail of its queue now. */
export async function enqueueDelayedNow(redis: Redis, k: Keys, second: number, key: string): Promise<void> {
  const raw = await findDelayed(redis, k, second, key);
  const job = summarise(raw);
  if (job.queue === '') throw new Refused(422, 'this delayed payload names no queue to enqueue it in');
  const done = await runScript(
    redis,
    'enqueueDelayedNow',
    [k.schedule, k.delayed(second), k.timestamps(raw), k.queues, k.queue(job.queue), k.wake(job.queue), k.job(job.id ?? '')],
    [second, raw, job.queue, Date.now()],
  );
  if (done !== 1) throw new EntryGone('this delayed job');
}

export async function removeDelayed(redis: Redis, k: Keys, second: number, key: string): Promise<void> {
  const raw = await findDelayed(redis, k, second, key);
  const { id } = summarise(raw);
  const done = await runScript(redis, 'removeDelayed', [k.schedule, k.delayed(second), k.timestamps(raw), k.job(id ?? '')], [
    second,
    raw,
    id === null ? '0' : '1',
  ]);
  if (done !== 1) throw new EntryGone('this delayed job');
}
