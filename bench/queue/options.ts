// Every knob of `npm run bench:queue`, in one table: flag, environment
// variable, default, --quick default, one line of documentation. --help is
// printed from it. A flag beats its variable; --quick changes only defaults.
import { helpPage, knobsHelp, OptionsError, readKnobs, type Knob } from '../knobs.ts';

export { OptionsError };

export const LIBRARIES = ['ours', 'bullmq', 'node-resque'] as const;
export type Library = (typeof LIBRARIES)[number];

export const SCENARIOS = ['throughput', 'pickup', 'recovery', 'multi-worker', 'backlog'] as const;
export type QueueScenario = (typeof SCENARIOS)[number];

export interface QueueBenchOptions {
  quick: boolean;
  scenarios: QueueScenario[];
  libraries: Library[];
  jobs: number;
  concurrency: number[];
  prefetch: number;
  /** node-resque's Worker `timeout` in the throughput scenario, ms. */
  resquePollMs: number;
  rounds: number;
  pickupJobs: number;
  pickupIntervalMs: number;
  recoveryRounds: number;
  recoveryCapS: number;
  /** Arguments for bench/queue/multi-worker.ts; empty = derived from rounds (and --quick). */
  multiWorkerArgs: string;
  /** Backlog: the queue sizes, each drained by one worker. */
  backlogSizes: number[];
  backlogRounds: number;
  backlogConcurrency: number;
  out: string;
  write: boolean;
  json: boolean;
  cpuProf: boolean;
}

