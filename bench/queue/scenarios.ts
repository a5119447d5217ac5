// The queue micro-benchmark's scenarios, measured the same way for every
// library. Each library has a harness file of the same shape (ours.ts,
// bullmq.ts, node-resque.ts): an `open()` that returns a QueueLib - fill,
// add, work, leftover, close - and a last line that hands it to runChild().
// So `diff bench/queue/bullmq.ts bench/queue/node-resque.ts` shows only what
// differs between the libraries, and every clock and counter is in this file.
//
// A harness runs as a fresh child process per measured run (run.ts and
// multi-worker.ts start it through harness.ts): no shared heap, no warm JIT,
// no connection left over from the last library. It prints what it measured as one JSON line ({"bench":"result"})
// on stdout; the recovery roles print events instead ({"bench":"started"}).
//
//   throughput  N no-op jobs already in the queue (the library's bulk add);
//               one worker at concurrency C; from starting the worker to the
//               N-th job complete in Redis (each library's success event).
//   pickup      an idle worker; one job every I ms from another connection;
//               from just before the add to the job function being called.
//   recovery    a worker process whose job never finishes; run.ts SIGKILLs
//               it and starts a fresh one; the job's second start is timed
//               there (clocks of two processes: Date.now(), same machine).
//   scaling     N jobs that each await a T ms timer, at most P at once (a
//               fixed concurrency P, or a multiWorker up to P); how soon it
//               reaches the ceiling of P x 1000 / T jobs/s (multi-worker.ts).
//   backlog     throughput's run at a size, with the bulk add timed and the
//               Redis memory of the waiting jobs taken before the worker starts.
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { percentile } from '../numbers.ts';
import type { BacklogResult, PickupResult, ScalingResult, ThroughputResult } from './types.ts';

export type Scenario = 'throughput' | 'pickup' | 'recovery' | 'scaling' | 'backlog';

/** What every harness is given: where Redis is, and which settings of its library to use. */
export interface LibSettings {
  url: string;
  /** Key prefix for this run, so no two runs (or libraries) ever see each other's keys. */
  namespace: string;
  /** node-resque only: its Worker's `timeout` (poll sleep and ping interval), ms; its default when unset. */
  pollMs?: number;
  /** node-resque only: a Scheduler that recovers a dead worker's job (see node-resque.ts). */
  tuned?: boolean;
  /** Ours only: false = no status per job (statusTtlMs 0), as node-resque keeps none; default true. */
  keepStatus?: boolean;
}

export interface WorkOptions {
  concurrency: number;
  /** Ours only: jobs reserved into the processing list beyond the running ones. */
  prefetch: number;
  /** The job. Its argument is the number given to add() (undefined for fill()'s jobs). */
  perform: (arg: number | undefined) => unknown;
  /** Called once per job, when the library reports it complete in Redis. */
  done: () => void;
  /** Also run what the library needs in a worker process to recover a dead worker's job. */
  recover: boolean;
  /**
   * Instead of `concurrency`: a multiWorker (ours, node-resque) that starts
   * at one processor and adds up to `max` while the event loop stays under
   * `maxDelayMs`, checked every `checkMs`; `onProcessors` hears each count.
   */
  scale?: { max: number; checkMs: number; maxDelayMs: number; onProcessors: (n: number) => void };
}

/** The one interface every harness implements, with its library's own API. */
export interface QueueLib {
  /** How fill() puts jobs in, for the report: the API, and how many jobs a call. */
  fillHow: string;
  /** Puts n no-op jobs in the queue, the library's fastest bulk way, before any worker starts. */
  fill(n: number): Promise<void>;
  /** Adds one job, from a connection that is not the worker's. */
  add(arg: number): Promise<void>;
  /** Starts one worker; resolves when it has been started. */
  work(o: WorkOptions): Promise<void>;
  /** Jobs still waiting or reserved in Redis (0 once every job has completed). */
  leftover(): Promise<number>;
  close(): Promise<void>;
}

