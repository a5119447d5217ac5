// Reliability beyond the happy path: the strategies under faults, through the
// same runner as `npm run bench -- --faults` (bench/faults.ts), on a reduced
// matrix with small counts and short faults. Real strategies, the real sink
// process, real Redis, real autocannon; every id counted at the sink.
//
//   4 and 5     lose nothing under kill-repeatedly, redis-restart and sigterm
//               (which they survive promptly, with exit 0), 4 under sink-down
//               (5 retries through the same job code)
//   6           loses nothing under kill-repeatedly and redis-restart, and
//               sends twice at most what its mailer held unacknowledged then;
//               on pub/sub what it loses is counted, as documented
//   1           never answers 2xx for an email the sink did not accept
//   5xx         mail to refused addresses ends reported failed (1: refused to
//               the client) for 1, 3, 4 and 6 - never delivered, never lost
//   2 and 3     the loss they document is counted, and adds up
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { FAULTS_END, FAULTS_START, faultsBlock, replaceBlock } from '../../bench/doc.ts';
import { judge } from '../../bench/faults-report.ts';
import { FAULT_NAMES, OptionsError, parseOptions } from '../../bench/options.ts';
import { runBench } from '../../bench/orchestrator.ts';
import { killAllNow } from '../../bench/processes.ts';
import { markdownReport } from '../../bench/report.ts';
import { FAULT_CONNECTIONS, type BenchResult, type FaultRun } from '../../bench/types.ts';

// Short: 30 req/s for 5 s, two kills 1.5 s apart, a 2 s sink outage. Drains are
// bounded by a generous deadline, never by a fixed sleep: 4 and 5 wait out a
// dead worker's 5 s heartbeat on a busy machine.
// The sink ignores idempotency keys unless a block asks (one run per setting would double kill-repeatedly).
const SMALL = ['--idempotency', 'off', '--fault-rate', '30', '--fault-duration', '5', '--fault-latency', '5', '--fault-kills', '2', '--fault-every', '1.5', '--fault-outage', '2', '--fault-drain-timeout', '60'];

/** One faults run for the describe block that calls this, shared by its tests: read it with the returned function. */
function faultsRun(strategies: string, faults: string, timeoutMs = 120_000, extra: string[] = []): () => BenchResult {
  let result: BenchResult | undefined;
  beforeAll(async () => {
    result = await runBench(parseOptions(['--strategies', strategies, '--faults', faults, ...SMALL, ...extra, '--no-write', '--progress', 'off'], {}));
  }, timeoutMs);
  return () => result!;
}

const runOf = (result: BenchResult, target: string, fault: string): FaultRun => {
  const r = (result.runs.faults ?? []).find((x) => x.target === target && x.fault === fault);
  if (!r) throw new Error(`no run of ${target} under ${fault}; notes: ${result.notes.join(' | ')}`);
  return r;
};
const balance = (r: FaultRun) => r.delivery.delivered + (r.delivery.failed ?? 0) + r.delivery.lost + r.delivery.unfinished;
const describeRun = (r: FaultRun) => JSON.stringify({ delivery: r.delivery, drain: r.drain, events: r.events, stats: r.stats, refused: r.refused });

afterAll(() => killAllNow());

describe('choosing faults', () => {
  it('--faults alone runs every fault and only the faults pass; a list picks; an unknown fault is refused', () => {
    const all = parseOptions(['--faults'], {});
    expect(all.faults).toEqual([...FAULT_NAMES]);
    expect(all.passes).toEqual(['faults']);
    const some = parseOptions(['--faults', 'sink-down,kill-repeatedly', '--strategies', '4'], {});
    expect(some.faults).toEqual(['kill-repeatedly', 'sink-down']);
    expect(parseOptions([], { BENCH_FAULTS: 'sigterm' }).faults).toEqual(['sigterm']);
    expect(parseOptions(['--faults', 'sigterm', '--passes', 'crash'], {}).passes).toEqual(['crash', 'faults']);
    expect(parseOptions([], {}).passes).toEqual(['load', 'sweep', 'crash']);
    expect(() => parseOptions(['--faults', 'meteor'], {})).toThrow(OptionsError);
  });
});

