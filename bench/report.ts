// From raw runs to what people read: per-target summaries (medians with
// min-max over rounds), the terminal tables, the Markdown report with its
// charts, and the short table the README quotes. Everything here is a pure
// function of a results file, so `npm run bench:doc` can redraw an old run.
import { crashChart, latencyChart, throughputChart } from './charts.ts';
import { faultsTable, PROMISES } from './faults-report.ts';
import { knobArgs } from './knobs.ts';
import { machineLine } from './machine.ts';
import { spread, type Spread } from './numbers.ts';
import { knobs } from './options.ts';
import { int, markdownTable, show, textTable, type Table } from './tables.ts';
import { FAULT_CONNECTIONS, type BenchResult, type CrashRun, type LoadRun, type Settings } from './types.ts';

/** The speed goal the report checks for the accept path of strategies 2-6: most of the bare server's req/s, a p99 no user notices. */
export const GOAL = { ratio: 0.6, p99Ms: 20 } as const;
const GOAL_TARGETS = ['2-fire-and-forget', '3-cluster-ipc', '4-redis-queue', '5-multi-worker', '6-event-bus'];
/** Strategy 6 appends one entry where 4 pushes one job: its accept path should be as fast, within this share. */
export const SIX_VS_FOUR = 0.9;

export interface LoadSummary {
  target: string;
  rounds: number;
  reqPerSec: Spread | null;
  ratio: Spread | null;
  p50: Spread | null;
  p97_5: Spread | null;
  p99: Spread | null;
  max: Spread | null;
  non2xx: number;
  errors: number;
  sends: boolean;
  accepted: Spread | null;
  delivered: Spread | null;
  lost: Spread | null;
  unfinished: Spread | null;
  duplicates: Spread | null;
  emailsPerSec: Spread | null;
  e2eP50: Spread | null;
  e2eP99: Spread | null;
  drainMs: Spread | null;
  /** Every round drained before its deadline. */
  drainedAll: boolean;
  goal: 'met' | 'missed' | null;
}

export function summarizeLoad(result: BenchResult): LoadSummary[] {
  return result.targets
    .map((target) => result.runs.load.filter((r) => r.target === target))
    .filter((runs) => runs.length > 0)
    .map((runs) => {
      const of = (f: (r: LoadRun) => number | null | undefined) => spread(runs.map(f).filter((v): v is number => typeof v === 'number'));
      const target = runs[0]!.target;
      const sends = runs.some((r) => r.delivery !== null);
      const ratio = of((r) => r.ratio);
      const p99 = of((r) => r.http.latencyMs.p99);
      const goal = !GOAL_TARGETS.includes(target) || !ratio || !p99 ? null : ratio.median >= GOAL.ratio && p99.median < GOAL.p99Ms ? 'met' : 'missed';
      return {
        target,
        rounds: runs.length,
        reqPerSec: of((r) => r.http.reqPerSec),
        ratio,
        p50: of((r) => r.http.latencyMs.p50),
        p97_5: of((r) => r.http.latencyMs.p97_5),
        p99,
        max: of((r) => r.http.latencyMs.max),
        non2xx: runs.reduce((s, r) => s + r.http.non2xx, 0),
        errors: runs.reduce((s, r) => s + r.http.errors, 0),
        sends,
        accepted: of((r) => r.delivery?.accepted ?? r.http.statusCodes['202'] ?? null),
        delivered: of((r) => r.delivery?.delivered),
        lost: of((r) => r.delivery?.lost),
        unfinished: of((r) => r.delivery?.unfinished),
        duplicates: of((r) => r.delivery?.duplicates),
        emailsPerSec: of((r) => r.delivery?.emailsPerSec),
        e2eP50: of((r) => r.delivery?.endToEndMs?.p50),
        e2eP99: of((r) => r.delivery?.endToEndMs?.p99),
        drainMs: of((r) => (r.delivery ? r.drain.ms : null)),
        drainedAll: runs.every((r) => r.drain.drained),
        goal,
      };
    });
}

// ---------------------------------------------------------------- formatting