/** A line a recovery role prints: the worker is up, or the job (re)started, by the wall clock. */
export interface RecoveryEvent {
  bench: 'ready' | 'started';
  at: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const round2 = (n: number) => Math.round(n * 100) / 100;

/** redis-server's CPU time so far (user + system), µs: the only client on this private server is this benchmark. */
async function redisCpuUs(probe: Redis): Promise<number> {
  const info = await probe.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

/**
 * A CPU profile of this process from now until the returned stop() (only the
 * worker's run, not start-up or the bulk add), written where bench/profile.ts
 * looks for `node --cpu-prof` files.
 */
async function profileFrom(dir: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '.').slice(0, 15);
    await writeFile(path.join(dir, `CPU.${stamp}.${process.pid}.0.001.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

type DrainOptions = { jobs: number; concurrency: number; prefetch: number; profileDir?: string };

export async function throughput(lib: QueueLib, url: string, o: DrainOptions): Promise<ThroughputResult> {
  const filled = performance.now();
  await lib.fill(o.jobs);
  const fillMs = performance.now() - filled;
  return { scenario: 'throughput', jobs: o.jobs, concurrency: o.concurrency, prefetch: o.prefetch, fillMs: Math.round(fillMs), ...(await drain(lib, url, o)) };
}

/** Redis memory, bytes: used_memory, and two parts of it that are not the jobs. */
async function memory(probe: Redis): Promise<{ usedMemory: number; scripts: number; clients: number }> {
  const info = await probe.info('memory');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
  return { usedMemory: field('used_memory'), scripts: field('used_memory_scripts'), clients: field('mem_clients_normal') };
}

/**
 * The Lua script cache (a library's first call of each script loads it) is
 * left out of bytesPerJob; the client buffers are not (they shrink and grow
 * with each reply, more than the sum of what the jobs take at small sizes) -
 * they are reported beside it.
 */
export async function backlog(lib: QueueLib, url: string, o: DrainOptions): Promise<BacklogResult> {
  const probe = new Redis(url);
  const before = await memory(probe);
  const filled = performance.now();
  await lib.fill(o.jobs);
  const fillMs = performance.now() - filled;
  const after = await memory(probe);
  probe.disconnect();
  const waiting = await lib.leftover();
  const delta = { usedMemory: after.usedMemory - before.usedMemory, scripts: after.scripts - before.scripts, clients: after.clients - before.clients };
  return {
    scenario: 'backlog',
    jobs: o.jobs,
    concurrency: o.concurrency,
    prefetch: o.prefetch,
    fillMs: Math.round(fillMs),
    fillHow: lib.fillHow,
    enqueuePerSec: Math.round((o.jobs / fillMs) * 1000),
    waiting,
    bytesPerJob: round2((delta.usedMemory - delta.scripts) / o.jobs),
    memoryDelta: delta,
    ...(await drain(lib, url, o)),
  };
}

/** The jobs are waiting; one worker at concurrency C; from its start to the last job complete. Closes the library. */
async function drain(lib: QueueLib, url: string, o: DrainOptions): Promise<Pick<ThroughputResult, 'ms' | 'jobsPerSec' | 'completed' | 'leftover' | 'cpuUsPerJob'>> {
  const probe = new Redis(url);
  let completed = 0;
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const redisBefore = await redisCpuUs(probe);
  const stopProfile = o.profileDir ? await profileFrom(o.profileDir) : undefined;
  const cpuBefore = process.cpuUsage();
  const t0 = performance.now();
  let last = t0;
  await lib.work({
    concurrency: o.concurrency,
    prefetch: o.prefetch,
    perform: () => undefined,
    done: () => {
      if (++completed === o.jobs) {
        last = performance.now();
        finished();
      }
    },
    recover: false,
  });
  await allDone;
  const ms = last - t0;
  const cpu = process.cpuUsage(cpuBefore);
  await stopProfile?.();
  const redisUs = (await redisCpuUs(probe)) - redisBefore;
  probe.disconnect();
  // Let a late duplicate show itself before the count is taken.
  await sleep(100);
  const leftover = await lib.leftover();
  await lib.close();
  return {
    ms: round2(ms),
    jobsPerSec: Math.round((o.jobs / ms) * 1000),
    completed,
    leftover,
    cpuUsPerJob: { node: Math.round((cpu.user + cpu.system) / o.jobs), redis: Math.round(redisUs / o.jobs) },
  };
}

export async function pickup(lib: QueueLib, o: { jobs: number; intervalMs: number; warmup: number }): Promise<PickupResult> {
  const sentAt = new Map<number, number>();
  const latencies = new Map<number, number>();
  await lib.work({
    concurrency: 1,
    prefetch: 0,
    perform: (i) => {
      const t = performance.now();
      if (i !== undefined && sentAt.has(i)) latencies.set(i, t - sentAt.get(i)!);
    },
    done: () => {},
    recover: false,
  });
  // Idle for a moment first: the worker should be waiting for work, not starting up.
  await sleep(1000);
  const total = o.warmup + o.jobs;
  for (let i = 0; i < total; i++) {
    const next = performance.now() + o.intervalMs;
    sentAt.set(i, performance.now());
    await lib.add(i);
    await sleep(Math.max(0, next - performance.now()));
  }
  // The last job may still be waiting for a poll (node-resque sleeps 5 s between polls by default).
  const deadline = Date.now() + 30_000;
  while (latencies.size < total && Date.now() < deadline) await sleep(20);
  await lib.close();
  const measured = [...Array(o.jobs).keys()].map((k) => latencies.get(o.warmup + k)).filter((v): v is number => v !== undefined);
  if (measured.length < o.jobs) throw new Error(`pickup: only ${measured.length} of ${o.jobs} jobs started within 30 s of the last add`);
  const sorted = [...measured].sort((a, b) => a - b);
  return {
    scenario: 'pickup',
    jobs: o.jobs,
    intervalMs: o.intervalMs,
    latenciesMs: measured.map(round2),
    p50: round2(percentile(sorted, 50)!),
    p99: round2(percentile(sorted, 99)!),
    max: round2(sorted[sorted.length - 1]!),
  };
}

/**
 * One side of the recovery scenario. Both roles start a worker (with the
 * library's recovery machinery) whose job never finishes; the victim also adds
 * that one job. Prints "ready" and every job start, and runs until killed.
 */
export async function recovery(lib: QueueLib, role: 'victim' | 'rescuer'): Promise<never> {
  const say = (bench: RecoveryEvent['bench']) => process.stdout.write(`${JSON.stringify({ bench, at: Date.now() } satisfies RecoveryEvent)}\n`);
  await lib.work({
    concurrency: 1,
    prefetch: 0,
    perform: () => {
      say('started');
      return new Promise(() => {}); // never finishes: only a crash ends it
    },
    done: () => {},
    recover: true,
  });
  say('ready');
  if (role === 'victim') await lib.add(0);
  return new Promise<never>(() => {}); // until run.ts kills this process
}

/** The jobs are in Redis before the worker starts; the clock starts when it does. */
export async function scaling(lib: QueueLib, o: { jobs: number; jobMs: number; max: number; multi: boolean; checkMs: number; maxDelayMs: number }): Promise<ScalingResult> {
  await lib.fill(o.jobs);
  const done: number[] = [];
  let running = 0;
  let peak = 0;
  let peakAt = 0;
  const seen = (n: number) => n > peak && ((peak = n), (peakAt = performance.now() - t0));
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const t0 = performance.now();
  await lib.work({
    concurrency: o.max,
    prefetch: 0,
    // A fixed worker's count is its running jobs; a multiWorker's, its processors.
    perform: async () => {
      if (!o.multi) seen(++running);
      await sleep(o.jobMs);
      running--;
    },
    done: () => {
      done.push(performance.now() - t0);
      if (done.length === o.jobs) finished();
    },
    recover: false,
    ...(o.multi ? { scale: { max: o.max, checkMs: o.checkMs, maxDelayMs: o.maxDelayMs, onProcessors: seen } } : {}),
  });
  await allDone;
  await lib.close();

  const totalMs = done[done.length - 1]!;
  const ceiling = (o.max * 1000) / o.jobMs;
  const windowMs = 250;
  let fullSpeedMs: number | null = null;
  for (let i = 0, j = 0; i < done.length; i++) {
    while (done[j]! <= done[i]! - windowMs) j++;
    if (done[i]! >= windowMs && i - j + 1 >= 0.9 * ceiling * (windowMs / 1000)) {
      fullSpeedMs = done[i]! - windowMs;
      break;
    }
  }
  const after = fullSpeedMs === null ? 0 : done.filter((t) => t > fullSpeedMs!).length;
  return {
    scenario: 'scaling',
    totalMs,
    jobsPerSec: (o.jobs / totalMs) * 1000,
    steadyJobsPerSec: fullSpeedMs === null ? null : (after / (totalMs - fullSpeedMs)) * 1000,
    fullSpeedMs,
    peakProcessors: peak,
    peakProcessorsAtMs: peakAt,
  };
}

/** The command line of a harness child: `<lib>.ts <scenario> --redis <url> --namespace <ns> [...]`. */
export async function runChild(open: (s: LibSettings) => Promise<QueueLib>, argv = process.argv.slice(2)): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      redis: { type: 'string' },
      namespace: { type: 'string', default: 'bench' },
      jobs: { type: 'string', default: '20000' },
      concurrency: { type: 'string', default: '1' },
      prefetch: { type: 'string', default: '0' },
      'poll-ms': { type: 'string' },
      tuned: { type: 'boolean', default: false },
      'interval-ms': { type: 'string', default: '100' },
      warmup: { type: 'string', default: '5' },
      role: { type: 'string', default: 'victim' },
      'profile-dir': { type: 'string' },
      'no-status': { type: 'boolean', default: false },
      'job-ms': { type: 'string', default: '50' },
      multi: { type: 'boolean', default: false },
      'check-ms': { type: 'string', default: '100' },
      'max-delay': { type: 'string', default: '10' },
    },
  });
  const scenario = positionals[0] as Scenario | undefined;
  if (!values.redis || !scenario) throw new Error('usage: <lib>.ts throughput|pickup|recovery|scaling|backlog --redis <url> [--namespace ns] [--jobs n] [--concurrency c] [--prefetch p] ...');
  const settings: LibSettings = { url: values.redis, namespace: values.namespace, tuned: values.tuned, keepStatus: !values['no-status'] };
  if (values['poll-ms'] !== undefined) settings.pollMs = Number(values['poll-ms']);
  const lib = await open(settings);
  const print = (result: object) => process.stdout.write(`${JSON.stringify({ bench: 'result', ...result })}\n`);
  if (scenario === 'throughput' || scenario === 'backlog') {
    const measured = scenario === 'throughput' ? throughput : backlog;
    print(await measured(lib, values.redis, { jobs: Number(values.jobs), concurrency: Number(values.concurrency), prefetch: Number(values.prefetch), profileDir: values['profile-dir'] }));
  } else if (scenario === 'pickup') {
    print(await pickup(lib, { jobs: Number(values.jobs), intervalMs: Number(values['interval-ms']), warmup: Number(values.warmup) }));
  } else if (scenario === 'recovery') {
    await recovery(lib, values.role === 'rescuer' ? 'rescuer' : 'victim');
  } else if (scenario === 'scaling') {
    const n = (flag: 'job-ms' | 'check-ms' | 'max-delay') => Number(values[flag]);
    print(await scaling(lib, { jobs: Number(values.jobs), jobMs: n('job-ms'), max: Number(values.concurrency), multi: values.multi, checkMs: n('check-ms'), maxDelayMs: n('max-delay') }));
  } else {
    throw new Error(`unknown scenario "${String(scenario)}"`);
  }
}

/** The main-module tail every harness ends with: run, print, exit (a library may hold timers open). */
export function childMain(open: (s: LibSettings) => Promise<QueueLib>): void {
  runChild(open).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
