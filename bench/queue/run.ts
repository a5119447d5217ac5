// npm run bench:queue - our queue library against BullMQ 6 and node-resque 9,
// in the same run, on the same private redis-server:
//
//   throughput  no-op jobs/s through one worker process at each --concurrency
//               (ours twice: prefetch 0, and --prefetch)
//   pickup      enqueue -> job start for an idle worker, p50 / p99
//   recovery    SIGKILL a worker mid-job, start a fresh one: kill -> the job
//               starting again (each library's defaults; node-resque also tuned)
//   multi-worker  bench/queue/multi-worker.ts (strategy 5's benchmark), run as
//               it is, its tables quoted
//   backlog     (only when named) at each --backlog-sizes: the bulk add's
//               jobs/s, Redis memory per waiting job, then one worker's drain
//               jobs/s; ours and BullMQ, on a Redis without persistence
//
// Every measured run is a fresh child process (bench/queue/<library>.ts),
// with its own key prefix; Redis is flushed between runs. A shared or virtual
// machine's speed can drift 2x within minutes, so throughput and pickup run in rounds,
// every row once per round, the order rotated each round, and the report
// quotes medians with their range and ratios to BullMQ *of the same round*.
// Recovery is timers, not CPU: its rows run side by side, which saves minutes.
//
// Writes <out>/queue-<date>.json (raw figures, the machine) and
// <out>/queue-<date>.md; `npm run bench` puts the newest into its report.
//
//   npm run bench:queue -- --help
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { createRedis, startPrivateRedis } from '../../shared/redis.ts';
import { ROOT } from '../../shared/root.ts';
import { cliMain } from '../knobs.ts';
import { describeMachine, endLoadAverage } from '../machine.ts';
import { killAllNow, killAllOnSignal, signalGroup, spawnEntry } from '../processes.ts';
import { summarizeProfiles, type ProfileDir } from '../profile.ts';
import { fileStamp } from '../write.ts';
import { benchLine, lastOutput, measure, startHarness } from './harness.ts';
import { helpText, parseOptions, type Library, type QueueBenchOptions } from './options.ts';
import { commandLine, markdownFile, terminalReport } from './report.ts';
import type { BacklogResult, BacklogRun, MultiWorkerRun, PickupResult, PickupRun, QueueBenchResult, RecoveryRun, ThroughputResult, ThroughputRun } from './types.ts';

const MULTI_WORKER = 'bench/queue/multi-worker.ts';

/** Stops the private Redis of the run in progress (Ctrl-C). */
let stopRedis: (() => Promise<void>) | undefined;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- the plan

/** One row of a table: a library with its settings, and the harness arguments that set them. */
interface Row {
  /** Stable id of the row within its scenario (ours-p0, bullmq, node-resque-tuned...). */
  key: string;
  library: Library;
  /** What the row is, settings included. */
  label: string;
  args: string[];
}

const LABEL: Record<Library, string> = { ours: 'ours', bullmq: 'BullMQ 6', 'node-resque': 'node-resque 9' };

function throughputRows(o: QueueBenchOptions, concurrency: number): Row[] {
  const rows: Row[] = [];
  const c = String(concurrency);
  for (const library of o.libraries) {
    if (library === 'ours') {
      for (const prefetch of o.prefetch > 0 ? [0, o.prefetch] : [0]) {
        rows.push({ key: `ours-p${prefetch}`, library, label: `ours, prefetch ${prefetch}`, args: ['--concurrency', c, '--prefetch', String(prefetch)] });
      }
    } else if (library === 'bullmq') {
      rows.push({ key: 'bullmq', library, label: `${LABEL.bullmq}, removeOnComplete`, args: ['--concurrency', c] });
    } else {
      const workers = concurrency === 1 ? 'a Worker' : `${concurrency} Workers`;
      rows.push({ key: 'node-resque', library, label: `${LABEL['node-resque']}, ${workers}, timeout ${o.resquePollMs} ms`, args: ['--concurrency', c, '--poll-ms', String(o.resquePollMs)] });
    }
  }
  return rows;
}

function pickupRows(o: QueueBenchOptions): Row[] {
  const detail: Record<Library, string> = { ours: 'defaults', bullmq: 'defaults', 'node-resque': 'defaults: polls every 5 s' };
  return o.libraries.map((library) => ({ key: library, library, label: `${LABEL[library]}, ${detail[library]}`, args: [] }));
}

