// The benchmark as a sequence of runs. Each run starts the target in fresh
// processes, loads it, optionally crashes it, drains, counts and stops it:
//
//   load   rounds of every target, interleaved (A B C, then C B A, ...), so a
//          drifting machine hits all targets alike; ratios use the baseline
//          of the same round
//   sweep  per target, one process set, the sink's latency stepped up while a
//          steady load runs: response time against SMTP latency
//   crash  per strategy, a steady load, SIGKILL halfway, drain, count
//   faults per (strategy, fault), in faults.ts
//
// A target may run in some passes only (targets.ts): 6-claim and 6-pubsub
// each answer one question of the crash pass.
//
// Only the harness's own processes are touched; everything it starts is
// stopped before the next run begins.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from '../shared/root.ts';
import { account } from './accounting.ts';
import { crash, waitForPending } from './crash.ts';
import { drain } from './drain.ts';
import { faultApplies, faultCell } from './faults.ts';
import { startTarget, stopTarget, type TargetRun } from './launch.ts';
import { cpuShares, cpuSnapshot } from './cpu.ts';
import { startLoad, type LoadRecord, type RunningLoad } from './load.ts';
import { describeMachine, endLoadAverage } from './machine.ts';
import type { BenchOptions, FaultName, Pass } from './options.ts';
import { spawnEntry, stopAll, stopProc } from './processes.ts';
import { summarizeProfiles, type ProfileDir } from './profile.ts';
import { newestQueueSection } from './queue/report.ts';
import { heldBy, redelivery, startClaimer, waitUntilHeld } from './redelivery.ts';
import { startSinkProcess, type LedgerEntry, type SinkClient } from './sink.ts';
import { isSupervised, runsIn, selectTargets, type Target } from './targets.ts';
import { fileStamp } from './write.ts';
import type { BenchResult, CrashRun, Delivery, DrainResult, LoadRun, ProgressEvent, Settings, SweepRun } from './types.ts';

export interface Observer {
  progress?(event: ProgressEvent): void;
  note?(text: string): void;
}

interface Cell {
  pass: Pass;
  target: Target;
  round?: number;
  fault?: FaultName;
  /** The sink honours idempotency keys in this run. */
  idempotency: boolean;
  /** redis-failover: ENQUEUE_REPLICAS of the run (it runs once with 0, once with 1). */
  enqueueReplicas?: number;
  /** METRICS for a load run; labelled in its target's name when --metrics asked for both. */
  metrics?: 'off' | 'on';
  estimateMs: number;
}

/** A load run's target name: with --metrics off,on each strategy is two rows, "<name>, metrics off|on". */
const metricsLabel = (options: Pick<BenchOptions, 'metrics'>, target: Target, metrics: 'off' | 'on' | undefined) =>
  options.metrics.length > 1 && target.key !== 'baseline' && metrics ? `${target.name}, metrics ${metrics}` : target.name;

/**
 * The sink's idempotency settings a run is repeated with: 4, 5 and 6 in the
 * crash pass and under kill-repeatedly - the runs where a recovered job sends
 * again, the repeats the key is for - run once per --idempotency value, so
 * off and on sit side by side from one benchmark. Every other run keeps the
 * sink's default, off: 1-3 send nothing again after a kill, and the other
 * faults make no repeats the key would catch, so running them twice would
 * only lengthen the faults pass.
 */
export function idempotencyRuns(options: Pick<BenchOptions, 'idempotency'>, pass: Pass, target: Target, fault?: FaultName): boolean[] {
  const both = ['4', '5', '6'].includes(target.key) && (pass === 'crash' || (pass === 'faults' && fault === 'kill-repeatedly'));
  return both ? options.idempotency.map((v) => v === 'on') : [false];
}

// Start (one tsx process ~0.6 s; a supervisor and its children more; 4-6
// also start a Redis; 6-claim a second consumer, and its killed one comes back
// 5 s late) and stop (a strategy with a backlog uses its 1 s hard stop).
const overheadMs = (t: Target) => ({ baseline: 700, '1': 800, '2': 1800, '3': 3500, '4': 5000, '5': 5000, '6': 5500, '6-claim': 10_000, '6-pubsub': 5500 })[t.key] ?? 4000;

