// Workers as the page shows them: the queue library's stats name each worker
// and its latest job; this adds what a person asks next - is it alive (its
// heartbeat deadline, by Redis's clock), since when does it run, everything
// it holds (its processing list: running and prefetched jobs, which is also
// what recovery hands back if it is dead), its own counters and, for a
// multiWorker, the scaling status it publishes: task processors and the
// event-loop delay that decides their number.
import type { Redis } from 'ioredis';
import type { Keys } from '../queue/keys.ts';
import type { MultiWorkerStatus, WorkerInfo } from '../queue/stats.ts';
import { summarise, type JobSummary } from './entries.ts';

/** Jobs listed per worker; the count beside it is always complete. */
export const HELD_SHOWN = 20;

export interface WorkerRow {
  name: string;
  queues: string[];
  /** dead: its heartbeat deadline passed; the scheduler's recovery will hand its jobs back. */
  state: 'working' | 'idle' | 'dead';
  /** Ms until it counts as dead (negative: overdue); null for workers without our heartbeat. */
  heartbeatInMs: number | null;
  startedAt: number | null;
  /** The job it started last, from resque's working-on record, and when (ms). */
  current: (JobSummary & { since: number | null }) | null;
  /** Jobs in its processing list: running, or reserved to run next. */
  reserved: number;
  held: JobSummary[];
  processed: number;
  failed: number;
  /** Only for a multiWorker: its latest check (it expires with the heartbeat). */
  multiWorker: MultiWorkerStatus | null;
}

export async function readWorkers(redis: Redis, k: Keys, workers: WorkerInfo[]): Promise<WorkerRow[]> {
  const pipe = redis.pipeline().time();
  for (const w of workers) {
    const csv = w.queues.join(',');
    pipe
      .zscore(k.heartbeats, w.name)
      .get(k.started(w.name, csv))
      .get(k.workingOn(w.name, csv))
      .lrange(k.processing(w.name), 0, HELD_SHOWN - 1)
      .mget(k.workerProcessed(w.name), k.workerFailed(w.name))
      .get(k.multiWorker(w.name));
  }
  const values = ((await pipe.exec()) ?? []).map(([err, v]) => {
    if (err) throw err;
    return v;
  });
  const [seconds, micros] = values[0] as [string, string];
  const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  let i = 1;
  const rows = workers.map((w): WorkerRow => {
    const deadline = values[i++] as string | null;
    const started = values[i++] as string | null;
    const record = values[i++] as string | null;
    const held = (values[i++] as string[]).map((raw) => summarise(raw));
    const [processed, failed] = values[i++] as [string | null, string | null];
    const multiWorker = readJson<MultiWorkerStatus>(values[i++] as string | null);
    const heartbeatInMs = deadline === null ? null : Number(deadline) - redisNow;
    const current = readWorkingOn(record);
    return {
      name: w.name,
      queues: w.queues,
      state: heartbeatInMs !== null && heartbeatInMs < 0 ? 'dead' : w.reserved > 0 || (w.heartbeat === false && current) ? 'working' : 'idle',
      heartbeatInMs,
      startedAt: started && /^\d+$/.test(started) ? Number(started) * 1000 : null,
      current: w.reserved > 0 || !w.heartbeat ? current : null,
      reserved: w.reserved,
      held,
      processed: Number(processed ?? 0),
      failed: Number(failed ?? 0),
      multiWorker,
    };
  });
  // Dead first (they need attention), then busy, then idle; by name within each.
  const order = { dead: 0, working: 1, idle: 2 } as const;
  return rows.sort((a, b) => order[a.state] - order[b.state] || a.name.localeCompare(b.name));
}

function readJson<T>(raw: string | null): T | null {
  try {
    return raw === null ? null : (JSON.parse(raw) as T);
  } catch {
    return null;
  }
}

function readWorkingOn(record: string | null): WorkerRow['current'] {
  if (!record) return null;
  try {
    const r = JSON.parse(record) as { run_at?: unknown; queue?: unknown; payload?: unknown };
    const payload = typeof r.payload === 'string' ? r.payload : JSON.stringify(r.payload ?? null);
    const since = typeof r.run_at === 'string' ? Date.parse(r.run_at) : NaN;
    return { ...summarise(payload, typeof r.queue === 'string' ? r.queue : ''), since: Number.isNaN(since) ? null : since };
  } catch {
    return null; // another client's format: nothing we can show
  }
}
