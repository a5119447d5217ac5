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
import type { MultiWorkerRun, QueueBenchResult } from './types.ts';

/** What our queue library sets out to be: twice BullMQ's throughput, an idle pickup faster than a poll, a dead worker's job back within seconds. */
export const GOALS = { xBullmq: 2, pickupP50Ms: 2, recoveryS: 10 } as const;

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
  return out;
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

export function profileTable(result: QueueBenchResult): Table {
  const rows = [...result.profiles]
    .sort((a, b) => a.target.localeCompare(b.target))
    .map((p) => [p.target, int(p.busyMs), p.top.slice(0, 6).map((t) => `${t.where} ${(t.share * 100).toFixed(0)}%`).join(', ')]);
  return { headers: ['run (the worker process)', 'busy ms', 'top self time'], rows, right: [false, true, false] };
}

export function goalsTable(result: QueueBenchResult): Table {
  return { headers: ['goal', 'measured', 'met?'], rows: goals(result).map((g) => [g.goal, g.measured, g.met]) };
}

// ---------------------------------------------------------------- documents

export const queueMachineLine = (m: QueueBenchResult['machine']) => `${machineLine(m)} · Redis ${m.redis}`;

export function commandLine(s: QueueBenchResult['settings']): string {
  const args = (...keys: (keyof QueueBenchResult['settings'])[]) => knobArgs(knobs, s, keys);
  const parts = ['npm run bench:queue --', ...args('scenarios', 'libraries', 'jobs', 'concurrency', 'prefetch', 'resquePollMs', 'rounds', 'pickupJobs', 'pickupIntervalMs', 'recoveryRounds', 'recoveryCapS', 'quick')];
  if (s.multiWorkerArgs) parts.push(`--multi-worker-args "${s.multiWorkerArgs}"`);
  return [...parts, ...args('cpuProf')].join(' ');
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
      `${int(s.jobs)} no-op jobs in the queue (each library's bulk add), then one worker process at concurrency c; from starting the worker to the last job complete in Redis. ${s.rounds} round(s), every row once per round in a rotated order, each run a fresh process; median (min-max). "x BullMQ" divides by BullMQ's jobs/s of the same round. CPU per job: the worker process, and redis-server, while the worker ran (medians). Ours keeps each job's status hash (its default); BullMQ deletes each job on completion (removeOnComplete). node-resque runs one job per Worker, so c=${Math.max(...s.concurrency)} is ${Math.max(...s.concurrency)} Workers (connections) in the process.`,
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
  if (result.runs.throughput.length + result.runs.pickup.length + result.runs.recovery.length > 0) {
    lines.push(`${h} Goals`, '', markdownTable(goalsTable(result)), '');
  }
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
  if (result.runs.throughput.length + result.runs.pickup.length + result.runs.recovery.length > 0) parts.push('', 'GOALS', textTable(goalsTable(result)));
  if (result.profiles.length > 0) parts.push('', 'WHERE THE CPU GOES (--cpu-prof, throughput)', textTable(profileTable(result)));
  if (result.multiWorker) parts.push('', `MULTIWORKER (${result.multiWorker.command})`, result.multiWorker.exitCode === 0 ? multiWorkerText(result.multiWorker) : `failed (exit ${result.multiWorker.exitCode}):\n${result.multiWorker.stderr ?? ''}`);
  return parts.join('\n') + '\n';
}

/**
 * The newest queue-<date>.json in `out`, as the section `npm run bench` puts
 * in its report (BenchResult.queue); null when bench:queue has not run.
 */
export async function newestQueueSection(out: string): Promise<{ markdown: string; file: string; startedAt: string } | null> {
  const dir = path.resolve(ROOT, out);
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => /^queue-\d{4}-\d\d-\d\dT.*\.json$/.test(f)).sort();
  const newest = files[files.length - 1];
  if (!newest) return null;
  const file = path.join(dir, newest);
  const result = JSON.parse(await readFile(file, 'utf8')) as QueueBenchResult;
  const rel = path.relative(ROOT, file).split(path.sep).join('/');
  const markdown = [
    `From \`${rel}\` (${result.startedAt.slice(0, 10)}, ${result.durationS} s): \`${commandLine(result.settings)}\`  `,
    `Machine: ${queueMachineLine(result.machine)}`,
    '',
    markdownSections(result, 3),
  ].join('\n');
  return { markdown, file: rel, startedAt: result.startedAt };
}
