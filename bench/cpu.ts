// Where a load run's CPU went, without a profiler's overhead: the CPU time of
// each process, read from Linux's /proc before and after the run, over the
// run's seconds, is the cores it used. The processes are the target's tree
// (its supervisor, the children it announced, their redis-server), the sink,
// and this harness, whose autocannon is the load. On a machine of two cores,
// this says whether a strategy is slower than the baseline because each
// request costs more or because its other processes took the cores.
// Elsewhere than Linux nothing is read, and the report has no CPU table.
import { readdirSync, readFileSync } from 'node:fs';

/** Cores one process (or several of one name) used over a load run. */
export interface CpuShare {
  process: string;
  cores: number;
}

/** What to read: a process alone, or a process and everything it started. */
export interface CpuRoot {
  pid: number;
  name: string;
  tree: boolean;
}

interface Stat {
  ppid: number;
  comm: string;
  seconds: number;
}

export interface CpuSnapshot {
  at: number;
  /** pid -> [name, CPU seconds so far] */
  seconds: Map<number, [string, number]>;
}

// USER_HZ: /proc reports utime and stime in 1/100 s on every architecture Linux runs Node on.
const TICKS_PER_SECOND = 100;

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces; the fields after it are plain.
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 2).split(' ');
    return { ppid: Number(fields[1]), comm: text.slice(text.indexOf('(') + 1, close), seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
  } catch {
    return undefined; // gone meanwhile, or no /proc
  }
}

/** Every process's CPU seconds so far, named by `roles` (pid -> role), else "redis" or its command name; undefined without /proc. */
export function cpuSnapshot(roots: CpuRoot[], roles: ReadonlyMap<number, string> = new Map()): CpuSnapshot | undefined {
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  } catch {
    return undefined;
  }
  const stats = new Map<number, Stat>();
  for (const pid of pids) {
    const s = readStat(pid);
    if (s) stats.set(pid, s);
  }
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  const seconds = new Map<number, [string, number]>();
  const add = (pid: number, name: string | undefined) => {
    const s = stats.get(pid);
    if (!s || seconds.has(pid)) return;
    seconds.set(pid, [name ?? roles.get(pid) ?? (s.comm.startsWith('redis-server') ? 'redis' : s.comm), s.seconds]);
  };
  for (const root of roots) {
    add(root.pid, root.name);
    if (!root.tree) continue;
    const todo = [...(children.get(root.pid) ?? [])];
    for (let pid = todo.pop(); pid !== undefined; pid = todo.pop()) {
      add(pid, undefined);
      todo.push(...(children.get(pid) ?? []));
    }
  }
  return { at: performance.now(), seconds };
}

/** Cores each process name used between two snapshots, busiest first; a process started in between counts from zero. */
export function cpuShares(before: CpuSnapshot, after: CpuSnapshot): CpuShare[] {
  const elapsedS = (after.at - before.at) / 1000;
  if (elapsedS <= 0) return [];
  const byName = new Map<string, number>();
  for (const [pid, [name, seconds]] of after.seconds) {
    const used = seconds - (before.seconds.get(pid)?.[1] ?? 0);
    byName.set(name, (byName.get(name) ?? 0) + Math.max(0, used));
  }
  return [...byName].map(([process, s]) => ({ process, cores: s / elapsedS })).sort((a, b) => b.cores - a.cores);
}
