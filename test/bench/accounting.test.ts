// The arithmetic under the benchmark's tables, on hand-made inputs: which ids
// count as lost, unfinished, duplicated or cut by a kill, and how flags,
// environment and --quick combine. (No processes: the harness test runs the
// real thing.)
import { describe, expect, it } from 'vitest';
import { account } from '../../bench/accounting.ts';
import { faultsMatrix, judge } from '../../bench/faults-report.ts';
import type { LoadRecord } from '../../bench/load.ts';
import { percentile, spread } from '../../bench/numbers.ts';
import { OptionsError, parseOptions } from '../../bench/options.ts';
import { idempotencyRuns } from '../../bench/orchestrator.ts';
import { redelivery } from '../../bench/redelivery.ts';
import { crashTable, keyGoal } from '../../bench/report.ts';
import type { LedgerEntry } from '../../bench/sink.ts';
import { show } from '../../bench/tables.ts';
import { selectTargets } from '../../bench/targets.ts';
import type { BenchResult, CrashRun, FaultRun } from '../../bench/types.ts';

const T0 = 1_700_000_000_000;

/** Requests 1..sent; `accepted` lists the numbers that got a 2xx, at T0 + n ms. */
function record(sent: number, accepted: number[]): LoadRecord {
  const acceptedAt: (number | undefined)[] = [];
  for (const n of accepted) acceptedAt[n] = T0 + n;
  const http = { reqPerSec: 0, responses: 0, latencyMs: { p50: 0, p97_5: 0, p99: 0, max: 0, mean: 0 }, non2xx: 0, errors: 0, timeouts: 0, statusCodes: {}, durationS: 1 };
  return { prefix: 'l1', startedAt: T0, endedAt: T0 + 1000, sent, acceptedAt, accepted: accepted.length, http };
}

const entry = (n: number, count: number, at: number): LedgerEntry => [`l1-${n}`, count, at];

describe('accepted against delivered', () => {
  it('an accepted id the sink never got is lost; one it got twice is a duplicate', () => {
    const d = account(record(5, [1, 2, 3, 4, 5]), [entry(1, 1, T0 + 11), entry(2, 2, T0 + 22), entry(4, 1, T0 + 44), entry(5, 1, T0 + 55)], true, 0);
    expect(d).toMatchObject({ accepted: 5, delivered: 4, lost: 1, unfinished: 0, duplicates: 1, deliveredWithout2xx: 0 });
    expect(d.notDeliveredSample).toEqual(['l1-3']);
    expect(d.duplicatedSample).toEqual(['l1-2']);
  });

  it('when the drain ran out of time, what the strategy still holds is unfinished, not lost', () => {
    const d = account(record(4, [1, 2, 3, 4]), [entry(1, 1, T0 + 5)], false, 2);
    expect(d).toMatchObject({ delivered: 1, lost: 1, unfinished: 2 });
    // Never more unfinished than undelivered, whatever the strategy claims.
    expect(account(record(4, [1, 2, 3, 4]), [entry(1, 1, T0 + 5)], false, 50)).toMatchObject({ lost: 0, unfinished: 3 });
    // A finished drain means nothing is pending: every gap is a loss.
    expect(account(record(4, [1, 2, 3, 4]), [entry(1, 1, T0 + 5)], true, 2)).toMatchObject({ lost: 3, unfinished: 0 });
  });

  it('delivered without a 2xx is counted apart, and "cut by the kill" only for requests in flight at the kill', () => {
    const d = account(record(6, [1, 2]), [entry(1, 1, T0 + 3), entry(2, 1, T0 + 4), entry(3, 1, T0 + 5), entry(6, 1, T0 + 9)], true, 0, [3, 4]);
    expect(d).toMatchObject({ accepted: 2, delivered: 2, lost: 0, deliveredWithout2xx: 2, cutByCrash: 1 });
  });

  it('ignores ids of other runs, and measures from the 2xx to the sink (negative when the sink was first)', () => {
    const d = account(record(3, [1, 2, 3]), [entry(1, 1, T0 + 1 + 40), entry(2, 1, T0 + 2 - 3), entry(3, 1, T0 + 3 + 10), ['l12-1', 1, T0], ['x-2', 1, T0]], true, 0);
    expect(d.delivered).toBe(3);
    expect(d.endToEndMs).toEqual({ p50: 10, p99: 40, max: 40 });
    expect(account(record(1, [1]), [entry(1, 1, T0 - 5)], true, 0).endToEndMs?.p50).toBe(-6);
    // Three distinct emails of this run, the last one 41 ms after the load started: 3 / 0.041 s.
    expect(d.emailsPerSec).toBeCloseTo(3 / 0.041, 5);
  });
});