const fixed = (digits: number) => (n: number) => n.toFixed(digits);
const ms = (n: number) => `${(Math.round(n) || 0).toLocaleString('en-US')}`; // || 0: no "-0"
const secs = (n: number) => `${(n / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------- tables

export function loadTable(result: BenchResult): Table {
  return {
    headers: ['strategy', 'req/s', 'x baseline', 'p50 ms', 'p97.5 ms', 'p99 ms', 'max ms', 'non-2xx', 'errors', `goal (>=${GOAL.ratio}x, p99<${GOAL.p99Ms})`],
    right: [false, true, true, true, true, true, true, true, true, false],
    rows: summarizeLoad(result).map((s) => [
      s.target,
      show(s.reqPerSec),
      show(s.ratio, fixed(2)),
      show(s.p50, ms),
      show(s.p97_5, ms),
      show(s.p99, ms),
      show(s.max, ms),
      int(s.non2xx),
      int(s.errors),
      s.goal ?? '',
    ]),
  };
}

export function deliveryTable(result: BenchResult): Table {
  return {
    headers: ['strategy', 'accepted', 'delivered', 'lost', 'unfinished', 'duplicates', 'emails/s', 'e2e p50 ms', 'e2e p99 ms', 'drain'],
    right: [false, true, true, true, true, true, true, true, true, true],
    rows: summarizeLoad(result)
      .filter((s) => s.sends)
      .map((s) => [
        s.target,
        show(s.accepted),
        show(s.delivered),
        show(s.lost),
        show(s.unfinished),
        show(s.duplicates),
        show(s.emailsPerSec),
        show(s.e2eP50, ms),
        show(s.e2eP99, ms),
        s.drainMs ? `${show(s.drainMs, secs)}${s.drainedAll ? '' : ' (deadline)'}` : '-',
      ]),
  };
}

export function sweepTable(result: BenchResult): Table {
  const latencies = [...new Set(result.runs.sweep.map((r) => r.latencyMs))].sort((a, b) => a - b);
  return {
    headers: ['strategy', ...latencies.map((l) => `sink ${l} ms: p50 / p99`)],
    right: [false, ...latencies.map(() => true)],
    rows: result.targets
      .filter((t) => result.runs.sweep.some((r) => r.target === t))
      .map((t) => [
        t,
        ...latencies.map((l) => {
          const r = result.runs.sweep.find((x) => x.target === t && x.latencyMs === l);
          return r ? `${ms(r.http.latencyMs.p50)} / ${ms(r.http.latencyMs.p99)}` : '-';
        }),
      ]),
  };
}

const resentCell = (r: CrashRun) => {
  const x = r.redelivery;
  if (!x) return '-';
  return x.held === 0 ? 'none held' : `${int(x.resent)} of ${int(x.held)}${x.ms === null ? '' : ` after ${secs(x.ms)}`}`;
};

/** Whether any run of these was measured with the sink's idempotency known (results from before it was have none). */
export const keyed = (runs: readonly { idempotency?: boolean }[]) => runs.some((r) => r.idempotency !== undefined);
/** The run with the sink ignoring keys (today's figures), else the first: what one-run-per-target summaries quote. */
export const keyOffFirst = <R extends { target: string; idempotency?: boolean }>(runs: readonly R[], target: string, also: (r: R) => boolean = () => true): R | undefined => {
  const mine = runs.filter((r) => r.target === target && also(r));
  return mine.find((r) => r.idempotency !== true) ?? mine[0];
};

export function crashTable(result: BenchResult): Table {
  // With the key column, a repeat is either in the inbox twice (duplicated) or caught by the sink's key (suppressed).
  const withKey = keyed(result.runs.crash);
  const headers = ['strategy', 'killed', 'pending then', 'back after', 'accepted', 'delivered', 'lost', withKey ? 'duplicated (inbox twice)' : 'duplicates', 'sent, cut by the kill', 'unfinished', 'held, sent again', 'drain'];
  const rows = result.runs.crash.map((r) => [
    r.target,
    r.crash.error ? `${r.crash.kind} (failed: ${r.crash.error.split('\n')[0]!.slice(0, 60)})` : `${r.crash.kind} pid ${r.crash.killedPid}`,
    r.pendingAtKill === null || r.pendingAtKill === undefined ? '?' : int(r.pendingAtKill),
    r.crash.restartMs === null ? 'never' : secs(r.crash.restartMs),
    int(r.delivery.accepted),
    int(r.delivery.delivered),
    int(r.delivery.lost),
    int(r.delivery.duplicates),
    int(r.delivery.cutByCrash),
    int(r.delivery.unfinished),
    resentCell(r),
    `${secs(r.drain.ms)}${r.drain.drained ? '' : ' (deadline)'}`,
  ]);
  if (!withKey) return { headers, right: [false, ...headers.slice(1).map((h) => h !== 'killed')], rows };
  return {
    headers: [headers[0]!, 'sink honours key', ...headers.slice(1, 8), 'suppressed (key)', ...headers.slice(8)],
    right: [false, false, false, ...Array<boolean>(11).fill(true)],
    rows: result.runs.crash.map((r, i) => [rows[i]![0]!, r.idempotency ? 'on' : 'off', ...rows[i]!.slice(1, 8), int(r.delivery.suppressed ?? 0), ...rows[i]!.slice(8)]),
  };
}

/** The goal of the sink honouring keys: kill-repeatedly puts nothing in an inbox twice for 4 and 5, delivers every accepted email, counts what it caught. */
export function keyGoal(result: BenchResult): Lesson {
  const claim = 'with the sink honouring keys, 4 and 5 under kill-repeatedly: 0 delivered twice, every accepted email delivered once, suppressed counted';
  const runs = ['4-redis-queue', '5-multi-worker'].map((t) => (result.runs.faults ?? []).find((r) => r.target === t && r.fault === 'kill-repeatedly' && r.idempotency === true));
  if (!runs.every((r) => r !== undefined)) return { claim, verdict: 'not measured', evidence: 'needs the faults pass with 4 and 5 under kill-repeatedly and --idempotency on' };
  const off = (t: string) => (result.runs.faults ?? []).find((r) => r.target === t && r.fault === 'kill-repeatedly' && r.idempotency !== true);
  return {
    claim,
    verdict: runs.every((r) => r!.delivery.duplicates === 0 && r!.delivery.delivered === r!.delivery.accepted - (r!.delivery.failed ?? 0)) ? 'yes' : 'no',
    evidence: runs
      .map((r) => {
        const d = r!.delivery;
        const without = off(r!.target);
        return `${r!.target}: ${int(d.delivered)} of ${int(d.accepted)} delivered, ${int(d.duplicates)} twice, ${int(d.suppressed ?? 0)} suppressed${without ? ` (key ignored: ${int(without.delivery.duplicates)} twice)` : ''}`;
      })
      .join('; '),
  };
}

/** The goal of durable enqueue: under redis-failover with ENQUEUE_REPLICAS=1, 4-6 lose no accepted email and do a job on the new primary within 10 s of the kill. */
export function failoverGoal(result: BenchResult): Lesson {
  const claim = 'redis-failover with ENQUEUE_REPLICAS=1 (down-after 1 s): 0 accepted emails lost, first job done on the new primary within 10 s of the kill';
  const runs = (result.runs.faults ?? []).filter((r) => r.fault === 'redis-failover' && r.enqueueReplicas === 1);
  if (runs.length === 0) return { claim, verdict: 'not measured', evidence: 'needs --faults redis-failover with strategies 4, 5 or 6' };
  const zero = (result.runs.faults ?? []).filter((r) => r.fault === 'redis-failover' && r.enqueueReplicas === 0);
  const met = runs.every((r) => r.delivery.lost + r.delivery.unfinished === 0 && r.failover?.firstDoneMs != null && r.failover.firstDoneMs <= 10_000);
  return {
    claim,
    verdict: met ? 'yes' : 'no',
    evidence: runs
      .map((r) => {
        const without = zero.find((z) => z.target === r.target);
        const first = r.failover?.firstDoneMs == null ? 'no job after the switch' : `first job ${(r.failover.firstDoneMs / 1000).toFixed(1)} s after the kill`;
        return `${r.target}: ${int(r.delivery.lost)} lost of ${int(r.delivery.accepted)} accepted, ${int(r.http.non2xx)} answered 503, ${first}${without ? ` (ENQUEUE_REPLICAS=0: ${int(without.delivery.lost)} lost)` : ''}`;
      })
      .join('; '),
  };
}

// ---------------------------------------------------------------- lessons

export interface Lesson {
  claim: string;
  verdict: 'yes' | 'no' | 'not measured';
  evidence: string;
}

/** The talk's lessons, each checked against this run's figures. */
export function lessons(result: BenchResult): Lesson[] {
  const out: Lesson[] = [];
  const load = summarizeLoad(result);
  const crashOf = (t: string) => keyOffFirst(result.runs.crash, t);
  const sweepOf = (t: string) => result.runs.sweep.filter((r) => r.target === t).sort((a, b) => a.latencyMs - b.latencyMs);
  const missing = (claim: string, what: string) => out.push({ claim, verdict: 'not measured', evidence: what });

  const s1 = sweepOf('1-foreground');
  if (s1.length >= 2) {
    // "Follows": at every sink latency the client waits at least that long (ms granularity allowed for).
    const follows = s1.every((r) => r.http.latencyMs.p50 >= r.latencyMs * 0.95);
    out.push({
      claim: "1's response time follows the SMTP latency",
      verdict: follows ? 'yes' : 'no',
      evidence: s1.map((r) => `p50 ${ms(r.http.latencyMs.p50)} ms at sink ${r.latencyMs} ms`).join(', '),
    });
  } else missing("1's response time follows the SMTP latency", 'needs the sweep with strategy 1');

  const others = result.targets.filter((t) => GOAL_TARGETS.includes(t) && sweepOf(t).length >= 2);
  if (others.length > 0) {
    const evidence = others.map((t) => {
      const s = sweepOf(t);
      return { t, lo: s[0]!, hi: s[s.length - 1]! };
    });
    const flat = evidence.every(({ lo, hi }) => hi.http.latencyMs.p50 - lo.http.latencyMs.p50 < 0.1 * (hi.latencyMs - lo.latencyMs) + 5);
    out.push({
      claim: 'the others stay flat',
      verdict: flat ? 'yes' : 'no',
      evidence: evidence.map(({ t, lo, hi }) => `${t} p50 ${ms(lo.http.latencyMs.p50)} -> ${ms(hi.http.latencyMs.p50)} ms`).join('; '),
    });
  } else missing('the others stay flat', 'needs the sweep with strategies 2-6');

  const c1 = crashOf('1-foreground');
  const l1 = load.find((s) => s.target === '1-foreground');
  if (c1 || l1) {
    const lost = (c1?.delivery.lost ?? 0) + (l1?.lost?.max ?? 0);
    out.push({
      claim: '1 never answers 2xx for an email that was not sent',
      verdict: lost === 0 ? 'yes' : 'no',
      evidence: `${lost} accepted and not delivered${c1 ? `, crash included (${int(c1.delivery.cutByCrash)} sent but cut off by the kill: the client would retry, a duplicate)` : ''}`,
    });
  } else missing('1 never answers 2xx for an email that was not sent', 'strategy 1 not run');

  const losesOnCrash = (t: string, claim: string) => {
    const c = crashOf(t);
    if (!c) return missing(claim, `${t} not run in the crash pass`);
    const pending = c.pendingAtKill === null || c.pendingAtKill === undefined ? '' : ` (${int(c.pendingAtKill)} pending at the kill)`;
    out.push({ claim, verdict: c.delivery.lost > 0 ? 'yes' : 'no', evidence: `${int(c.delivery.lost)} of ${int(c.delivery.accepted)} accepted emails lost${pending}` });
  };
  losesOnCrash('2-fire-and-forget', '2 loses in-flight mail on a crash');
  losesOnCrash('3-cluster-ipc', "3 loses the worker's memory queue on a crash");

  for (const t of ['4-redis-queue', '5-multi-worker', '6-event-bus']) {
    const c = crashOf(t);
    const claim = `${t.slice(0, 1)} loses nothing on a crash`;
    if (!c) missing(claim, `${t} not run in the crash pass`);
    else
      out.push({
        claim,
        verdict: c.delivery.lost === 0 && c.delivery.unfinished === 0 ? 'yes' : 'no',
        evidence: `${int(c.delivery.lost)} lost, ${int(c.delivery.unfinished)} unfinished, ${int(c.delivery.duplicates)} duplicated of ${int(c.delivery.accepted)}`,
      });
  }

  const e4 = load.find((s) => s.target === '4-redis-queue')?.emailsPerSec;
  const e5 = load.find((s) => s.target === '5-multi-worker')?.emailsPerSec;
  const claim5 = `5 delivers many times more emails/s than 4 against a slow sink (${result.settings.latencyMs} ms)`;
  if (e4 && e5 && e4.median > 0) {
    const x = e5.median / e4.median;
    out.push({ claim: claim5, verdict: x >= 3 ? 'yes' : 'no', evidence: `${int(e5.median)} vs ${int(e4.median)} emails/s (${x.toFixed(1)}x)` });
  } else missing(claim5, 'needs strategies 4 and 5 in the load pass');
  out.push(keyGoal(result));
  out.push(failoverGoal(result));

  for (const s of load.filter((x) => x.goal !== null)) {
    out.push({
      claim: `${s.target}: accept path >= ${GOAL.ratio}x the baseline with p99 < ${GOAL.p99Ms} ms`,
      verdict: s.goal === 'met' ? 'yes' : 'no',
      evidence: `${show(s.ratio, fixed(2))}x, p99 ${show(s.p99, ms)} ms`,
    });
  }
  return out;
}

/** Strategy 6's goals, each checked against this run's figures (or: which run would measure it). */
export function sixGoals(result: BenchResult): Lesson[] {
  const out: Lesson[] = [];
  const missing = (claim: string, what: string) => out.push({ claim, verdict: 'not measured', evidence: what });
  const crashOf = (t: string) => keyOffFirst(result.runs.crash, t);

  const claimA = '6 loses nothing under kill-repeatedly and redis-restart, and sends twice at most what its mailer held unacknowledged then';
  const faulted = (['kill-repeatedly', 'redis-restart'] as const).map((f) => keyOffFirst(result.runs.faults ?? [], '6-event-bus', (r) => r.fault === f));
  if (faulted.every((r) => r !== undefined)) {
    out.push({
      claim: claimA,
      verdict: faulted.every((r) => r!.delivery.lost + r!.delivery.unfinished === 0 && r!.delivery.duplicates <= (r!.heldAtFaults ?? 0)) ? 'yes' : 'no',
      evidence: faulted.map((r) => `${r!.fault}: ${int(r!.delivery.lost)} lost, ${int(r!.delivery.unfinished)} unfinished of ${int(r!.delivery.accepted)}; ${int(r!.delivery.duplicates)} sent twice, ${int(r!.heldAtFaults ?? 0)} held`).join('; '),
    });
  } else missing(claimA, 'needs the faults pass with strategy 6 (--faults kill-repeatedly,redis-restart)');

  const claimB = "a dead consumer's entries are sent again within CLAIM_MIN_IDLE_MS + 1 s";
  const timed = result.runs.crash.filter((r) => r.redelivery !== undefined);
  const measured = timed.filter((r) => r.redelivery!.held > 0);
  if (measured.length > 0) {
    out.push({
      claim: claimB,
      verdict: measured.every(({ redelivery: x }) => x!.resent === x!.held && x!.ms !== null && x!.ms <= x!.limitMs) ? 'yes' : 'no',
      evidence: timed
        .map(({ target, redelivery: x }) => `${target}: ${x!.held === 0 ? 'held nothing at the kill' : `${int(x!.resent)} of ${int(x!.held)} ${x!.by}${x!.ms === null ? '' : ` after ${secs(x!.ms)}`}`} (limit ${secs(x!.limitMs)})`)
        .join('; '),
    });
  } else missing(claimB, timed.length > 0 ? 'the killed consumer held nothing at the kill' : 'needs the crash pass with 6 or 6-claim');

  const claimC = 'pub/sub loses what is published while its subscriber is down, and the bench counts it';
  const p = crashOf('6-pubsub');
  if (p && p.acceptedWhileDown !== undefined) {
    const down = p.acceptedWhileDown;
    const stream = crashOf('6-event-bus');
    // The window's ends are seen from the harness, a few ms late: within 10%.
    out.push({
      claim: claimC,
      verdict: down > 0 && p.delivery.lost >= down * 0.9 ? 'yes' : 'no',
      // The rest of the loss: what the subscriber had heard and not yet sent when it was killed (it holds every message as it comes).
      evidence: `${int(p.delivery.lost)} of ${int(p.delivery.accepted)} lost; ${int(down)} accepted while its subscriber was down (${secs(p.crash.restartMs ?? 0)})${p.delivery.lost > down ? `, ${int(p.delivery.lost - down)} heard and not yet sent at the kill` : ''}${stream ? `; the stream lost ${int(stream.delivery.lost)}` : ''}`,
    });
  } else missing(claimC, 'needs the crash pass with 6-pubsub');

  // The web processes alone (4-web, 6-web) answer it; the whole strategies, with their consumers on the same cores, are shown beside.
  const claimD = `6's accept path within ${Math.round((1 - SIX_VS_FOUR) * 100)}% of 4's (req/s, same round)`;
  const alone = sixOverFour(result, '6-web', '4-web');
  const whole = sixOverFour(result, '6-event-bus', '4-redis-queue');
  const wholeText = whole ? `whole strategies, consumers on the same cores: ${whole.text}` : '';
  if (alone) {
    out.push({ claim: claimD, verdict: alone.ratio.median >= SIX_VS_FOUR ? 'yes' : 'no', evidence: `web processes alone: ${alone.text}${wholeText ? `; ${wholeText}` : ''}` });
  } else if (whole) {
    out.push({ claim: claimD, verdict: whole.ratio.median >= SIX_VS_FOUR ? 'yes' : 'no', evidence: wholeText });
  } else missing(claimD, 'needs 4-web and 6-web (or strategies 4 and 6) in the load pass');
  return out;
}

/** req/s of `six` over `four`, round by round, or undefined when a round lacks either. */
function sixOverFour(result: BenchResult, six: string, four: string) {
  const pairs = result.runs.load
    .filter((r) => r.target === six)
    .map((s) => [s, result.runs.load.find((r) => r.target === four && r.round === s.round)] as const)
    .filter(([, f]) => f !== undefined && f.http.reqPerSec > 0)
    .map(([s, f]) => ({ ratio: s.http.reqPerSec / f!.http.reqPerSec, six: s.http.reqPerSec, four: f!.http.reqPerSec }));
  const ratio = spread(pairs.map((x) => x.ratio));
  if (!ratio) return undefined;
  return { ratio, text: `6/4 = ${show(ratio, fixed(2))} over ${pairs.length} round(s): ${int(spread(pairs.map((x) => x.six))!.median)} vs ${int(spread(pairs.map((x) => x.four))!.median)} req/s` };
}

const ranSix = (r: BenchResult) => r.targets.some((t) => t.startsWith('6-'));
const goalsTable = (r: BenchResult): Table => ({ headers: ['goal', 'met?', 'evidence'], rows: sixGoals(r).map((l) => [l.claim, l.verdict, l.evidence]) });

// ---------------------------------------------------------------- documents

/** The settings some targets ran with over the harness's (strategy 6's claim times), as environment; null when none did. */
export function targetSettings(result: BenchResult): string | null {
  const own = Object.entries(result.targetEnv ?? {}).map(([t, env]) => `${t}: ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  return own.length > 0 ? own.join('; ') : null;
}