function plan(options: BenchOptions, chosen: Target[]): Cell[] {
  const cells: Cell[] = [];
  const sec = (s: number) => s * 1000;
  if (options.passes.includes('load')) {
    const loaded = chosen.filter((t) => runsIn(t, 'load'));
    for (let round = 1; round <= options.rounds; round++) {
      // Alternate the order so neither end of a round is always the same target.
      const order = round % 2 === 1 ? loaded : [...loaded].reverse();
      for (const target of order) {
        // Flat out, every strategy that answers before sending has a backlog left: the drain runs to its deadline.
        const drainMs = isSupervised(target) || target.key === '2' ? sec(options.drainTimeout) : 300;
        // The baseline serves no metrics: it runs once per round.
        for (const metrics of target.key === 'baseline' ? [undefined] : options.metrics) {
          cells.push({ pass: 'load', target, round, idempotency: false, metrics, estimateMs: overheadMs(target) + sec(options.duration) + drainMs });
        }
      }
    }
  }
  if (options.passes.includes('sweep') && options.sweepLatenciesMs.length > 0) {
    for (const target of chosen.filter((t) => runsIn(t, 'sweep'))) {
      cells.push({ pass: 'sweep', target, idempotency: false, estimateMs: overheadMs(target) + options.sweepLatenciesMs.length * (sec(options.sweepDuration) + 300) });
    }
  }
  if (options.passes.includes('crash')) {
    for (const target of chosen.filter((t) => t.crash !== 'none' && runsIn(t, 'crash'))) {
      for (const idempotency of idempotencyRuns(options, 'crash', target)) {
        cells.push({ pass: 'crash', target, idempotency, estimateMs: overheadMs(target) + sec(options.crashDuration) + (isSupervised(target) ? sec(options.crashDuration) : 500) });
      }
    }
  }
  if (options.passes.includes('faults')) {
    for (const fault of options.faults) {
      for (const target of chosen.filter((t) => t.sends && faultApplies(fault, t))) {
        // 4 and 5 wait out a dead worker's heartbeat (5 s) after a kill; retries after an outage take seconds too.
        const drainMs = target.redis || isSupervised(target) ? 8000 : 2000;
        for (const idempotency of idempotencyRuns(options, 'faults', target, fault)) {
          // A failover runs in both modes: what an acknowledged write may lose (0), and what waiting for a replica costs (1).
          for (const enqueueReplicas of fault === 'redis-failover' ? [0, 1] : [undefined]) {
            cells.push({ pass: 'faults', target, fault, idempotency, enqueueReplicas, estimateMs: overheadMs(target) + 4000 * Number(fault === 'redis-failover') + sec(options.faultDuration) + drainMs });
          }
        }
      }
    }
  }
  return cells;
}

const settingsOf = (options: BenchOptions): Settings => {
  const { out: _o, write: _w, json: _j, progress: _p, ...rest } = options as BenchOptions & { help?: boolean };
  delete (rest as { help?: boolean }).help;
  return rest;
};

/** Rejects when the signal aborts: for waits that have no signal of their own. */
const untilAborted = (signal: AbortSignal | undefined) =>
  new Promise<never>((_, reject) => {
    if (!signal) return;
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });

