// From a queue-<date>.json to what people read: medians with min-max over
// rounds, ratios to BullMQ of the same round, our library's goals checked, the
// terminal tables, the Markdown file, and the section `npm run bench` puts in
// its report. Pure functions of a results file, so an old run can be redrawn.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from '../../shared/root.ts';
import { knobArgs } from '../knobs.ts';
import { machineLine } from '../machine.ts';
import { spread, type Spread } from '../numbers.ts';
import { int, markdownTable, show, textTable, type Table } from '../tables.ts';
import { knobs } from './options.ts';
import type { BacklogRun, MultiWorkerRun, QueueBenchResult } from './types.ts';

/**
 * What our queue library sets out to be: twice BullMQ's throughput, an idle
 * pickup faster than a poll, a dead worker's job back within seconds; with a
 * big backlog, a drain at least 0.9x as fast as with a small one, and no more
 * bytes per waiting job than BullMQ.
 */
export const GOALS = { xBullmq: 2, pickupP50Ms: 2, recoveryS: 10, backlogKeeps: 0.9 } as const;

// ---------------------------------------------------------------- summaries

const x2 = (n: number) => `${n.toFixed(2)}x`;
const ms1 = (n: number) => (n < 10 ? n.toFixed(1) : int(n));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const uniq = <T>(xs: T[]) => [...new Set(xs)];

/** One summary per row, in the order the rows first ran: its id and label, and what `f` makes of its runs (every round). */
const perRow = <R extends { row: string; label: string }, S>(runs: R[], f: (mine: R[]) => S) =>
  uniq(runs.map((r) => r.row)).map((row) => {
    const mine = runs.filter((r) => r.row === row);
    return { row, label: mine[0]!.label, ...f(mine) };
  });

export interface ThroughputSummary {
  row: string;
  label: string;
  concurrency: number;
  jobsPerSec: Spread | null;
  /** jobs/s over BullMQ's jobs/s in the same round and concurrency. */
  xBullmq: Spread | null;
  nodeUs: Spread | null;
  redisUs: Spread | null;
}

export function summarizeThroughput(result: QueueBenchResult): ThroughputSummary[] {
  const runs = result.runs.throughput;
  const out: ThroughputSummary[] = [];
  for (const concurrency of uniq(runs.map((r) => r.concurrency))) {
    const here = runs.filter((r) => r.concurrency === concurrency);
    for (const row of uniq(here.map((r) => r.row))) {
      const mine = here.filter((r) => r.row === row);
      const ratios = mine.flatMap((r) => {
        const b = here.find((x) => x.row === 'bullmq' && x.round === r.round);
        return b && b.jobsPerSec > 0 ? [r.jobsPerSec / b.jobsPerSec] : [];
      });
      out.push({
        row,
        label: mine[0]!.label,
        concurrency,
        jobsPerSec: spread(mine.map((r) => r.jobsPerSec)),
        xBullmq: spread(ratios),
        nodeUs: spread(mine.map((r) => r.cpuUsPerJob?.node ?? NaN)),
        redisUs: spread(mine.map((r) => r.cpuUsPerJob?.redis ?? NaN)),
      });
    }
  }
  return out;
}

export interface PickupSummary {
  row: string;
  label: string;
  rounds: number;
  jobs: number;
  p50: Spread | null;
  p99: Spread | null;
  max: Spread | null;
}

export function summarizePickup(result: QueueBenchResult): PickupSummary[] {
  return perRow(result.runs.pickup, (mine) => ({
    rounds: mine.length,
    jobs: mine.reduce((s, r) => s + r.jobs, 0),
    p50: spread(mine.map((r) => r.p50)),
    p99: spread(mine.map((r) => r.p99)),
    max: spread(mine.map((r) => r.max)),
  }));
}

export interface RecoverySummary {
  row: string;
  label: string;
  capS: number;
  /** One per round: ms, or null for "not within capS". */
  recoveredMs: (number | null)[];
  rescuerReadyMs: (number | null)[];
  errors: string[];
}

export function summarizeRecovery(result: QueueBenchResult): RecoverySummary[] {
  return perRow(result.runs.recovery, (mine) => ({
    capS: mine[0]!.capS,
    recoveredMs: mine.map((r) => r.recoveredMs),
    rescuerReadyMs: mine.map((r) => r.rescuerReadyMs),
    errors: mine.flatMap((r) => (r.error ? [r.error.split('\n')[0]!] : [])),
  }));
}

