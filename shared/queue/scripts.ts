// Loads lua/*.lua into a Redis client once (ioredis sends EVALSHA and falls
// back to EVAL after a Redis restart empties the script cache) and calls them
// by name with typed KEYS and ARGV. Every state change of a job is one of these
// scripts, so each is atomic: there is no moment where a job is in two places,
// or in none.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ChainableCommander, Redis } from 'ioredis';

export const scriptNames = [
  'enqueue', 'schedule', 'reserve', 'start', 'ack', 'retry', 'fail',
  'heartbeat', 'recover', 'moveDue', 'lock', 'unlock', 'retryFailed',
  'enqueueDelayedNow', 'removeDelayed', 'sweepQueued',
] as const;
export type ScriptName = (typeof scriptNames)[number];
type Arg = string | number;

const read = (file: string) => readFileSync(path.join(import.meta.dirname, 'lua', file), 'utf8');
// A line "-- @include <name>" stands for lua/includes/<name>.lua: Lua
// functions that several scripts share, pasted in before Redis sees them.
const sources = new Map<ScriptName, string>(
  scriptNames.map((name) => [name, read(`${name}.lua`).replace(/^-- @include (\w+)$/gm, (_, include: string) => read(`includes/${include}.lua`))]),
);
const loaded = new WeakSet<Redis>();

function define(redis: Redis): void {
  if (loaded.has(redis)) return;
  // numberOfKeys is left out: scripts such as reserve take a variable number of
  // keys, so every call passes the count first (run() does that).
  for (const [name, lua] of sources) redis.defineCommand(`bgq_${name}`, { lua });
  loaded.add(redis);
}

/** Runs a script on a client; results are whatever the script returns. */
export function run<T = unknown>(redis: Redis, name: ScriptName, keys: string[], args: Arg[]): Promise<T> {
  define(redis);
  const command = (redis as unknown as Record<string, (...a: Arg[]) => Promise<T>>)[`bgq_${name}`]!;
  return command.call(redis, keys.length, ...keys, ...args);
}

/** A pipeline that knows the scripts (ioredis copies custom commands when a pipeline is made). */
export function pipeline(redis: Redis): ChainableCommander {
  define(redis);
  return redis.pipeline();
}

/** Queues a script call on a pipeline made by pipeline(): many calls, one round trip. */
export function queueOn(pipe: ChainableCommander, name: ScriptName, keys: string[], args: Arg[]): void {
  const command = (pipe as unknown as Record<string, (...a: Arg[]) => unknown>)[`bgq_${name}`]!;
  command.call(pipe, keys.length, ...keys, ...args);
}