describe('strategies 4 and 5 lose nothing', () => {
  // 5 retries through the same job code as 4 (shared/queue), so the sink's outage runs for 4 alone;
  // its own worker process, recovery and drain meet every other fault.
  const four = faultsRun('4', 'kill-repeatedly,sink-down,redis-restart,sigterm', 120_000);
  const five = faultsRun('5', 'kill-repeatedly,redis-restart,sigterm', 120_000);
  const result = (target: string) => (target === '4-redis-queue' ? four() : five());

  it.each([
    ['4-redis-queue', 'kill-repeatedly'],
    ['5-multi-worker', 'kill-repeatedly'],
    ['4-redis-queue', 'sink-down'],
    ['4-redis-queue', 'redis-restart'],
    ['5-multi-worker', 'redis-restart'],
    ['4-redis-queue', 'sigterm'],
    ['5-multi-worker', 'sigterm'],
  ])('%s under %s: every accepted email delivered, none lost', (target, fault) => {
    const r = runOf(result(target), target, fault);
    expect(r.events.filter((e) => e.error), describeRun(r)).toEqual([]);
    expect(r.events.length, describeRun(r)).toBeGreaterThanOrEqual(fault === 'redis-restart' ? 1 : 2);
    // The queue lives in the harness's Redis: what was accepted before a SIGTERM is sent after the restart.
    expect(r.drain.drained, describeRun(r)).toBe(true);
    expect(r.delivery.accepted).toBeGreaterThan(50);
    expect(r.delivery.lost, describeRun(r)).toBe(0);
    expect(r.delivery.unfinished, describeRun(r)).toBe(0);
    // No 5xx in these faults: nothing should even fail.
    expect(r.delivery.delivered, describeRun(r)).toBe(r.delivery.accepted);
    expect(judge(r).verdict).toBe('kept');
  });

  it('kills really replaced the worker, twice; the outage, the restart and the SIGTERM happened mid-load', () => {
    const down = runOf(four(), '4-redis-queue', 'sink-down').events;
    expect(down.map((e) => e.what)).toEqual(['sink down', 'sink up again after']);
    expect(down[1]!.ms).toBeGreaterThanOrEqual(1900);
    for (const target of ['4-redis-queue', '5-multi-worker']) {
      const kills = runOf(result(target), target, 'kill-repeatedly').events.filter((e) => /^SIGKILL worker/.test(e.what));
      expect(kills).toHaveLength(2);
      for (const k of kills) expect(k.ms).toBeGreaterThan(0);
      const restart = runOf(result(target), target, 'redis-restart').events[0]!;
      expect(restart.atMs).toBeGreaterThan(1000);
      expect(restart.atMs).toBeLessThan(5000);
      // A graceful stop under load: exit 0, promptly, though the load generator keeps its connections busy.
      const [term] = runOf(result(target), target, 'sigterm').events;
      expect(term!.what).toMatch(/^SIGTERM supervisor pid \d+ \(\d+ pending\): exit 0, after$/);
      expect(term!.ms).toBeLessThan(4000);
    }
  });
});

describe('with the sink honouring idempotency keys, 4 under kill-repeatedly delivers every email once', () => {
  const result = faultsRun('4', 'kill-repeatedly', 90_000, ['--idempotency', 'on']);

  it('every accepted email delivered, none in the inbox twice; what a recovered job sent again is counted as suppressed', () => {
    const r = runOf(result(), '4-redis-queue', 'kill-repeatedly');
    expect(r.idempotency).toBe(true);
    expect(r.events.filter((e) => /^SIGKILL worker/.test(e.what) && !e.error), describeRun(r)).toHaveLength(2);
    expect(r.drain.drained, describeRun(r)).toBe(true);
    expect(r.delivery.accepted).toBeGreaterThan(50);
    expect(r.delivery.delivered, describeRun(r)).toBe(r.delivery.accepted);
    expect(r.delivery.duplicates, describeRun(r)).toBe(0);
    // A kill between the sink's 250 and the ack makes a repeat; one that lands between sends makes none.
    expect(r.delivery.suppressed, describeRun(r)).toBeGreaterThanOrEqual(0);
    expect(judge(r).verdict).toBe('kept');
  });
});

describe('strategy 6 on a stream loses nothing; on pub/sub it loses what it documents', () => {
  const result = faultsRun('6,6-pubsub', 'kill-repeatedly,redis-restart', 150_000);

  it.each(['kill-repeatedly', 'redis-restart'])('6-event-bus under %s: every accepted email delivered, sent twice at most what the mailer held', (fault) => {
    const r = runOf(result(), '6-event-bus', fault);
    expect(r.events.filter((e) => e.error), describeRun(r)).toEqual([]);
    if (fault === 'kill-repeatedly') expect(r.events.filter((e) => /^SIGKILL mailer/.test(e.what)), describeRun(r)).toHaveLength(2);
    expect(r.drain.drained, describeRun(r)).toBe(true);
    expect(r.delivery.accepted).toBeGreaterThan(50);
    expect(r.delivery.lost, describeRun(r)).toBe(0);
    expect(r.delivery.unfinished, describeRun(r)).toBe(0);
    expect(r.delivery.delivered, describeRun(r)).toBe(r.delivery.accepted);
    expect(r.heldAtFaults, describeRun(r)).toBeDefined();
    expect(r.delivery.duplicates, describeRun(r)).toBeLessThanOrEqual(r.heldAtFaults!);
    expect(judge(r).verdict).toBe('kept');
  });

  it('6-pubsub under redis-restart: whatever its subscriber missed while reconnecting is counted, and adds up', () => {
    const r = runOf(result(), '6-pubsub', 'redis-restart');
    expect(r.events.filter((e) => e.error), describeRun(r)).toEqual([]);
    expect(r.delivery.accepted).toBeGreaterThan(50);
    expect(r.delivery.lost).toBe(r.delivery.accepted - r.delivery.delivered - (r.delivery.failed ?? 0));
    expect(balance(r)).toBe(r.delivery.accepted);
    // At most once is its documentation: a loss is as documented, never broken.
    expect(['kept', 'documented loss']).toContain(judge(r).verdict);
    // Nothing held, nothing to bound: pub/sub has no pending list.
    expect(r.heldAtFaults).toBeUndefined();
  });
});