describe('the sink honouring idempotency keys: a repeat suppressed, not in the inbox twice', () => {
  const http = record(1, [1]).http;
  const drain = { drained: true, ms: 0, pendingAtEnd: 0 };
  const faultRun = (target: string, idempotency: boolean | undefined, ledger: LedgerEntry[]): FaultRun => ({
    target, fault: 'kill-repeatedly', prefix: 'l1', http, delivery: account(record(3, [1, 2, 3]), ledger, true, 0), drain, events: [], stats: null, ...(idempotency === undefined ? {} : { idempotency }),
  });
    // Delivered once each; the key caught two repeats of 1 and one of 3.
  const keyed: LedgerEntry[] = [['l1-1', 1, T0 + 5, T0 + 5, 2], entry(2, 1, T0 + 6), ['l1-3', 1, T0 + 7, T0 + 7, 1]];
  // The same sends with the key ignored: the repeats in the inbox.
  const ignored = [entry(1, 2, T0 + 5), entry(2, 1, T0 + 6), entry(3, 3, T0 + 7)];

  it('counts what the key caught as suppressed, apart from duplicates, and only for ids of this run', () => {
    const d = account(record(3, [1, 2, 3]), [...keyed, ['l12-1', 1, T0, T0, 5]], true, 0);
    expect(d).toMatchObject({ accepted: 3, delivered: 3, lost: 0, duplicates: 0, suppressed: 3 });
    expect(account(record(3, [1, 2, 3]), ignored, true, 0)).toMatchObject({ delivered: 3, duplicates: 3, suppressed: 0 });
  });

  it('4, 5 and 6 in the crash pass and under kill-repeatedly run once per setting, off first; the rest with keys ignored', () => {
    const [two, four, six, claim] = selectTargets(['2', '4', '6', '6-claim']).chosen;
    const both = parseOptions([], {});
    expect(both.idempotency).toEqual(['off', 'on']);
    expect(parseOptions(['--idempotency', 'on,off'], {}).idempotency).toEqual(['off', 'on']);
    expect(idempotencyRuns(both, 'crash', four!)).toEqual([false, true]);
    expect(idempotencyRuns(both, 'crash', six!)).toEqual([false, true]);
    expect(idempotencyRuns(both, 'crash', claim!)).toEqual([false]);
    expect(idempotencyRuns(both, 'load', four!)).toEqual([false]);
    expect(idempotencyRuns(both, 'faults', six!, 'kill-repeatedly')).toEqual([false, true]);
    expect(idempotencyRuns(both, 'faults', four!, 'sink-down')).toEqual([false]);
    expect(idempotencyRuns(both, 'faults', two!, 'kill-repeatedly')).toEqual([false]);
    expect(idempotencyRuns(both, 'crash', two!)).toEqual([false]);
    expect(idempotencyRuns(parseOptions(['--idempotency', 'on'], {}), 'crash', four!)).toEqual([true]);
    expect(() => parseOptions(['--idempotency', 'maybe'], {})).toThrow(/--idempotency: "maybe"/);
  });

  it('the faults matrix gives the keyed run a column of its own; results without the setting keep their old columns', () => {
    const m = faultsMatrix([faultRun('4-redis-queue', false, ignored), faultRun('4-redis-queue', true, keyed)]);
    expect(m.headers).toEqual(['strategy', 'kill-repeatedly', 'kill-repeatedly, key honoured']);
    expect(m.rows[0]).toEqual(['4-redis-queue', '3 / 3 / 0 / 3 ✔', '3 / 3 / 0 / 0 (3 suppressed) ✔']);
    expect(faultsMatrix([faultRun('4-redis-queue', undefined, ignored)]).headers).toEqual(['strategy', 'kill-repeatedly']);
  });

  it('the crash table shows the setting and what was suppressed per run', () => {
    const crash = (idempotency: boolean, ledger: LedgerEntry[]): CrashRun => ({
      target: '4-redis-queue', prefix: 'l1', http, delivery: account(record(3, [1, 2, 3]), ledger, true, 0), drain, idempotency, pendingAtKill: 3,
      crash: { kind: 'worker', killedPid: 7, atMs: 500, restartedPid: 8, restartMs: 900, killedIsGone: true },
    });
    const t = crashTable({ runs: { load: [], sweep: [], crash: [crash(false, ignored), crash(true, keyed)] } } as unknown as BenchResult);
    const col = (name: string) => t.rows.map((r) => r[t.headers.indexOf(name)]);
    expect(col('sink honours key')).toEqual(['off', 'on']);
    expect(col('duplicated (inbox twice)')).toEqual(['3', '0']);
    expect(col('suppressed (key)')).toEqual(['0', '3']);
  });

  it('the goal holds when, with the key honoured, 4 and 5 put nothing in an inbox twice and deliver everything accepted', () => {
    const result = (fives: LedgerEntry[]) => ({ runs: { load: [], sweep: [], crash: [], faults: [faultRun('4-redis-queue', true, keyed), faultRun('5-multi-worker', true, fives)] } }) as unknown as BenchResult;
    expect(keyGoal(result(keyed))).toMatchObject({ verdict: 'yes', evidence: expect.stringContaining('5-multi-worker: 3 of 3 delivered, 0 twice, 3 suppressed') });
    expect(keyGoal(result(ignored)).verdict).toBe('no');
    expect(keyGoal(result(keyed.slice(1))).verdict).toBe('no');
    expect(keyGoal({ runs: { load: [], sweep: [], crash: [] } } as unknown as BenchResult).verdict).toBe('not measured');
  });
});

