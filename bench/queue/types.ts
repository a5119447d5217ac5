// What the queue benchmarks produce, as types: the harness children
// (scenarios.ts) print the *Result figures, run.ts and multi-worker.ts add the
// round and the row, report.ts reads them. Nothing here imports a runner.
import type { Machine } from '../machine.ts';
import type { ProfileSummary } from '../profile.ts';
import type { Library, QueueBenchOptions } from './options.ts';

export interface ThroughputResult {
  scenario: 'throughput';
  jobs: number;
  concurrency: number;
  prefetch: number;
  /** How long the bulk add took (not part of the figure). */
  fillMs: number;
  /** From starting the worker to the last job complete. */
  ms: number;
  jobsPerSec: number;
  /** Success events seen: exactly `jobs`, or something ran twice. */
  completed: number;
  /** Jobs left waiting or reserved once all were reported complete: 0, or something was lost on the way. */
  leftover: number;
  /** CPU per job while the worker ran: this process (worker and library), and redis-server. */
  cpuUsPerJob: { node: number; redis: number };
}

/** N jobs put in by the bulk add with nothing working, Redis memory taken, then one worker drains them. */
export interface BacklogResult {
  scenario: 'backlog';
  jobs: number;
  concurrency: number;
  prefetch: number;
  /** The bulk add of all `jobs` (how: `fillHow`, the harness's own words). */
  fillMs: number;
  fillHow: string;
  enqueuePerSec: number;
  /** Jobs the library counted waiting once the add was done (should be `jobs`). */
  waiting: number;
  /** Redis memory the waiting jobs take: used_memory after the add minus before, less the Lua script cache's growth, over the jobs. */
  bytesPerJob: number;
  /** The INFO memory fields behind bytesPerJob, after minus before, bytes. */
  memoryDelta: { usedMemory: number; scripts: number; clients: number };
  /** From starting the worker to the last job complete, as in the throughput scenario. */
  ms: number;
  jobsPerSec: number;
  completed: number;
  leftover: number;
  cpuUsPerJob: { node: number; redis: number };
}

export interface PickupResult {
  scenario: 'pickup';
  jobs: number;
  intervalMs: number;
  /** Enqueue -> job start, ms, in the order sent (warm-up jobs left out). */
  latenciesMs: number[];
  p50: number;
  p99: number;
  max: number;
}

/** Timer jobs at most `max` at once, from a full queue: how soon, and how near the ceiling, a worker runs. */
export interface ScalingResult {
  scenario: 'scaling';
  /** From starting the worker to the last job done. */
  totalMs: number;
  jobsPerSec: number;
  /** After it first reached full speed; null if it never did. */
  steadyJobsPerSec: number | null;
  /** First time 250 ms of completions reached 90% of the ceiling, ms after the start. */
  fullSpeedMs: number | null;
  /** The most jobs it ran at once (a multiWorker: its processor count). */
  peakProcessors: number;
  peakProcessorsAtMs: number;
}

interface RunBase {
  round: number;
  row: string;
  library: Library;
  label: string;
}
export type ThroughputRun = RunBase & ThroughputResult;
export type PickupRun = RunBase & PickupResult;
export type BacklogRun = RunBase & BacklogResult;
export interface RecoveryRun extends RunBase {
  /** SIGKILL -> the job's start in the fresh worker; null = not within capS. */
  recoveredMs: number | null;
  /** SIGKILL -> the fresh worker process ready (it starts once the killed one is gone). */
  rescuerReadyMs: number | null;
  capS: number;
  error?: string;
}
export interface MultiWorkerRun {
  command: string;
  exitCode: number | null;
  durationS: number;
  /** Its stdout, as printed. */
  output: string;
  stderr?: string;
}

export interface QueueBenchResult {
  schema: 1;
  kind: 'queue';
  startedAt: string;
  finishedAt: string;
  durationS: number;
  machine: Machine & { redis: string };
  settings: Omit<QueueBenchOptions, 'out' | 'write' | 'json'>;
  /** `backlog` is absent from results written before the scenario existed. */
  runs: { throughput: ThroughputRun[]; pickup: PickupRun[]; recovery: RecoveryRun[]; backlog?: BacklogRun[] };
  multiWorker: MultiWorkerRun | null;
  profiles: ProfileSummary[];
  notes: string[];
}
