// The faults pass's redis-failover, tiny: strategy 4 behind a real Sentinel
// topology (shared/sentinel.ts), a steady load, SIGKILL of the primary
// halfway, once with ENQUEUE_REPLICAS=0 and once with 1, through the same
// runner as `npm run bench -- --faults redis-failover`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judge } from '../../bench/faults-report.ts';
import { parseOptions } from '../../bench/options.ts';
import { runBench } from '../../bench/orchestrator.ts';
import { killAllNow } from '../../bench/processes.ts';
import { lessons, markdownReport } from '../../bench/report.ts';
import type { BenchResult, FaultRun } from '../../bench/types.ts';

const SMALL = ['--idempotency', 'off', '--fault-rate', '30', '--fault-duration', '6', '--fault-latency', '5', '--fault-drain-timeout', '30'];

// Two runs of about 30 s each (the old primary takes some 17 s to rejoin as a
// replica). Each step of the fault has its own bound of up to a minute
// (SENTINEL_STEP_MS: a starved sentinel waits out TILT mode), so on a busy
// machine the two may take minutes: the hook's bound is that sum.
let result: BenchResult;
beforeAll(async () => {
  result = await runBench(parseOptions(['--strategies', '4', '--faults', 'redis-failover', ...SMALL, '--no-write', '--progress', 'off'], {}));
}, 480_000);
afterAll(() => killAllNow());

const run = (replicas: number): FaultRun => {
  const r = (result.runs.faults ?? []).find((x) => x.target === '4-redis-queue' && x.fault === 'redis-failover' && x.enqueueReplicas === replicas);
  if (!r) throw new Error(`no redis-failover run with ENQUEUE_REPLICAS=${replicas}; notes: ${result.notes.join(' | ')}`);
  return r;
};

describe('bench: redis-failover', () => {
  it('runs strategy 4 once per ENQUEUE_REPLICAS, kills the primary mid-load, and times the switch and the first job after it', () => {
    expect((result.runs.faults ?? []).map((r) => r.enqueueReplicas)).toEqual([0, 1]);
    for (const r of [run(0), run(1)]) {
      const context = JSON.stringify({ delivery: r.delivery, events: r.events, failover: r.failover });
      expect(r.events.some((e) => /^SIGKILL of the primary/.test(e.what)), context).toBe(true);
      expect(r.events.some((e) => /replica again/.test(e.what)), context).toBe(true);
      expect(r.failover!.switchMs, context).toBeGreaterThan(500); // down-after is 1 s
      expect(r.failover!.firstDoneMs, context).not.toBeNull();
      expect(r.failover!.firstDoneMs!, context).toBeGreaterThanOrEqual(r.failover!.switchMs);
      expect(r.delivery.accepted, context).toBeGreaterThan(30);
      // Open-loop: both modes are offered every request of 30 req/s for 6 s, each answered or counted as an error.
      expect(r.http.responses + r.http.errors + r.http.timeouts, context).toBe(180);
      expect(r.delivery.delivered + (r.delivery.failed ?? 0) + r.delivery.lost + r.delivery.unfinished, context).toBe(r.delivery.accepted);
    }
  });

  it('with ENQUEUE_REPLICAS=1 every accepted email is delivered; with 0 a loss is judged as documented, not hidden', () => {
    const durable = run(1);
    expect(durable.delivery.lost + durable.delivery.unfinished, JSON.stringify({ delivery: durable.delivery, drain: durable.drain, events: durable.events, stats: durable.stats })).toBe(0);
    expect(judge(durable).verdict).toBe('kept');
    const fast = run(0);
    expect(judge(fast).verdict).toBe(fast.delivery.lost + fast.delivery.unfinished === 0 ? 'kept' : 'documented loss');
  });

  it('the report shows both modes, and the failover goal is checked', () => {
    const md = markdownReport(result, []);
    expect(md).toContain('redis-failover, ENQUEUE_REPLICAS=0');
    expect(md).toContain('redis-failover, ENQUEUE_REPLICAS=1');
    expect(md).toMatch(/first email done on the new primary \d+\.\d s after the kill/);
    const goal = lessons(result).find((l) => l.claim.startsWith('redis-failover with ENQUEUE_REPLICAS=1'))!;
    expect(goal.verdict).not.toBe('not measured');
    expect(goal.evidence).toMatch(/4-redis-queue: 0 lost of \d+ accepted/);
  });
});
