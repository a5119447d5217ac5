import { describe, expect, it } from 'vitest';
import { EventLoopMonitor } from '../../shared/queue/event-loop.ts';

const busyWait = (ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* hog the loop, like the talk's slowCPUJob */
  }
};
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the event-loop monitor', () => {
  it('sees a busy-wait as delay and utilization, and starts a fresh window after each sample', async () => {
    const monitor = new EventLoopMonitor(10);
    try {
      await tick(50);
      monitor.sample();
      busyWait(300);
      await tick(30); // let the histogram's timer fire once, late
      const blocked = monitor.sample();
      expect(blocked.maxDelayMs).toBeGreaterThanOrEqual(250);
      expect(blocked.utilization).toBeGreaterThan(0.5);
      // The next window does not remember the block (generous bound: the machine is noisy).
      await tick(100);
      expect(monitor.sample().maxDelayMs).toBeLessThan(blocked.maxDelayMs);
    } finally {
      monitor.stop();
    }
  });
});