/** The command that repeats this run. */
export function commandLine(s: Settings): string {
  const args = (...keys: (keyof Settings)[]) => knobArgs(knobs, s, keys);
  const parts = ['npm run bench --'];
  if (s.strategies.length > 0) parts.push(...args('strategies'));
  // A faults-only run: the other passes' knobs would only be noise.
  const faultsOnly = s.passes.length === 1 && s.passes[0] === 'faults';
  if (!faultsOnly) {
    parts.push(...args('passes', 'connections', 'duration', 'rounds'), ...(s.rate > 0 ? args('rate') : []));
    parts.push(...args('latencyMs', 'sweepLatenciesMs', 'sweepDuration', 'sweepConnections', 'sweepRate', 'crashDuration', 'crashRate', 'drainTimeout', 'crashDrainTimeout'));
  }
  // Results written before the faults pass have no fault settings.
  if (s.faults && s.faults.length > 0) {
    parts.push(...args('faults', 'faultRate', 'faultDuration', 'faultLatencyMs', 'faultKills', 'faultEvery', 'faultOutage', 'faultDrainTimeout'));
  }
  parts.push(...args('cpuProf'), ...(s.sinkDrop.length > 0 ? args('sinkDrop') : []), ...(s.sinkDuplicate.length > 0 ? args('sinkDuplicate') : []));
  return parts.join(' ');
}