/** Runs the whole benchmark; every process it starts is stopped before it returns or throws. */
export async function runBench(options: BenchOptions, observer: Observer = {}, signal?: AbortSignal, stamp = fileStamp()): Promise<BenchResult> {
  const started = Date.now();
  const machine = describeMachine();
  const { chosen, skipped } = selectTargets(options.strategies);
  const notes: string[] = [];
  for (const s of skipped) notes.push(`${s.name} skipped: ${s.why}.`);
  for (const n of notes) observer.note?.(n);
  if (chosen.length === 0) throw new Error('no strategy to run');
  if (options.passes.includes('load') && !chosen.some((t) => t.key === 'baseline')) {
    notes.push('The baseline was not run, so there are no ratios.');
  }
  if (options.cpuProf) notes.push('The load pass ran under --cpu-prof: its figures are slower than an unprofiled run.');

  const cells = plan(options, chosen);
  const runs: Required<BenchResult['runs']> = { load: [], sweep: [], crash: [], faults: [] };
  const profileDirs: ProfileDir[] = [];
  let sink: SinkClient | undefined;
  let currentLoad: RunningLoad | undefined;
  const onAbort = () => currentLoad?.stop();
  signal?.addEventListener('abort', onAbort);

  // Remaining-time estimate: the planned times, scaled by how the finished runs compared with their plan.
  let doneEstimate = 0;
  let doneActual = 0;
  const eta = (index: number, cellStarted: number) => {
    const scale = doneEstimate > 0 ? Math.min(3, Math.max(0.5, doneActual / doneEstimate)) : 1;
    const rest = cells.slice(index + 1).reduce((sum, c) => sum + c.estimateMs, 0);
    const current = Math.max(0, cells[index]!.estimateMs - (Date.now() - cellStarted));
    return Math.round((rest + current) * scale);
  };

  try {
    sink = await startSinkProcess(({ entry, ipc }) => spawnEntry({ name: 'sink', entry, env: {}, ipc }));
    const faults = { drop: options.sinkDrop, duplicate: options.sinkDuplicate };
    if (faults.drop.length + faults.duplicate.length > 0) {
      notes.push(`Self-test: the sink dropped request numbers [${faults.drop.join(', ')}] and duplicated [${faults.duplicate.join(', ')}] of every run.`);
    }

    for (const [index, cell] of cells.entries()) {
      signal?.throwIfAborted();
      const cellStarted = Date.now();
      const prefix = `${cell.pass[0]}${index + 1}`;
      const report = (phase: ProgressEvent['phase'], extra: Partial<ProgressEvent> = {}) =>
        observer.progress?.({
          step: index + 1,
          steps: cells.length,
          pass: cell.pass,
          target: cell.target.name,
          ...(cell.round === undefined ? {} : { round: cell.round }),
          ...(cell.fault === undefined ? {} : { fault: cell.fault }),
          ...(cell.idempotency ? { idempotency: true } : {}),
          phase,
          etaMs: eta(index, cellStarted),
          ...extra,
        });

      report('starting');
      if (cell.pass === 'faults') {
        // The fault runner starts its own processes (and Redis) and stops them.
        try {
          runs.faults.push(
            await faultCell({ target: cell.target, fault: cell.fault!, idempotency: cell.idempotency, enqueueReplicas: cell.enqueueReplicas, prefix, options, sink, report, track: (l) => (currentLoad = l), signal }),
          );
        } catch (err) {
          signal?.throwIfAborted();
          const note = `${cell.target.name} under ${cell.fault}: the run failed: ${(err as Error).message.split('\n')[0]}`;
          notes.push(note);
          observer.note?.(note);
        } finally {
          currentLoad = undefined;
        }
        doneEstimate += cell.estimateMs;
        doneActual += Date.now() - cellStarted;
        continue;
      }
      await sink.reset();
      const latencyMs = cell.pass === 'sweep' ? options.sweepLatenciesMs[0]! : options.latencyMs;
      await sink.configure({ latencyMs, tempFailRate: 0, permEvery: 0, idempotency: cell.idempotency, ...faults });
      let nodeArgs: string[] = [];
      if (options.cpuProf && cell.pass === 'load') {
        const dir = path.resolve(ROOT, options.out, stamp, 'profiles', `${cell.target.name}-r${cell.round}`);
        await mkdir(dir, { recursive: true });
        profileDirs.push({ target: cell.target.name, dir, roles: new Map() });
        nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
      }
      let run: TargetRun;
      try {
        run = await startTarget(cell.target, { smtpUrl: sink.url, nodeArgs, env: cell.metrics ? { METRICS: cell.metrics } : {} });
      } catch (err) {
        // A strategy that does not start (broken, or missing a service) costs
        // its own runs, not the whole benchmark.
        signal?.throwIfAborted();
        const first = (err as Error).message.split('\n')[0];
        const note = `${cell.target.name} did not start for the ${cell.pass} pass${cell.round ? ` (round ${cell.round})` : ''}: ${first}`;
        notes.push(note);
        observer.note?.(note);
        continue;
      }
      try {
        if (cell.pass === 'load') runs.load.push(await loadCell(run, cell, prefix, options, sink, report, signal, (l) => (currentLoad = l)));
        else if (cell.pass === 'crash') runs.crash.push({ ...(await crashCell(run, prefix, options, sink, report, signal, (l) => (currentLoad = l))), idempotency: cell.idempotency });
        else runs.sweep.push(...(await sweepCell(run, prefix, options, sink, report, signal, (l) => (currentLoad = l))));
      } catch (err) {
        // Like a start that fails: it costs this run, not the benchmark.
        signal?.throwIfAborted();
        const note = `${cell.target.name}: the ${cell.pass} run${cell.round ? ` (round ${cell.round})` : ''} failed: ${(err as Error).message.split('\n')[0]}`;
        notes.push(note);
        observer.note?.(note);
      } finally {
        currentLoad = undefined;
        report('stopping');
        await stopTarget(run);
        if (nodeArgs.length > 0) nameProcesses(run, profileDirs[profileDirs.length - 1]!.roles);
      }
      doneEstimate += cell.estimateMs;
      doneActual += Date.now() - cellStarted;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await sink?.close().catch(() => {});
    await stopAll(2000);
  }

  addRatios(runs.load);
  machine.loadAverage.end = endLoadAverage();
  const profiles = options.cpuProf ? await summarizeProfiles(profileDirs) : [];
  return {
    schema: 1,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date().toISOString(),
    durationS: Math.round((Date.now() - started) / 1000),
    machine,
    settings: settingsOf(options),
    targets: chosen.flatMap((t) => [t.name, ...(options.passes.includes('load') && runsIn(t, 'load') && metricsLabel(options, t, 'off') !== t.name ? options.metrics.map((m) => metricsLabel(options, t, m)) : [])]),
    targetEnv: Object.fromEntries(chosen.filter((t) => t.env).map((t) => [t.name, t.env!])),
    skipped,
    runs,
    queue: await newestQueueSection(options.out),
    profiles,
    notes,
  };
}

/** Strategy 6's own CLAIM_MIN_IDLE_MS, for a target that does not set it. */
const CLAIM_MIN_IDLE_DEFAULT_MS = 60_000;

type Report = (phase: ProgressEvent['phase'], extra?: Partial<ProgressEvent>) => void;
type Track = (load: RunningLoad) => void;

async function loadCell(run: TargetRun, cell: Cell, prefix: string, options: BenchOptions, sink: SinkClient, report: Report, signal: AbortSignal | undefined, track: Track): Promise<LoadRun> {
  const roles = new Map<number, string>();
  nameProcesses(run, roles);
  const roots = [{ pid: run.proc.pid, name: roles.get(run.proc.pid)!, tree: true }, { pid: sink.pid, name: 'sink', tree: false }, { pid: process.pid, name: 'load (autocannon)', tree: false }];
  const before = cpuSnapshot(roots, roles);
  const load = startLoad({ url: run.url, connections: options.connections, durationS: options.duration, rate: options.rate, prefix });
  track(load);
  report('load', { phaseEndsAt: Date.now() + options.duration * 1000, currentRate: load.lastSecond });
  const record = await load.done;
  const after = cpuSnapshot(roots, roles);
  signal?.throwIfAborted();
  const { delivery, drained } = await settle(run, record, options.drainTimeout, sink, report, signal);
  return {
    round: cell.round!,
    target: metricsLabel(options, run.target, cell.metrics),
    prefix,
    startupMs: run.startupMs,
    http: record.http,
    ratio: null,
    delivery: run.target.sends ? delivery : null,
    drain: drained,
    cpu: before && after ? cpuShares(before, after) : null,
  };
}

async function crashCell(run: TargetRun, prefix: string, options: BenchOptions, sink: SinkClient, report: Report, signal: AbortSignal | undefined, track: Track): Promise<CrashRun> {
  const { consumer, claimer } = run.target;
  if (consumer && !run.redisUrl) throw new Error(`${run.target.name}: its "listening" line names no Redis, so its stream cannot be read`);
  const second = claimer ? await startClaimer(run.target, run.env, run.redisUrl!) : undefined;
  try {
    return await crashAndCount(run, prefix, options, sink, report, signal, track, second !== undefined);
  } finally {
    if (second) await stopProc(second, 3000);
  }
}

async function crashAndCount(run: TargetRun, prefix: string, options: BenchOptions, sink: SinkClient, report: Report, signal: AbortSignal | undefined, track: Track, claimed: boolean): Promise<CrashRun> {
  const durationMs = options.crashDuration * 1000;
  const load = startLoad({ url: run.url, connections: options.connections, durationS: options.crashDuration, rate: options.crashRate, prefix });
  track(load);
  const loadStarted = Date.now();
  const loadEnds = loadStarted + durationMs;
  report('load', { phaseEndsAt: loadStarted + durationMs / 2, currentRate: load.lastSecond });
  await Promise.race([load.done, new Promise((r) => setTimeout(r, durationMs / 2))]);
  signal?.throwIfAborted();
  report('crash', { phaseEndsAt: loadEnds });
  const pendingAtKill = await Promise.race([waitForPending(run.url), untilAborted(signal)]);
  const { consumer } = run.target;
  let held = consumer ? await waitUntilHeld(run.redisUrl!, consumer) : [];
  const inFlightAtKill = load.inFlight();
  // What it held when it died is read again once it is gone and before it is back: an ack can land between the read above and the kill.
  const readHeld = consumer ? async () => void (held = await heldBy(run.redisUrl!, consumer).catch(() => held)) : undefined;
  const outcome = await Promise.race([crash(run, loadStarted, readHeld), untilAborted(signal)]);
  report('load', { phaseEndsAt: loadEnds, currentRate: load.lastSecond });
  const record = await load.done;
  signal?.throwIfAborted();
  const { delivery, drained, ledger } = await settle(run, record, options.crashDrainTimeout, sink, report, signal, inFlightAtKill);
  const killedAt = loadStarted + outcome.atMs;
  const out: CrashRun = { target: run.target.name, prefix, http: record.http, delivery, drain: drained, crash: outcome, pendingAtKill };
  if (outcome.restartMs !== null) {
    const backAt = killedAt + outcome.restartMs;
    out.acceptedWhileDown = record.acceptedAt.filter((at) => at !== undefined && at >= killedAt && at <= backAt).length;
  }
  if (consumer) out.redelivery = redelivery(held, ledger, killedAt, Number(run.env.CLAIM_MIN_IDLE_MS || CLAIM_MIN_IDLE_DEFAULT_MS), claimed);
  return out;
}

async function sweepCell(run: TargetRun, prefix: string, options: BenchOptions, sink: SinkClient, report: Report, signal: AbortSignal | undefined, track: Track): Promise<SweepRun[]> {
  const out: SweepRun[] = [];
  for (const [i, latencyMs] of options.sweepLatenciesMs.entries()) {
    signal?.throwIfAborted();
    await sink.configure({ latencyMs });
    const load = startLoad({ url: run.url, connections: options.sweepConnections, durationS: options.sweepDuration, rate: options.sweepRate, prefix: `${prefix}x${i}` });
    track(load);
    report('load', { latencyMs, phaseEndsAt: Date.now() + options.sweepDuration * 1000, currentRate: load.lastSecond });
    const record = await load.done;
    out.push({ target: run.target.name, latencyMs, http: record.http });
  }
  return out;
}

/** Drain, then read the sink's ledger for this run and count. */
async function settle(run: TargetRun, record: LoadRecord, timeoutS: number, sink: SinkClient, report: Report, signal?: AbortSignal, inFlightAtKill: number[] = []): Promise<{ drained: DrainResult; delivery: Delivery; ledger: LedgerEntry[] }> {
  report('drain', { phaseEndsAt: record.endedAt + timeoutS * 1000 });
  const drained = run.target.sends
    ? await drain(run.url, sink, timeoutS * 1000, record.endedAt, signal)
    : { drained: true, ms: 0, pendingAtEnd: 0 };
  const ledger = await sink.ledger(`${record.prefix}-`);
  return { drained, ledger, delivery: account(record, ledger, drained.drained, drained.pendingAtEnd, inFlightAtKill) };
}

/** Which pid was which process of a run: the started one, and the children its supervisor announced. */
function nameProcesses(run: TargetRun, roles: Map<number, string>): void {
  roles.set(run.proc.pid, isSupervised(run.target) ? 'supervisor' : 'server');
  for (const line of run.proc.lines) {
    if (line.msg === 'child online' && typeof line.childPid === 'number' && typeof line.child === 'string') roles.set(line.childPid, line.child);
  }
}

function addRatios(load: LoadRun[]): void {
  for (const r of load) {
    const base = load.find((b) => b.round === r.round && b.target === '0-baseline');
    r.ratio = base && base.http.reqPerSec > 0 ? r.http.reqPerSec / base.http.reqPerSec : null;
  }
}