// Sized for 2 cores: the default run ~7 minutes, --quick ~2 (recovery alone waits ~95 s a round: BullMQ needs ~61 s, node-resque's default never comes).
export const knobs: Knob<keyof QueueBenchOptions>[] = [
  { key: 'quick', flag: 'quick', env: 'BENCH_QUEUE_QUICK', kind: 'boolean', normal: 'false', doc: 'Fewer jobs and rounds (about 2 min on 2 cores): the defaults in [brackets].' },
  { key: 'scenarios', flag: 'scenarios', env: 'BENCH_QUEUE_SCENARIOS', kind: 'list', normal: 'throughput,pickup,recovery,multi-worker', doc: 'Which scenarios: throughput, pickup, recovery, multi-worker (bench/queue/multi-worker.ts, quoted), backlog (only when named: minutes per library at a million jobs).' },
  { key: 'libraries', flag: 'libraries', env: 'BENCH_QUEUE_LIBRARIES', kind: 'list', normal: LIBRARIES.join(','), doc: 'Which libraries: ours, bullmq, node-resque.' },
  { key: 'jobs', flag: 'jobs', env: 'BENCH_QUEUE_JOBS', kind: 'integer', min: 1, normal: '20000', quick: '5000', doc: 'Throughput: no-op jobs in the queue before the worker starts.' },
  { key: 'concurrency', flag: 'concurrency', env: 'BENCH_QUEUE_CONCURRENCY', kind: 'numbers', normal: '1,50', doc: 'Throughput: the worker concurrencies to measure.' },
  { key: 'prefetch', flag: 'prefetch', env: 'BENCH_QUEUE_PREFETCH', kind: 'integer', normal: '50', doc: 'Throughput: ours runs twice, at prefetch 0 and at this prefetch (0 = once).' },
  { key: 'resquePollMs', flag: 'resque-poll-ms', env: 'BENCH_QUEUE_RESQUE_POLL_MS', kind: 'integer', normal: '5', doc: "Throughput: node-resque Worker's timeout (poll sleep and ping interval), ms." },
  { key: 'rounds', flag: 'rounds', env: 'BENCH_QUEUE_ROUNDS', kind: 'integer', min: 1, normal: '3', quick: '1', doc: 'Interleaved rounds of throughput and pickup: every row once per round, the order rotated.' },
  { key: 'pickupJobs', flag: 'pickup-jobs', env: 'BENCH_QUEUE_PICKUP_JOBS', kind: 'integer', min: 1, normal: '100', quick: '30', doc: 'Pickup: jobs per run, one every --pickup-interval ms to an idle worker (5 more first, not counted).' },
  { key: 'pickupIntervalMs', flag: 'pickup-interval', env: 'BENCH_QUEUE_PICKUP_INTERVAL_MS', kind: 'integer', min: 1, normal: '100', doc: 'Pickup: ms between two adds.' },
  { key: 'recoveryRounds', flag: 'recovery-rounds', env: 'BENCH_QUEUE_RECOVERY_ROUNDS', kind: 'integer', min: 1, normal: '2', quick: '1', doc: 'Recovery: rounds; in each, every library runs side by side (its own processes and keys).' },
  { key: 'recoveryCapS', flag: 'recovery-cap', env: 'BENCH_QUEUE_RECOVERY_CAP_S', kind: 'integer', min: 1, normal: '90', doc: 'Recovery: seconds to wait after the kill before reporting "never".' },
  { key: 'multiWorkerArgs', flag: 'multi-worker-args', env: 'BENCH_QUEUE_MULTI_WORKER_ARGS', kind: 'string', normal: '', doc: "Arguments for bench/queue/multi-worker.ts (default: its jobs pass, --rounds as ours; --quick: 1 round of 1,000 jobs)." },
  { key: 'backlogSizes', flag: 'backlog-sizes', env: 'BENCH_QUEUE_BACKLOG_SIZES', kind: 'numbers', normal: '1000,100000,1000000', quick: '1000,100000', doc: 'Backlog: jobs waiting before one worker starts, one run per size and library (ours and BullMQ only).' },
  { key: 'backlogRounds', flag: 'backlog-rounds', env: 'BENCH_QUEUE_BACKLOG_ROUNDS', kind: 'integer', min: 1, normal: '2', quick: '1', doc: 'Backlog: rounds; in each, every size in turn, ours and BullMQ at each, the order rotated.' },
  { key: 'backlogConcurrency', flag: 'backlog-concurrency', env: 'BENCH_QUEUE_BACKLOG_CONCURRENCY', kind: 'integer', min: 1, normal: '50', doc: 'Backlog: the worker concurrency (ours at prefetch 0).' },
  { key: 'out', flag: 'out', env: 'BENCH_QUEUE_OUT', kind: 'string', normal: 'bench/results', doc: 'Where queue-<date>.json and queue-<date>.md go.' },
  { key: 'write', flag: 'write', env: 'BENCH_QUEUE_WRITE', kind: 'boolean', normal: 'true', doc: 'Write the result files (--no-write: terminal only).' },
  { key: 'json', flag: 'json', env: 'BENCH_QUEUE_JSON', kind: 'boolean', normal: 'false', doc: 'Print the results as JSON on stdout instead of tables.' },
  { key: 'cpuProf', flag: 'cpu-prof', env: 'BENCH_QUEUE_CPU_PROF', kind: 'boolean', normal: 'false', doc: 'Profile each throughput worker from its start to the last job (CPU profiler, like node --cpu-prof); .cpuprofile files go to <out>/queue-<date>-profiles/, a summary to the report (slower figures).' },
];

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): QueueBenchOptions & { help: boolean } {
  const o = readKnobs(knobs, argv, env).values;
  if ((o.concurrency as number[]).length === 0 || (o.concurrency as number[]).some((c) => c < 1)) {
    throw new OptionsError('--concurrency must be a comma-separated list of whole numbers > 0');
  }
  if ((o.backlogSizes as number[]).length === 0 || (o.backlogSizes as number[]).some((n) => n < 1)) {
    throw new OptionsError('--backlog-sizes must be a comma-separated list of whole numbers > 0');
  }
  for (const s of o.scenarios as string[]) {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new OptionsError(`--scenarios: unknown scenario "${s}"; choose from ${SCENARIOS.join(', ')}`);
  }
  for (const l of o.libraries as string[]) {
    if (!(LIBRARIES as readonly string[]).includes(l)) throw new OptionsError(`--libraries: unknown library "${l}"; choose from ${LIBRARIES.join(', ')}`);
  }
  // Keep the canonical order whatever order they were typed in.
  o.scenarios = SCENARIOS.filter((s) => (o.scenarios as string[]).includes(s));
  o.libraries = LIBRARIES.filter((l) => (o.libraries as string[]).includes(l));
  return o as unknown as QueueBenchOptions & { help: boolean };
}

export function helpText(): string {
  const about = [
    'The queue micro-benchmark: our queue library against BullMQ and node-resque on one',
    'private Redis, each run in a fresh process, rounds interleaved. No-op jobs/s through',
    'one worker process, idle pickup latency, and SIGKILL -> the job running again;',
    'on request (--scenarios backlog), the cost of a big backlog: enqueue rate, Redis',
    'memory per waiting job and drain jobs/s at each --backlog-sizes.',
  ];
  return helpPage('npm run bench:queue -- [options]', about, knobsHelp(knobs, 28, 31), [
    'npm run bench:queue -- --quick',
    'npm run bench:queue -- --scenarios throughput --concurrency 1 --rounds 5',
    'BENCH_QUEUE_LIBRARIES=ours,bullmq npm run bench:queue -- --scenarios pickup',
    'npm run bench:queue -- --scenarios backlog --backlog-sizes 1000,100000',
  ]);
}