export const CHART_FILES = { latency: 'latency-vs-sink.svg', throughput: 'throughput.svg', crash: 'crash.svg' } as const;

/** The SVG files of a result, by file name; only the charts it has data for. */
export function charts(result: BenchResult): Record<string, string> {
  const out: Record<string, string> = {};
  const s = result.settings;
  if (result.runs.sweep.length > 0) {
    const series = result.targets
      .map((target) => ({
        target,
        points: result.runs.sweep.filter((r) => r.target === target).map((r) => [r.latencyMs, r.http.latencyMs.p50] as [number, number]),
      }))
      .filter((x) => x.points.length > 0);
    out[CHART_FILES.latency] = latencyChart(series, `${s.sweepRate > 0 ? `${s.sweepRate} req/s` : 'flat out'}, ${s.sweepConnections} connections, ${s.sweepDuration} s per point`);
  }
  const bars = summarizeLoad(result)
    .filter((x) => x.ratio && x.target !== '0-baseline')
    .map((x) => ({ target: x.target, median: x.ratio!.median, min: x.ratio!.min, max: x.ratio!.max, label: `${x.ratio!.median.toFixed(2)}x (${int(x.reqPerSec!.median)} req/s)` }));
  if (bars.length > 0) {
    out[CHART_FILES.throughput] = throughputChart(bars, GOAL.ratio, `${s.connections} connections, ${s.duration} s, ${s.rounds} interleaved round(s), sink latency ${s.latencyMs} ms`);
  }
  if (result.runs.crash.length > 0) {
    out[CHART_FILES.crash] = crashChart(
      result.runs.crash.map((r) => ({ target: r.idempotency ? `${r.target} (key on)` : r.target, accepted: r.delivery.accepted, lost: r.delivery.lost, duplicates: r.delivery.duplicates, unfinished: r.delivery.unfinished })),
      `SIGKILL halfway through ${s.crashDuration} s at ${s.crashRate > 0 ? `${s.crashRate} req/s` : 'full speed'}, sink latency ${s.latencyMs} ms`,
    );
  }
  return out;
}

