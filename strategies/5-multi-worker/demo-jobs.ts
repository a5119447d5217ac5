// The talk's two demo jobs, in their own queue: one waits on a timer, one hogs
// the CPU. The multiWorker process runs them beside sendEmail, so the demo
// (npm run strategy:5:demo) shows it scale up for the first and back down for
// the second.
import type { Jobs } from '../../shared/queue/index.ts';

export const DEMO_QUEUE = 'slowQueue';

/** Blocks the event loop for `ms`: nothing else in this process runs meanwhile. */
export function busyWait(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // hog the loop
  }
}

export const demoJobs = {
  /** Waits on a timer: costs the event loop nothing while it waits. */
  slowSleepJob: (ms = 1000) => new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms)),
  /** Busy-waits: the event loop, heartbeat included, stops for `ms`. Keep it well under the heartbeat TTL (5 s). */
  slowCPUJob: (ms = 1000) => {
    busyWait(ms);
    return ms;
  },
} satisfies Jobs;
