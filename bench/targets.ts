// What the benchmark can run: the bare baseline and the five strategies. A
// target whose entry file is missing is skipped with a note, not an error, so
// a checkout that deletes a strategy (a workshop exercise) still benchmarks
// the rest.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../shared/root.ts';
import { OptionsError } from './options.ts';

/** Which process holds the pending work, i.e. what the crash pass kills. */
export type CrashTarget =
  /** The server itself; the harness restarts it on the same port, as systemd or k8s would. */
  | 'server'
  /** The `worker` child of a supervisor, which restarts it on its own. */
  | 'worker';

export interface Target {
  /** What people type in --strategies. */
  key: string;
  name: string;
  entry: string;
  crash: CrashTarget | 'none';
  /** Sends email at all (the baseline does not: it is the ceiling). */
  sends: boolean;
  /** Keeps its jobs in Redis (REDIS_URL): the faults pass gives it a Redis of the harness's own. */
  redis?: boolean;
}

export const targets: Target[] = [
  { key: 'baseline', name: '0-baseline', entry: 'bench/baseline.ts', crash: 'none', sends: false },
  { key: '1', name: '1-foreground', entry: 'strategies/1-foreground/server.ts', crash: 'server', sends: true },
  { key: '2', name: '2-fire-and-forget', entry: 'strategies/2-fire-and-forget/server.ts', crash: 'server', sends: true },
  { key: '3', name: '3-cluster-ipc', entry: 'strategies/3-cluster-ipc/main.ts', crash: 'worker', sends: true },
  { key: '4', name: '4-redis-queue', entry: 'strategies/4-redis-queue/main.ts', crash: 'worker', sends: true, redis: true },
  { key: '5', name: '5-multi-worker', entry: 'strategies/5-multi-worker/main.ts', crash: 'worker', sends: true, redis: true },
];

export const entryExists = (t: Target) => existsSync(path.join(ROOT, t.entry));

export interface Selection {
  chosen: Target[];
  /** Asked for (or known) but not runnable yet, with the reason. */
  skipped: { key: string; name: string; why: string }[];
}

/** Resolves --strategies (keys, or names such as 2-fire-and-forget) to runnable targets, in the talk's order. */
export function selectTargets(wanted: string[]): Selection {
  const skipped: Selection['skipped'] = [];
  const asked = wanted.length === 0 ? targets.map((t) => t.key) : wanted;
  const picked = new Set<Target>();
  for (const w of asked) {
    const t = targets.find((x) => x.key === w || x.name === w || x.name.startsWith(`${w}-`));
    if (!t) throw new OptionsError(`--strategies: unknown strategy "${w}"; choose from ${targets.map((x) => x.key).join(', ')}`);
    if (entryExists(t)) picked.add(t);
    else skipped.push({ key: t.key, name: t.name, why: `${t.entry} does not exist` });
  }
  return { chosen: targets.filter((t) => picked.has(t)), skipped };
}