/** Cores each process used in the load pass (bench/cpu.ts), median over rounds; null when none was read. */
export function cpuTable(result: BenchResult): Table | null {
  const runs = result.runs.load.filter((r) => r.cpu);
  if (runs.length === 0) return null;
  const rows = [...new Set(runs.map((r) => r.target))].map((target) => {
    const mine = runs.filter((r) => r.target === target);
    const median = (f: (r: LoadRun) => number) => spread(mine.map(f))!.median;
    const names = [...new Set(mine.flatMap((r) => r.cpu!.map((c) => c.process)))];
    const each = names.map((name) => ({ name, cores: median((r) => r.cpu!.find((c) => c.process === name)?.cores ?? 0) })).sort((a, b) => b.cores - a.cores);
    const total = median((r) => r.cpu!.reduce((sum, c) => sum + c.cores, 0));
    return [target, total.toFixed(2), each.filter((e) => e.cores >= 0.01).map((e) => `${e.name} ${e.cores.toFixed(2)}`).join(', ')];
  });
  return { headers: ['strategy', `cores in all (of ${result.machine.cores})`, 'cores by process'], right: [false, true, false], rows };
}

function profileSection(result: BenchResult): string[] {
  if (result.profiles.length === 0) return [];
  const lines = ['## Where the CPU goes (--cpu-prof, load pass)', ''];
  lines.push(
    'Self time of each profiled process (main thread), grouped by where the code lives (node:* core modules, npm:* packages, files of this repo, native built-ins by name); module loading at start-up is counted apart. Busiest processes first. A process that had to be killed at the end (a worker still busy with its backlog after the 1 s stop) writes no profile and is missing.',
    '',
  );
  const rows = [...result.profiles]
    .sort((a, b) => b.busyMs - a.busyMs)
    .map((p) => [p.target, p.role ?? '?', int(p.busyMs), int(p.startupMs ?? 0), p.top.slice(0, 6).map((t) => `${t.where} ${(t.share * 100).toFixed(0)}%`).join(', ')]);
  lines.push(markdownTable({ headers: ['strategy', 'process', 'busy ms', 'start-up ms', 'top self time'], rows, right: [false, false, true, true, false] }), '');
  return lines;
}