const recoveredText = (s: RecoverySummary) => {
  const got = s.recoveredMs.filter((v): v is number => v !== null);
  const never = s.recoveredMs.length - got.length;
  if (got.length === 0) return `never within ${s.capS} s${s.recoveredMs.length > 1 ? ` (${s.recoveredMs.length} of ${s.recoveredMs.length})` : ''}`;
  const shown = got.length === 1 ? secs(got[0]!) : `${secs(spread(got)!.median)} (${got.map((v) => (v / 1000).toFixed(1)).join(', ')})`;
  return never > 0 ? `${shown}; never within ${s.capS} s in ${never} of ${s.recoveredMs.length}` : shown;
};

export interface BacklogSummary {
  row: string;
  label: string;
  jobs: number;
  fillHow: string;
  enqueuePerSec: Spread | null;
  bytesPerJob: Spread | null;
  jobsPerSec: Spread | null;
  /** Drain jobs/s over BullMQ's at the same size in the same round. */
  xBullmq: Spread | null;
  /** Drain jobs/s over its own at the smallest size in the same round. */
  xSmallest: Spread | null;
}

export function summarizeBacklog(result: QueueBenchResult): BacklogSummary[] {
  const runs = result.runs.backlog ?? [];
  const smallest = Math.min(...runs.map((r) => r.jobs));
  const sizes = uniq(runs.map((r) => r.jobs)).sort((a, b) => a - b);
  return sizes.flatMap((jobs) =>
    perRow(runs.filter((r) => r.jobs === jobs), (mine) => {
      const ratio = (other: (r: BacklogRun) => BacklogRun | undefined) =>
        spread(mine.flatMap((r) => {
          const o = other(r);
          return o && o.jobsPerSec > 0 ? [r.jobsPerSec / o.jobsPerSec] : [];
        }));
      return {
        jobs,
        fillHow: mine[0]!.fillHow,
        enqueuePerSec: spread(mine.map((r) => r.enqueuePerSec)),
        bytesPerJob: spread(mine.map((r) => r.bytesPerJob)),
        jobsPerSec: spread(mine.map((r) => r.jobsPerSec)),
        xBullmq: ratio((r) => runs.find((x) => x.row === 'bullmq' && x.jobs === jobs && x.round === r.round)),
        xSmallest: ratio((r) => runs.find((x) => x.row === r.row && x.jobs === smallest && x.round === r.round)),
      };
    }),
  );
}

// ---------------------------------------------------------------- goals

export interface Goal {
  goal: string;
  measured: string;
  met: 'yes' | 'no' | 'not measured';
}

export function goals(result: QueueBenchResult): Goal[] {
  const out: Goal[] = [];
  const tp = summarizeThroughput(result);
  for (const concurrency of uniq(tp.map((t) => t.concurrency))) {
    const goal = `ours >= ${GOALS.xBullmq}x BullMQ's jobs/s at concurrency ${concurrency}`;
    const ours = tp.filter((t) => t.concurrency === concurrency && t.row.startsWith('ours') && t.xBullmq);
    if (ours.length === 0) {
      out.push({ goal, measured: 'needs ours and BullMQ in the throughput scenario', met: 'not measured' });
      continue;
    }
    const best = ours.reduce((a, b) => (b.xBullmq!.median > a.xBullmq!.median ? b : a));
    out.push({
      goal,
      measured: ours.map((t) => `${t.label.replace(/^ours, /, '')}: ${show(t.xBullmq, x2)}`).join('; '),
      met: best.xBullmq!.median >= GOALS.xBullmq ? 'yes' : 'no',
    });
  }
  const pickup = summarizePickup(result).find((p) => p.row === 'ours');
  out.push(
    pickup?.p50
      ? { goal: `ours: idle pickup p50 < ${GOALS.pickupP50Ms} ms`, measured: `p50 ${show(pickup.p50, ms1)} ms, p99 ${show(pickup.p99, ms1)} ms`, met: pickup.p50.median < GOALS.pickupP50Ms ? 'yes' : 'no' }
      : { goal: `ours: idle pickup p50 < ${GOALS.pickupP50Ms} ms`, measured: 'pickup not run for ours', met: 'not measured' },
  );
  const rec = summarizeRecovery(result).find((r) => r.row === 'ours');
  if (rec) {
    const ok = rec.recoveredMs.every((v) => v !== null && v < GOALS.recoveryS * 1000);
    out.push({ goal: `ours: SIGKILL -> job running again < ${GOALS.recoveryS} s`, measured: recoveredText(rec), met: ok ? 'yes' : 'no' });
  } else out.push({ goal: `ours: SIGKILL -> job running again < ${GOALS.recoveryS} s`, measured: 'recovery not run for ours', met: 'not measured' });
  return [...out, ...backlogGoals(result)];
}