function recoveryRows(o: QueueBenchOptions): Row[] {
  const rows: Row[] = [];
  for (const library of o.libraries) {
    if (library === 'ours') rows.push({ key: 'ours', library, label: 'ours, defaults: heartbeat TTL 5 s, scheduler in every worker process', args: [] });
    if (library === 'bullmq') rows.push({ key: 'bullmq', library, label: `${LABEL.bullmq}, defaults: lockDuration 30 s, stalledInterval 30 s`, args: [] });
    if (library === 'node-resque') {
      rows.push({ key: 'node-resque', library, label: `${LABEL['node-resque']}, defaults: stuckWorkerTimeout 1 h, retryStuckJobs off`, args: [] });
      rows.push({ key: 'node-resque-tuned', library, label: `${LABEL['node-resque']}, tuned: stuckWorkerTimeout 10 s, retryStuckJobs, leaderLockTimeout 10 s`, args: ['--tuned'] });
    }
  }
  return rows;
}

function backlogRows(o: QueueBenchOptions): Row[] {
  const args = ['--concurrency', String(o.backlogConcurrency), '--prefetch', '0'];
  const rows: Row[] = [];
  if (o.libraries.includes('ours')) rows.push({ key: 'ours', library: 'ours', label: 'ours, prefetch 0, job status kept', args });
  if (o.libraries.includes('bullmq')) rows.push({ key: 'bullmq', library: 'bullmq', label: `${LABEL.bullmq}, removeOnComplete`, args });
  return rows;
}

/** Round r's order: the rows rotated by r, so no row always runs first (or on the warmest slot). */
const rotate = <T>(rows: T[], r: number) => rows.map((_, i) => rows[(i + r) % rows.length]!);

// ---------------------------------------------------------------- the run

export interface Observer {
  note(text: string): void;
}