function queueSection(queue: BenchResult['queue']): string {
  if (queue === null || queue === undefined) return '_Not part of this run: `npm run bench:queue` (ours vs BullMQ vs node-resque) fills this section._';
  if (typeof queue.markdown === 'string') return queue.markdown;
  return '```json\n' + JSON.stringify(queue, null, 2) + '\n```';
}

export function markdownReport(result: BenchResult, chartFiles: string[]): string {
  const s = result.settings;
  const lines: string[] = [
    `# Benchmark, ${result.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`,
    '',
    `Machine: ${machineLine(result.machine)}`,
    '',
    `Command: \`${commandLine(s)}\` (${result.durationS} s)`,
    '',
    ...(targetSettings(result) ? [`Targets' own settings: ${targetSettings(result)}`, ''] : []),
  ];
  if (result.notes.length > 0) lines.push(...result.notes.map((n) => `- ${n}`), '');
  if (result.runs.load.length > 0) {
    lines.push(
      '## Load',
      '',
      `${s.connections} connections, ${s.duration} s per run, ${s.rate > 0 ? `${s.rate} req/s` : 'flat out'}, sink latency ${s.latencyMs} ms; ${s.rounds} round(s), every target once per round, interleaved. Median (min-max) over rounds; "x baseline" compares each round with the baseline of the same round.`,
      '',
      markdownTable(loadTable(result)),
      '',
      '### Delivery in the load pass',
      '',
      `After the load, the harness waits up to ${s.drainTimeout} s for pending work; what is still pending then is "unfinished" (not lost).`,
      '',
      markdownTable(deliveryTable(result)),
      '',
    );
    const cpu = cpuTable(result);
    if (cpu) {
      lines.push(
        '### Where the CPU went in the load pass',
        '',
        "Each process's CPU time during the load, read from /proc, over the load's seconds: 1.00 is one core kept busy. \"load (autocannon)\" is the harness sending the requests; a strategy's processes are named by their role. Median over rounds.",
        '',
        markdownTable(cpu),
        '',
      );
    }
  }
  if (result.runs.sweep.length > 0) {
    lines.push('## Response time vs sink latency', '', `${s.sweepRate > 0 ? `${s.sweepRate} req/s` : 'Flat out'}, ${s.sweepConnections} connections, ${s.sweepDuration} s per sink latency, one process set per target.`, '', markdownTable(sweepTable(result)), '');
  }
  if (result.runs.crash.length > 0) {
    lines.push(
      '## Crash',
      '',
      `${s.crashRate > 0 ? `${s.crashRate} req/s` : 'Flat out'} for ${s.crashDuration} s, sink latency ${s.latencyMs} ms; SIGKILL halfway, at the first moment the strategy reports pending work ("pending then"); up to ${s.crashDrainTimeout} s to drain.`,
      '',
      markdownTable(crashTable(result)),
      '',
    );
  }
  for (const f of chartFiles) lines.push(`![${f.replace(/\.svg$/, '')}](${f})`, '');
  lines.push(...faultsSection(result));
  if (hasPerformanceRuns(result)) {
    lines.push('## The lessons, checked', '', markdownTable({ headers: ['claim', 'holds?', 'evidence'], rows: lessons(result).map((l) => [l.claim, l.verdict, l.evidence]) }), '');
  }
  if (ranSix(result)) {
    lines.push(
      "## Strategy 6's goals, checked",
      '',
      "6-claim is 6 with its mailer's restart delayed past the claim time and a second mailer beside it, which claims the dead one's entries; 6-pubsub is 6 with EVENT_TRANSPORT=pubsub (settings: the line under the command).",
      '',
      markdownTable(goalsTable(result)),
      '',
    );
  }
  lines.push(...profileSection(result));
  lines.push('## Queue micro-benchmarks', '', queueSection(result.queue), '');
  return lines.join('\n');
}

