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

  it('halves when the loop is blocked, down to the minimum and no further', () => {
    expect(decide({ processors: 64, busy: 64, delayMs: 950 })).toMatchObject({ processors: 32, verb: 'removed', reason: expect.stringMatching(/blocked/) });
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