describe("strategy 6: a killed consumer's entries, sent again", () => {
  const killedAt = T0 + 1000;

  it('counts a held id as sent again when the sink accepted it after the kill, and times the last of them', () => {
    // 1: sent before the kill and again after (a duplicate); 2: first sent after; 3: only before (acknowledged just in time).
    const ledger = [entry(1, 2, T0 + 900), entry(2, 1, T0 + 3500), entry(3, 1, T0 + 950)];
    ledger[0]![3] = T0 + 2200;
    const x = redelivery(['l1-1', 'l1-2', 'l1-3'], ledger, killedAt, 3000, true);
    expect(x).toEqual({ held: 3, resent: 2, ms: 2500, limitMs: 4000, by: 'claimed by a live consumer' });
    expect(redelivery([], ledger, killedAt, 3000, false)).toMatchObject({ held: 0, resent: 0, ms: null, by: 'read by the restarted consumer' });
  });

  it('a run that sends twice more than its mailer held unacknowledged breaks the promise, however little it lost', () => {
    const d = account(record(4, [1, 2, 3, 4]), [entry(1, 2, T0 + 5), entry(2, 2, T0 + 6), entry(3, 1, T0 + 7), entry(4, 1, T0 + 8)], true, 0);
    const http = record(4, [1, 2, 3, 4]).http;
    const run = (heldAtFaults: number): FaultRun => ({ target: '6-event-bus', fault: 'kill-repeatedly', prefix: 'l1', http, delivery: d, drain: { drained: true, ms: 0, pendingAtEnd: 0 }, events: [], stats: null, heldAtFaults });
    expect(judge(run(2)).verdict).toBe('kept');
    expect(judge(run(1))).toMatchObject({ verdict: 'broken', why: expect.stringContaining('more than the 1') });
  });

  it("--strategies 6 is the stream; its variants are asked for by name, and run only in the passes they answer", () => {
    expect(selectTargets(['6']).chosen.map((t) => t.name)).toEqual(['6-event-bus']);
    const { chosen } = selectTargets(['6-pubsub', '6-claim']);
    expect(chosen.map((t) => [t.name, t.crash, t.passes])).toEqual([
      ['6-claim', 'mailer', ['crash']],
      ['6-pubsub', 'mailer', ['crash', 'faults']],
    ]);
  });
});

describe('figures over rounds', () => {
  it('a percentile is the nearest rank; a median is shown with its range when the rounds differ', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 99)).toBe(4);
    expect(percentile([], 50)).toBeUndefined();
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
    expect(spread([4, 1])).toEqual({ median: 2.5, min: 1, max: 4, n: 2 });
    expect(spread([])).toBeNull();
    expect(show(spread([5900, 6310, 6088]))).toBe('6,088 (5,900-6,310)');
    expect(show(spread([-6, -5, -5]))).toBe('-5 (-6..-5)');
    expect(show(spread([7]))).toBe('7');
  });
});

describe('the command line of npm run bench', () => {
  it('a flag beats its environment variable, which beats the --quick default, which beats the default', () => {
    expect(parseOptions([], {}).duration).toBe(10);
    expect(parseOptions(['--quick'], {}).duration).toBe(2);
    expect(parseOptions(['--quick'], { BENCH_DURATION: '7' }).duration).toBe(7);
    expect(parseOptions(['--quick', '--duration', '5'], { BENCH_DURATION: '7' }).duration).toBe(5);
    expect(parseOptions([], { BENCH_QUICK: 'true' }).rounds).toBe(2);
  });

  it('runs load, sweep and crash by default, in that order whatever the order typed; --no-crash leaves the crash pass out', () => {
    expect(parseOptions([], {}).passes).toEqual(['load', 'sweep', 'crash']);
    expect(parseOptions(['--no-crash'], {}).passes).toEqual(['load', 'sweep']);
    expect(parseOptions(['--passes', 'crash,load'], {}).passes).toEqual(['load', 'crash']);
    expect(parseOptions([], { BENCH_SWEEP: 'off' }).sweepLatenciesMs).toEqual([]);
    expect(parseOptions(['--strategies', 'baseline,2'], {}).strategies).toEqual(['baseline', '2']);
  });

  it('refuses what it cannot read, naming the flag or variable', () => {
    expect(() => parseOptions(['--duration', 'ten'], {})).toThrow(/--duration must be a number of seconds/);
    expect(() => parseOptions([], { BENCH_CONNECTIONS: '-3' })).toThrow(/BENCH_CONNECTIONS must be a whole number/);
    expect(() => parseOptions(['--passes', 'load,soak'], {})).toThrow(OptionsError);
    expect(() => parseOptions(['--sweep', '0,fast'], {})).toThrow(/--sweep must be a comma-separated list/);
  });
});