/** The backlog's two goals, when the backlog ran: none otherwise. */
export function backlogGoals(result: QueueBenchResult): Goal[] {
  const bl = summarizeBacklog(result);
  if (bl.length === 0) return [];
  const ours = bl.filter((b) => b.row === 'ours');
  const [small, big] = [ours[0], ours[ours.length - 1]];
  const keep: Goal = {
    goal: `ours: drain jobs/s with the biggest backlog >= ${GOALS.backlogKeeps}x its jobs/s with the smallest`,
    measured: 'needs ours at two backlog sizes',
    met: 'not measured',
  };
  if (small && big && ours.length >= 2 && big.xSmallest) {
    keep.measured = `${int(big.jobs)} waiting: ${show(big.xSmallest, x2)} its jobs/s with ${int(small.jobs)} (${show(big.jobsPerSec)} against ${show(small.jobsPerSec)})`;
    keep.met = big.xSmallest.median >= GOALS.backlogKeeps ? 'yes' : 'no';
  }
  const pairs = ours.flatMap((o) => {
    const b = bl.find((x) => x.row === 'bullmq' && x.jobs === o.jobs);
    return o.bytesPerJob && b?.bytesPerJob ? [{ jobs: o.jobs, ours: o.bytesPerJob.median, bullmq: b.bytesPerJob.median }] : [];
  });
  // Judged with the biggest backlog: at a thousand jobs, buffers that do not grow with the jobs still show.
  const bytes: Goal = { goal: "ours: Redis bytes per waiting job <= BullMQ's, with the biggest backlog", measured: 'needs ours and BullMQ in the backlog scenario', met: 'not measured' };
  const biggest = pairs[pairs.length - 1];
  if (biggest) {
    bytes.measured = pairs.map((p) => `${int(p.jobs)}: ${int(p.ours)} against ${int(p.bullmq)}`).join('; ');
    bytes.met = biggest.ours <= biggest.bullmq ? 'yes' : 'no';
  }
  return [keep, bytes];
}

// ---------------------------------------------------------------- tables

export function throughputTable(result: QueueBenchResult): Table {
  const tp = summarizeThroughput(result);
  const concurrencies = uniq(tp.map((t) => t.concurrency));
  // One line per row key; ours-p0 and ours-p50 keep their own lines at every concurrency.
  const keys = uniq(tp.map((t) => t.row));
  const rows = keys.map((key) => {
    const any = tp.find((t) => t.row === key)!;
    const label = any.label.replace(/, (a Worker|\d+ Workers),/, ', a Worker per slot,');
    return [
      label,
      ...concurrencies.flatMap((c) => {
        const t = tp.find((x) => x.row === key && x.concurrency === c);
        if (!t) return ['-', '-', '-'];
        const cpu = t.nodeUs && t.redisUs ? `${int(t.nodeUs.median)} + ${int(t.redisUs.median)}` : '-';
        return [show(t.jobsPerSec), t.row === 'bullmq' ? '1.00x' : show(t.xBullmq, x2), cpu];
      }),
    ];
  });
  return {
    headers: ['library, settings', ...concurrencies.flatMap((c) => [`c=${c} jobs/s`, `c=${c} x BullMQ`, `c=${c} CPU µs/job (Node + Redis)`])],
    right: [false, ...concurrencies.flatMap(() => [true, true, true])],
    rows,
  };
}