const hasPerformanceRuns = (r: BenchResult) => r.runs.load.length + r.runs.sweep.length + r.runs.crash.length > 0;

function faultsSection(result: BenchResult): string[] {
  const runs = result.runs.faults ?? [];
  if (runs.length === 0) return [];
  const s = result.settings;
  return [
    '## Faults',
    '',
    `${s.faultRate} req/s for ${s.faultDuration} s per (strategy, fault) over ${FAULT_CONNECTIONS} connections, sink latency ${s.faultLatencyMs} ms; kill-repeatedly: ${s.faultKills} SIGKILLs ${s.faultEvery} s apart from 2 s in; sink-down: ${s.faultOutage} s; up to ${s.faultDrainTimeout} s to drain. Strategies 4-6 run on a Redis the harness owns; redis-failover's load is open-loop (a request every 1/rate s, however many are unanswered), so both ENQUEUE_REPLICAS modes are offered the same requests. "failed (reported)": accepted, not delivered, and reported failed by the strategy (resque's failed list, 6's dead letters, its "failed" log line); "lost": accepted, not delivered, not pending and not reported.`,
    '',
    markdownTable(faultsTable(runs)),
    '',
    'What each strategy promises:',
    '',
    ...Object.entries(PROMISES).filter(([t]) => runs.some((r) => r.target === t)).map(([t, p]) => `- ${t}: ${p}`),
    '',
  ];
}