export async function runQueueBench(o: QueueBenchOptions, observer: Observer = { note: () => {} }, stamp = fileStamp()): Promise<QueueBenchResult> {
  const started = Date.now();
  const machine = describeMachine();
  const server = await startPrivateRedis();
  stopRedis = () => server.stop();
  const probe: Redis = createRedis(server.url);
  const notes: string[] = [];
  const runs: Required<QueueBenchResult['runs']> = { throughput: [], pickup: [], recovery: [], backlog: [] };
  let multiWorker: MultiWorkerRun | null = null;
  const profileDirs: ProfileDir[] = [];
  let redisVersion = '?';
  let seq = 0;
  const ns = (what: string) => `bq${++seq}-${what}`;
  const flush = () => probe.flushall();
  const has = (s: string) => o.scenarios.includes(s as never);
  try {
    redisVersion = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1] ?? '?';

    if (has('throughput')) {
      for (let round = 1; round <= o.rounds; round++) {
        for (const concurrency of o.concurrency) {
          for (const row of rotate(throughputRows(o, concurrency), round - 1)) {
            await flush();
            const profile: string[] = [];
            if (o.cpuProf) {
              const dir = path.resolve(ROOT, o.out, `queue-${stamp}-profiles`, `${row.key}-c${concurrency}-r${round}`);
              await mkdir(dir, { recursive: true });
              profileDirs.push({ target: `${row.label}, c=${concurrency}`, dir, roles: new Map() });
              profile.push('--profile-dir', dir);
            }
            const r = await measure<ThroughputResult>(row.library, ['throughput', '--redis', server.url, '--namespace', ns(row.key), '--jobs', String(o.jobs), ...row.args, ...profile]);
            runs.throughput.push({ round, row: row.key, library: row.library, label: row.label, ...r } satisfies ThroughputRun);
            observer.note(`throughput c=${concurrency} round ${round}/${o.rounds} ${row.label}: ${r.jobsPerSec.toLocaleString('en-US')} jobs/s`);
            if (r.completed !== r.jobs || r.leftover !== 0) {
              notes.push(`${row.label}, c=${concurrency}, round ${round}: ${r.completed} of ${r.jobs} reported complete, ${r.leftover} left in Redis.`);
            }
          }
        }
      }
    }

    if (has('pickup')) {
      for (let round = 1; round <= o.rounds; round++) {
        for (const row of rotate(pickupRows(o), round - 1)) {
          await flush();
          const r = await measure<PickupResult>(row.library, ['pickup', '--redis', server.url, '--namespace', ns(row.key), '--jobs', String(o.pickupJobs), '--interval-ms', String(o.pickupIntervalMs), ...row.args]);
          runs.pickup.push({ round, row: row.key, library: row.library, label: row.label, ...r } satisfies PickupRun);
          observer.note(`pickup round ${round}/${o.rounds} ${row.label}: p50 ${r.p50} ms, p99 ${r.p99} ms`);
        }
      }
    }

    if (has('recovery')) {
      for (let round = 1; round <= o.recoveryRounds; round++) {
        await flush();
        observer.note(`recovery round ${round}/${o.recoveryRounds}: every library side by side, up to ${o.recoveryCapS} s after its kill`);
        const results = await Promise.all(recoveryRows(o).map((row) => recoveryTrial(row, round, server.url, ns(row.key), o.recoveryCapS)));
        for (const r of results) {
          runs.recovery.push(r);
          observer.note(`recovery round ${round} ${r.label}: ${r.recoveredMs === null ? `never within ${o.recoveryCapS} s` : `${(r.recoveredMs / 1000).toFixed(1)} s`}`);
        }
      }
      await flush();
    }

    if (has('multi-worker')) multiWorker = await runMultiWorker(o, observer);

    if (has('backlog')) {
      // No append-only file for these runs: a million jobs would make Redis
      // rewrite it in a fork mid-run. No maxmemory, so nothing is evicted.
      await probe.config('SET', 'appendonly', 'no');
      await probe.config('SET', 'maxmemory', '0');
      // Each run's memory is read from a Redis that has freed the last run's
      // connections (their close reaches it after the process is gone), and
      // after one uncounted run per library (a fresh server's first tables).
      const runBacklog = async (row: Row, size: number) => {
        await flush();
        await aloneOn(probe);
        // A million jobs through a slow library on a busy machine can take more than the usual 10 minutes.
        return measure<BacklogResult>(row.library, ['backlog', '--redis', server.url, '--namespace', ns(row.key), '--jobs', String(size), ...row.args], 40 * 60_000);
      };
      for (const row of backlogRows(o)) await runBacklog(row, 1000);
      for (let round = 1; round <= o.backlogRounds; round++) {
        for (const size of o.backlogSizes) {
          for (const row of rotate(backlogRows(o), round - 1)) {
            const r = await runBacklog(row, size);
            runs.backlog.push({ round, row: row.key, library: row.library, label: row.label, ...r } satisfies BacklogRun);
            observer.note(`backlog ${size.toLocaleString('en-US')} round ${round}/${o.backlogRounds} ${row.label}: enqueue ${r.enqueuePerSec.toLocaleString('en-US')} jobs/s, ${Math.round(r.bytesPerJob)} bytes a waiting job, drain ${r.jobsPerSec.toLocaleString('en-US')} jobs/s`);
            if (r.waiting !== r.jobs || r.completed !== r.jobs || r.leftover !== 0) {
              notes.push(`backlog ${row.label}, ${r.jobs} jobs, round ${round}: ${r.waiting} waiting after the add, ${r.completed} reported complete, ${r.leftover} left in Redis.`);
            }
          }
        }
      }
      // Left off: the backlog runs last, and a Redis that has just turned its
      // append-only file on refuses SIGTERM until it has written the file.
      await flush();
    }
  } finally {
    killAllNow();
    probe.disconnect();
    await server.stop();
    stopRedis = undefined;
  }
  machine.loadAverage.end = endLoadAverage();
  const profiles = o.cpuProf ? await summarizeProfiles(profileDirs) : [];
  if (o.cpuProf) notes.push('Throughput ran under a CPU profiler (from the worker start to the last job): its figures are slower than an unprofiled run.');
  return {
    schema: 1,
    kind: 'queue',
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date().toISOString(),
    durationS: Math.round((Date.now() - started) / 1000),
    machine: { ...machine, redis: redisVersion },
    settings: settingsOf(o),
    runs,
    multiWorker,
    profiles,
    notes,
  };
}

/** Until the probe is the only client Redis still has (10 s at most). */
async function aloneOn(probe: Redis): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(10)) {
    if (/^connected_clients:1\r?$/m.test(await probe.info('clients'))) return;
  }
  throw new Error('backlog: Redis still had other clients 10 s after the last run ended');
}

