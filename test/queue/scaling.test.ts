import { describe, expect, it } from 'vitest';
import { decideProcessors, type ScalingInput } from '../../shared/queue/scaling.ts';

const limits = { minProcessors: 1, maxProcessors: 100, maxEventLoopDelayMs: 10 };
const decide = (input: ScalingInput) => decideProcessors(input, limits);

describe('the multiWorker scaling policy', () => {
  it('doubles while the loop is healthy and most processors are busy: 1 to 100 in 7 checks, not 99', () => {
    let processors = 1;
    const steps: number[] = [];
    while (processors < 100) {
      processors = decide({ processors, busy: processors, delayMs: 1 }).processors;
      steps.push(processors);
    }
    expect(steps).toEqual([2, 4, 8, 16, 32, 64, 100]);
  });

  it('adds one at a time when the delay is close to the limit', () => {
    expect(decide({ processors: 20, busy: 20, delayMs: 7 })).toMatchObject({ processors: 21, verb: 'added' });
  });

  it('cuts in proportion to how late a blocked loop was, by at least 30%, down to the minimum and no further', () => {
    expect(decide({ processors: 64, busy: 64, delayMs: 950 })).toMatchObject({ processors: 1, verb: 'removed', reason: expect.stringMatching(/blocked/) });
    expect(decide({ processors: 64, busy: 64, delayMs: 40 })).toMatchObject({ processors: 16, blocked: true });
    expect(decide({ processors: 100, busy: 100, delayMs: 12 })).toMatchObject({ processors: 70, blocked: true });
    expect(decide({ processors: 1, busy: 1, delayMs: 950 })).toMatchObject({ processors: 1, verb: 'steady' });
  });

  it('shrinks idle processors towards what is used, keeping one spare', () => {
    expect(decide({ processors: 64, busy: 3, delayMs: 1 })).toMatchObject({ processors: 32, verb: 'removed' });
    expect(decide({ processors: 8, busy: 3, delayMs: 1 })).toMatchObject({ processors: 4, verb: 'removed' });
    expect(decide({ processors: 2, busy: 0, delayMs: 0 })).toMatchObject({ processors: 1, verb: 'removed' });
    expect(decide({ processors: 1, busy: 0, delayMs: 0 })).toMatchObject({ processors: 1, verb: 'steady' });
  });

  it('never leaves the configured range', () => {
    const narrow = { minProcessors: 2, maxProcessors: 5, maxEventLoopDelayMs: 10 };
    expect(decideProcessors({ processors: 4, busy: 4, delayMs: 0 }, narrow).processors).toBe(5);
    expect(decideProcessors({ processors: 3, busy: 3, delayMs: 500 }, narrow).processors).toBe(2);
    expect(decideProcessors({ processors: 9, busy: 0, delayMs: 0 }, narrow).processors).toBe(5);
  });
});

describe('slow start sized by the loop, the way back after a block, and whose fault a delay is', () => {
  it('jumps to the count the loop has room for, at most maxGrowth times per check', () => {
    // 2% busy with one job running: ~25 would keep it half busy.
    expect(decide({ processors: 1, busy: 1, delayMs: 1, utilization: 0.02, busyAverage: 1 })).toMatchObject({ processors: 16, verb: 'added' });
    expect(decide({ processors: 4, busy: 4, delayMs: 1, utilization: 0.02, busyAverage: 1 })).toMatchObject({ processors: 25 });
    // A loop already 40% busy with 10 jobs: room for 12, not for 20.
    expect(decide({ processors: 10, busy: 10, delayMs: 2, utilization: 0.4, busyAverage: 10 })).toMatchObject({ processors: 12 });
    // No room by the estimate: still one more, the delay decides from there.
    expect(decide({ processors: 10, busy: 10, delayMs: 2, utilization: 0.9, busyAverage: 10 })).toMatchObject({ processors: 11 });
  });

  it('after a block, goes back halfway to where the loop blocked each check, then one at a time past it', () => {
    const back = (processors: number) => decide({ processors, busy: processors, delayMs: 1, utilization: 0.01, busyAverage: processors, blockedAt: 100 }).processors;
    const steps = [50];
    while (steps.at(-1)! < 100 && steps.length < 20) steps.push(back(steps.at(-1)!));
    expect(steps).toEqual([50, 75, 88, 94, 97, 99, 100]);
    expect(decide({ processors: 60, busy: 60, delayMs: 1, utilization: 0.01, busyAverage: 60, blockedAt: 60 })).toMatchObject({ processors: 61 });
  });

  it('a processor free all window means no job waited: it neither grows nor shrinks', () => {
    expect(decide({ processors: 20, busy: 15, delayMs: 0 })).toMatchObject({ processors: 20, verb: 'steady' });
  });

  it('a late loop that was idle, or preempted, is the machine short of CPU: no halving', () => {
    // 30 ms late in a 100 ms window, busy 3 ms: the process was waiting for a core.
    const idle = decide({ processors: 64, busy: 64, delayMs: 30, utilization: 0.03, windowMs: 100, cpuMs: 3 });
    expect(idle).toMatchObject({ verb: 'added', blocked: false });
    expect(idle.ownDelayMs).toBeCloseTo(3);
    expect(idle.reason).toMatch(/machine is short of CPU/);
    // Busy 30 ms but on a core for only 6 of them: 30 x 6/30 = 6 ms its own.
    expect(decide({ processors: 64, busy: 64, delayMs: 30, utilization: 0.3, windowMs: 100, cpuMs: 6 })).toMatchObject({ processors: 65, blocked: false });
    // A 1 s busy-wait on a loaded machine still blocks: busy 1000 ms, on a core 300 of them.
    const job = decide({ processors: 64, busy: 64, delayMs: 1000, utilization: 0.95, windowMs: 1050, cpuMs: 300 });
    expect(job).toMatchObject({ processors: 2, blocked: true });
    expect(job.ownDelayMs).toBeGreaterThan(250);
  });
});