describe('sink-5xx-some: addresses the sink refuses for good', () => {
  // 5 fails a job through the same code as 4 (shared/queue).
  const result = faultsRun('1,3,4,6', 'sink-5xx-some');

  it('1 answers them with an error, never 2xx, and every 2xx it gave was delivered', () => {
    const r = runOf(result(), '1-foreground', 'sink-5xx-some');
    expect(r.refused!.sent, describeRun(r)).toBeGreaterThan(5);
    expect(r.refused!.accepted, describeRun(r)).toBe(0);
    expect(r.refused!.delivered).toBe(0);
    // Each of them answered 502, but for the last request of each connection, cut off when the load ended.
    expect(r.http.statusCodes['502'], describeRun(r)).toBeLessThanOrEqual(r.refused!.sent);
    expect(r.http.statusCodes['502'], describeRun(r)).toBeGreaterThanOrEqual(r.refused!.sent - FAULT_CONNECTIONS);
    expect(r.delivery.delivered).toBe(r.delivery.accepted);
    expect(judge(r).verdict).toBe('kept');
  });

  it.each(['3-cluster-ipc', '4-redis-queue', '6-event-bus'])('%s reports every one of them failed: none delivered, none silently lost', (target) => {
    const r = runOf(result(), target, 'sink-5xx-some');
    const refused = r.refused!;
    expect(refused.accepted, describeRun(r)).toBeGreaterThan(5);
    expect(refused.failed, describeRun(r)).toBe(refused.accepted);
    expect(refused.delivered).toBe(0);
    expect(refused.lost).toBe(0);
    expect(r.delivery.failed).toBe(refused.accepted);
    expect(r.delivery.lost, describeRun(r)).toBe(0);
    expect(r.delivery.unfinished).toBe(0);
    expect(balance(r)).toBe(r.delivery.accepted);
    // Its own count agrees (it may also count a request whose 202 the end of the load cut off).
    expect(r.stats?.failed, describeRun(r)).toBeGreaterThanOrEqual(refused.accepted);
    expect(r.stats?.failed, describeRun(r)).toBeLessThanOrEqual(refused.sent);
    expect(judge(r).verdict).toBe('kept');
  });
});

describe('kill-repeatedly: what 1, 2 and 3 lose', () => {
  const result = faultsRun('1,2,3', 'kill-repeatedly');

  it('1 never has a 2xx id missing at the sink', () => {
    const r = runOf(result(), '1-foreground', 'kill-repeatedly');
    expect(r.events.filter((e) => /^SIGKILL server/.test(e.what) && !e.error), describeRun(r)).toHaveLength(2);
    expect(r.delivery.accepted).toBeGreaterThan(30);
    expect(r.delivery.delivered, describeRun(r)).toBe(r.delivery.accepted);
    expect(r.delivery.lost).toBe(0);
    expect(judge(r).verdict).toBe('kept');
  });

  it.each([
    ['2-fire-and-forget', 'server'],
    ['3-cluster-ipc', 'worker'],
  ])('%s: the loss is counted and adds up (lost = accepted - delivered - failed)', (target, killed) => {
    const r = runOf(result(), target, 'kill-repeatedly');
    expect(r.events.filter((e) => e.what.startsWith(`SIGKILL ${killed}`) && !e.error), describeRun(r)).toHaveLength(2);
    expect(r.drain.drained, describeRun(r)).toBe(true);
    expect(r.delivery.accepted).toBeGreaterThan(30);
    expect(Number.isInteger(r.delivery.lost)).toBe(true);
    expect(r.delivery.lost).toBeGreaterThanOrEqual(0);
    expect(r.delivery.lost).toBe(r.delivery.accepted - r.delivery.delivered - (r.delivery.failed ?? 0));
    expect(balance(r)).toBe(r.delivery.accepted);
    // Their documentation admits the loss; it is reported, not called broken.
    expect(['kept', 'documented loss']).toContain(judge(r).verdict);
  });

  it("the report and docs/benchmark.md's faults block show the matrix", () => {
    const report = markdownReport(result(), []);
    expect(report).toContain('## Faults');
    expect(report).toMatch(/\| 2-fire-and-forget \| kill-repeatedly \|/);
    expect(report).not.toContain('## The lessons, checked');
    const readme = `# x\n\n${FAULTS_START}\nold\n${FAULTS_END}\n`;
    const next = replaceBlock(readme, faultsBlock(result(), path.join('/tmp', 'x')), FAULTS_START, FAULTS_END);
    expect(next).toMatch(/\| strategy \| kill-repeatedly \|/);
    const two = runOf(result(), '2-fire-and-forget', 'kill-repeatedly').delivery;
    expect(next).toContain(`| 2-fire-and-forget | ${two.accepted} / ${two.delivered} / ${two.lost} / ${two.duplicates}`);
    expect(next).not.toContain('old');
  });
});