/** SIGKILL a worker process mid-job, start a fresh one, time kill -> the job's next start. */
async function recoveryTrial(row: Row, round: number, url: string, namespace: string, capS: number): Promise<RecoveryRun> {
  const args = ['recovery', '--redis', url, '--namespace', namespace, ...row.args];
  const base = { round, row: row.key, library: row.library, label: row.label, capS };
  const victim = startHarness(row.library, [...args, '--role', 'victim']);
  const first = await benchLine(victim, 'started', 60_000);
  if (!first) {
    signalGroup(victim.pid, 'SIGKILL');
    return { ...base, recoveredMs: null, rescuerReadyMs: null, error: `the job never started in the first worker:\n${lastOutput(victim)}` };
  }
  await sleep(500); // mid-job, not at its first instruction
  const killedAt = Date.now();
  signalGroup(victim.pid, 'SIGKILL');
  await victim.exited;
  const rescuer = startHarness(row.library, [...args, '--role', 'rescuer']);
  try {
    const ready = await benchLine(rescuer, 'ready', capS * 1000);
    const again = await benchLine(rescuer, 'started', Math.max(0, killedAt + capS * 1000 - Date.now()));
    return {
      ...base,
      recoveredMs: again ? Number(again.at) - killedAt : null,
      rescuerReadyMs: ready ? Number(ready.at) - killedAt : null,
      ...(ready ? {} : { error: `the fresh worker did not start:\n${lastOutput(rescuer)}` }),
    };
  } finally {
    signalGroup(rescuer.pid, 'SIGKILL');
    await rescuer.exited;
  }
}

/** Strategy 5's benchmark as it is, in its own process (it starts its own Redis); its stdout is quoted. */
async function runMultiWorker(o: QueueBenchOptions, observer: Observer): Promise<MultiWorkerRun> {
  const args = o.multiWorkerArgs.trim() !== ''
    ? o.multiWorkerArgs.trim().split(/\s+/).map((a) => (a === "''" || a === '""' ? '' : a))
    : o.quick
      ? ['--rounds', '1', '--jobs', '1000', '--email-max', '']
      : ['--rounds', String(o.rounds), '--email-max', ''];
  args.push('--out', ''); // its output is quoted in this benchmark's results, not written twice
  const command = `node --import tsx bench/queue/multi-worker.ts ${args.map((a) => (a === '' ? "''" : a)).join(' ')}`;
  observer.note(`multi-worker: ${command}`);
  const t0 = Date.now();
  const out: string[] = [];
  const err: string[] = [];
  const child = spawnEntry({
    name: 'multi-worker',
    entry: MULTI_WORKER,
    args,
    watch: [],
    onOutput(line, stream) {
      if (stream === 'stderr') return void err.push(line);
      out.push(line);
      if (/^\s+round /.test(line)) observer.note(`multi-worker:${line}`);
    },
  });
  const { code } = await child.exited;
  return { command, exitCode: code, durationS: Math.round((Date.now() - t0) / 1000), output: out.join('\n'), ...(code === 0 ? {} : { stderr: err.slice(-20).join('\n') }) };
}

function settingsOf(o: QueueBenchOptions): QueueBenchResult['settings'] {
  const { out: _o, write: _w, json: _j, ...rest } = o as QueueBenchOptions & { help?: boolean };
  delete (rest as { help?: boolean }).help;
  return rest;
}

export async function writeQueueResults(result: QueueBenchResult, out: string, stamp: string): Promise<{ json: string; report: string }> {
  const dir = path.resolve(ROOT, out);
  await mkdir(dir, { recursive: true });
  const json = path.join(dir, `queue-${stamp}.json`);
  const report = path.join(dir, `queue-${stamp}.md`);
  await writeFile(json, JSON.stringify(result, null, 2) + '\n');
  await writeFile(report, markdownFile(result));
  return { json, report };
}

// ---------------------------------------------------------------- the CLI

export async function main(o: QueueBenchOptions): Promise<number> {
  let interrupted = false;
  killAllOnSignal(async (signal) => {
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping every process the benchmark started; no results written\n`);
    await stopRedis?.();
  });
  const stamp = fileStamp();
  const t0 = Date.now();
  const note = (text: string) => process.stderr.write(`[${Math.round((Date.now() - t0) / 1000)}s] ${text}\n`);
  note(`queue micro-benchmark: ${commandLine(settingsOf(o))}`);
  let result: QueueBenchResult;
  try {
    result = await runQueueBench(o, { note }, stamp);
  } catch (err) {
    if (interrupted) return 130; // the children were killed on purpose
    process.stderr.write(`queue benchmark failed: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
  process.stdout.write(o.json ? JSON.stringify(result, null, 2) + '\n' : terminalReport(result));
  if (o.write) {
    const written = await writeQueueResults(result, o.out, stamp);
    process.stderr.write(`\nwrote ${path.relative(ROOT, written.json)} and ${path.relative(ROOT, written.report)}; the next npm run bench puts them in its report\n`);
  }
  return 0;
}

cliMain(import.meta.url, parseOptions, helpText, main);
