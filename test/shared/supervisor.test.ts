import { describe, expect, it } from 'vitest';
import { restartBackoff } from '../../shared/supervisor.ts';

describe('the supervisor restart backoff', () => {
  it('doubles the wait with each crash in a row, up to the maximum', () => {
    const backoff = restartBackoff(100, 1_000, 10_000);
    const delays = [];
    for (let t = 0; t < 6; t++) {
      backoff.started(t * 50);
      delays.push(backoff.exited(t * 50 + 10).delayMs);
    }
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('starts over after a child stayed up for the healthy period', () => {
    const backoff = restartBackoff(100, 30_000, 10_000);
    backoff.started(0);
    backoff.exited(10);
    backoff.started(20);
    expect(backoff.exited(30)).toEqual({ delayMs: 200, inARow: 2 });
    backoff.started(1_000);
    expect(backoff.exited(11_000)).toEqual({ delayMs: 100, inARow: 1 });
  });
});