export function pickupTable(result: QueueBenchResult): Table {
  return {
    headers: ['library, settings', 'p50 ms', 'p99 ms', 'max ms', 'jobs (runs)'],
    right: [false, true, true, true, true],
    rows: summarizePickup(result).map((p) => [p.label, show(p.p50, ms1), show(p.p99, ms1), show(p.max, ms1), `${int(p.jobs)} (${p.rounds})`]),
  };
}

export function recoveryTable(result: QueueBenchResult): Table {
  return {
    headers: ['library, settings', 'job running again after the kill', 'fresh worker ready after'],
    right: [false, true, true],
    rows: summarizeRecovery(result).map((r) => {
      const ready = r.rescuerReadyMs.filter((v): v is number => v !== null);
      return [r.label + (r.errors.length > 0 ? ` (error: ${r.errors[0]})` : ''), recoveredText(r), ready.length > 0 ? secs(spread(ready)!.median) : '-'];
    }),
  };
}

export function backlogTable(result: QueueBenchResult): Table {
  return {
    headers: ['waiting jobs', 'library, settings', 'enqueued by', 'enqueue jobs/s', 'Redis bytes per waiting job', 'drain jobs/s', 'drain x BullMQ', 'drain x smallest backlog'],
    right: [true, false, false, true, true, true, true, true],
    rows: summarizeBacklog(result).map((b) => [
      int(b.jobs),
      b.label,
      b.fillHow,
      show(b.enqueuePerSec),
      show(b.bytesPerJob),
      show(b.jobsPerSec),
      b.row === 'bullmq' ? '1.00x' : show(b.xBullmq, x2),
      show(b.xSmallest, x2),
    ]),
  };
}

export function profileTable(result: QueueBenchResult): Table {
  const rows = [...result.profiles]
    .sort((a, b) => a.target.localeCompare(b.target))
    .map((p) => [p.target, int(p.busyMs), p.top.slice(0, 6).map((t) => `${t.where} ${(t.share * 100).toFixed(0)}%`).join(', ')]);
  return { headers: ['run (the worker process)', 'busy ms', 'top self time'], rows, right: [false, true, false] };
}

export function goalsTable(result: QueueBenchResult, which: Goal[] = goals(result)): Table {
  return { headers: ['goal', 'measured', 'met?'], rows: which.map((g) => [g.goal, g.measured, g.met]) };
}

// ---------------------------------------------------------------- documents

export const queueMachineLine = (m: QueueBenchResult['machine']) => `${machineLine(m)} · Redis ${m.redis}`;

export function commandLine(s: QueueBenchResult['settings']): string {
  const args = (...keys: (keyof QueueBenchResult['settings'])[]) => knobArgs(knobs, s, keys);
  const parts = ['npm run bench:queue --', ...args('scenarios', 'libraries')];
  // The other scenarios' settings only when they ran; results written before the backlog scenario have none of its settings.
  if (s.scenarios.some((x) => x !== 'backlog')) parts.push(...args('jobs', 'concurrency', 'prefetch', 'resquePollMs', 'rounds', 'pickupJobs', 'pickupIntervalMs', 'recoveryRounds', 'recoveryCapS'));
  if (s.scenarios.includes('backlog')) parts.push(...args('backlogSizes', 'backlogRounds', 'backlogConcurrency'));
  parts.push(...args('quick'));
  if (s.multiWorkerArgs) parts.push(`--multi-worker-args "${s.multiWorkerArgs}"`);
  return [...parts, ...args('cpuProf')].join(' ');
}

const measuredAny = (r: QueueBenchResult) => r.runs.throughput.length + r.runs.pickup.length + r.runs.recovery.length + (r.runs.backlog ?? []).length > 0;

/** What the backlog table measured, in a paragraph. */
function backlogText(result: QueueBenchResult): string {
  const s = result.settings;
  return `At each size, that many no-op jobs are put in by the library's bulk add (its own words in the table) with no worker running; the enqueue rate is jobs over the time of the whole add. Then, before the worker starts, Redis memory per waiting job: INFO's used_memory after the add minus before, less the Lua script cache's growth, over the jobs; read from a Redis with no other client left, after one uncounted run of 1,000 jobs per library. At a thousand jobs, allocations that do not grow with the jobs (connection buffers) still move it by up to a few hundred bytes a job; from 100,000 on they are noise. Then one worker process at concurrency ${s.backlogConcurrency} drains them, timed as throughput is. Ours keeps each job's status (its default: a field of one hash while the job waits) and its default ids (25 characters), and runs at prefetch 0; BullMQ with removeOnComplete. Redis runs without an append-only file or maxmemory for these runs; each run is a fresh process on a flushed Redis. ${s.backlogRounds} round(s), each every size in turn with the libraries' order rotated; median (min-max). "x BullMQ" divides by BullMQ's drain at the same size in the same round, "x smallest backlog" by the same library's drain at ${int(Math.min(...s.backlogSizes))} jobs in the same round.`;
}