export function terminalReport(result: BenchResult): string {
  const own = targetSettings(result);
  const parts = [`Machine: ${machineLine(result.machine)}`, `Command: ${commandLine(result.settings)}`, ...(own ? [`Targets' own settings: ${own}`] : []), ...result.notes];
  if (result.runs.load.length > 0) parts.push('', 'LOAD', textTable(loadTable(result)), '', 'DELIVERY (load pass)', textTable(deliveryTable(result)));
  const cpu = cpuTable(result);
  if (cpu) parts.push('', 'CPU IN THE LOAD PASS (cores, median over rounds)', textTable(cpu));
  if (result.runs.sweep.length > 0) parts.push('', 'RESPONSE TIME vs SINK LATENCY (ms)', textTable(sweepTable(result)));
  if (result.runs.crash.length > 0) parts.push('', 'CRASH', textTable(crashTable(result)));
  if ((result.runs.faults ?? []).length > 0) parts.push('', 'FAULTS', textTable(faultsTable(result.runs.faults!)));
  if (hasPerformanceRuns(result)) parts.push('', 'LESSONS', textTable({ headers: ['claim', 'holds?', 'evidence'], rows: lessons(result).map((l) => [l.claim, l.verdict, l.evidence]) }));
  if (ranSix(result)) parts.push('', "STRATEGY 6's GOALS", textTable(goalsTable(result)));
  return parts.join('\n') + '\n';
}

/** The compact table the README quotes (npm run bench:doc). */
export function readmeTable(result: BenchResult): string {
  const load = summarizeLoad(result);
  const latencies = [...new Set(result.runs.sweep.map((r) => r.latencyMs))].sort((a, b) => a - b);
  const lo = latencies[0];
  const hi = latencies[latencies.length - 1];
  const rows = result.targets.map((t) => {
    const l = load.find((x) => x.target === t);
    const c = keyOffFirst(result.runs.crash, t);
    const sweepAt = (lat: number | undefined) => result.runs.sweep.find((x) => x.target === t && x.latencyMs === lat)?.http.latencyMs.p50;
    const a = sweepAt(lo);
    const b = sweepAt(hi);
    return [
      t,
      l ? show(l.reqPerSec) : '-',
      l?.ratio ? show(l.ratio, fixed(2)) : '-',
      l ? show(l.p99, ms) : '-',
      l?.sends ? show(l.emailsPerSec) : '-',
      a !== undefined && b !== undefined ? `${ms(a)} -> ${ms(b)}` : '-',
      c ? `${int(c.delivery.lost)} / ${int(c.delivery.duplicates)}${c.delivery.unfinished > 0 ? ` (+${int(c.delivery.unfinished)} unfinished)` : ''}` : '-',
    ];
  });
  return markdownTable({
    headers: ['strategy', 'req/s', 'x baseline', 'p99 ms', 'emails/s', `p50 ms, sink ${lo ?? '?'} -> ${hi ?? '?'} ms`, 'crash: lost / duplicated'],
    right: [false, true, true, true, true, true, true],
    rows,
  });
}