/**
 * docs/benchmark.md's backlog block (bench:doc), markers excluded: the run,
 * the machine, the table and its two goals; `link` is the run's .md from the doc.
 */
export function backlogBlock(result: QueueBenchResult, link: string): string {
  return [
    `Newest backlog run, ${result.startedAt.slice(0, 10)}: \`${commandLine(result.settings)}\` (${result.durationS} s)  `,
    `Machine: ${queueMachineLine(result.machine)}`,
    '',
    backlogText(result),
    '',
    markdownTable(backlogTable(result)),
    '',
    markdownTable(goalsTable(result, backlogGoals(result))),
    '',
    ...result.notes.map((n) => `- ${n}`),
    ...(result.notes.length > 0 ? [''] : []),
    `The whole run: [${link.replace(/^(\.\.\/)+/, '')}](${link}).`,
  ].join('\n');
}

/** The multi-worker benchmark's own summary: its output without the per-trial progress lines. */
function multiWorkerText(m: MultiWorkerRun): string {
  return m.output
    .split('\n')
    .filter((l) => !/^\s+round \d/.test(l))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** The sections, with headings at `level` (3 inside `npm run bench`'s report, 2 in queue-<date>.md). */
export function markdownSections(result: QueueBenchResult, level = 2): string {
  const h = '#'.repeat(level);
  const s = result.settings;
  const lines: string[] = [];
  if (result.notes.length > 0) lines.push(...result.notes.map((n) => `- ${n}`), '');
  if (result.runs.throughput.length > 0) {
    lines.push(
      `${h} Throughput: no-op jobs/s through one worker process`,
      '',
      `${int(s.jobs)} no-op jobs in the queue (each library's bulk add), then one worker process at concurrency c; from starting the worker to the last job complete in Redis. ${s.rounds} round(s), every row once per round in a rotated order, each run a fresh process; median (min-max). "x BullMQ" divides by BullMQ's jobs/s of the same round. CPU per job: the worker process, and redis-server, while the worker ran (medians). Ours keeps each job's status (its default); BullMQ deletes each job on completion (removeOnComplete). node-resque runs one job per Worker, so c=${Math.max(...s.concurrency)} is ${Math.max(...s.concurrency)} Workers (connections) in the process.`,
      '',
      markdownTable(throughputTable(result)),
      '',
    );
  }
  if (result.runs.pickup.length > 0) {
    lines.push(
      `${h} Idle pickup latency`,
      '',
      `An idle worker (concurrency 1); one job every ${s.pickupIntervalMs} ms from another connection, ${s.pickupJobs} per run (after 5 uncounted); from just before the add to the job function being called. Per-run percentiles, median (min-max) over ${s.rounds} run(s).`,
      '',
      markdownTable(pickupTable(result)),
      '',
    );
  }
  if (result.runs.recovery.length > 0) {
    lines.push(
      `${h} Recovery: SIGKILL mid-job, then a fresh worker process`,
      '',
      `A worker process starts a job that never finishes; 0.5 s later it is killed with SIGKILL, and a fresh worker process (same settings) is started once it is gone. The time is from the kill to the job's next start, which includes starting the fresh process; "never" means not within ${s.recoveryCapS} s. Each library with its worker-side defaults; where the library has a scheduler (ours, node-resque), every worker process runs one. ${s.recoveryRounds} round(s); the rows of a round run side by side (timers, not CPU, set these figures).`,
      '',
      markdownTable(recoveryTable(result)),
      '',
    );
  }
  if ((result.runs.backlog ?? []).length > 0) lines.push(`${h} Backlog: the queue's cost as it grows`, '', backlogText(result), '', markdownTable(backlogTable(result)), '');
  if (measuredAny(result)) lines.push(`${h} Goals`, '', markdownTable(goalsTable(result)), '');
  if (result.multiWorker) {
    const m = result.multiWorker;
    lines.push(`${h} multiWorker: bench/queue/multi-worker.ts`, '', `Strategy 5's benchmark, run as \`${m.command}\` (${m.durationS} s, its own private Redis):`, '');
    lines.push(m.exitCode === 0 ? multiWorkerText(m) : `It failed (exit ${m.exitCode}):\n\n\`\`\`\n${m.stderr ?? ''}\n\`\`\``, '');
  }
  if (result.profiles.length > 0) lines.push(`${h} Where the CPU goes (--cpu-prof, throughput)`, '', markdownTable(profileTable(result)), '');
  return lines.join('\n');
}

export function markdownFile(result: QueueBenchResult): string {
  return [
    `# Queue micro-benchmark, ${result.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`,
    '',
    `Machine: ${queueMachineLine(result.machine)}`,
    '',
    `Command: \`${commandLine(result.settings)}\` (${result.durationS} s)`,
    '',
    markdownSections(result, 2),
  ].join('\n');
}

export function terminalReport(result: QueueBenchResult): string {
  const parts = [`Machine: ${queueMachineLine(result.machine)}`, `Command: ${commandLine(result.settings)}`, ...result.notes];
  if (result.runs.throughput.length > 0) parts.push('', `THROUGHPUT (${int(result.settings.jobs)} no-op jobs, one worker process; median (min-max) over rounds)`, textTable(throughputTable(result)));
  if (result.runs.pickup.length > 0) parts.push('', 'IDLE PICKUP (enqueue -> job start)', textTable(pickupTable(result)));
  if (result.runs.recovery.length > 0) parts.push('', 'RECOVERY (SIGKILL mid-job, then a fresh worker process)', textTable(recoveryTable(result)));
  if ((result.runs.backlog ?? []).length > 0) parts.push('', `BACKLOG (one worker at concurrency ${result.settings.backlogConcurrency} drains the jobs waiting; median (min-max) over rounds)`, textTable(backlogTable(result)));
  if (measuredAny(result)) parts.push('', 'GOALS', textTable(goalsTable(result)));
  if (result.profiles.length > 0) parts.push('', 'WHERE THE CPU GOES (--cpu-prof, throughput)', textTable(profileTable(result)));
  if (result.multiWorker) parts.push('', `MULTIWORKER (${result.multiWorker.command})`, result.multiWorker.exitCode === 0 ? multiWorkerText(result.multiWorker) : `failed (exit ${result.multiWorker.exitCode}):\n${result.multiWorker.stderr ?? ''}`);
  return parts.join('\n') + '\n';
}

/**
 * The newest queue-<date>.json in `out`, as the section `npm run bench` puts
 * in its report (BenchResult.queue); null when bench:queue has not run.
 */
export async function newestQueueSection(out: string): Promise<{ markdown: string; file: string; startedAt: string } | null> {
  const newest = await newestQueueResult(out);
  if (!newest) return null;
  const { result, file: rel } = newest;
  const markdown = [
    `From \`${rel}\` (${result.startedAt.slice(0, 10)}, ${result.durationS} s): \`${commandLine(result.settings)}\`  `,
    `Machine: ${queueMachineLine(result.machine)}`,
    '',
    markdownSections(result, 3),
  ].join('\n');
  return { markdown, file: rel, startedAt: result.startedAt };
}

/** The newest queue-<date>.json in `out` that `wanted` accepts, with its path from the repository's root; null if none. */
export async function newestQueueResult(out: string, wanted: (r: QueueBenchResult) => boolean = () => true): Promise<{ result: QueueBenchResult; file: string } | null> {
  const dir = path.resolve(ROOT, out);
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => /^queue-\d{4}-\d\d-\d\dT.*\.json$/.test(f)).sort();
  for (const name of files.reverse()) {
    const file = path.join(dir, name);
    const result = JSON.parse(await readFile(file, 'utf8')) as QueueBenchResult;
    if (wanted(result)) return { result, file: path.relative(ROOT, file).split(path.sep).join('/') };
  }
  return null;
}
