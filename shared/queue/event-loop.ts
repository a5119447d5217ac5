// How can you tell the CPU is pegged? Ask the event loop how late it is.
//
// A timer asked to fire every 10 ms fires late when something hogs the loop:
// the lateness (the "event-loop delay") is how long every other callback - an
// HTTP request, a Redis reply, a heartbeat - had to wait. The talk measured it
// with setInterval + process.hrtime, and so do we.
//
// Why not perf_hooks.monitorEventLoopDelay, which does the same in C++? Its
// reset() also forgets when its timer last fired, so the first interval after
// a reset is never recorded: a 300 ms busy-wait that starts right after a
// reset is reported as 10 ms (measured on Node 20; see
// test/queue/event-loop.test.ts). A multiWorker resets every check, and a
// CPU-bound job can start at any moment, so it would miss exactly what it is
// watching for. Our own timer costs ~100 callbacks a second and misses nothing.
//
// We keep the worst lateness per window, not a mean: one 1-second busy-wait
// among a hundred 1 ms samples is the signal, and a mean would hide it.
// Event-loop utilization (the share of the window the loop was running
// JavaScript) is reported beside it: delay says how long others waited,
// utilization how much room is left. And the CPU time the process got, because
// on a shared machine "running JavaScript" can also mean "waiting for a core
// in the middle of it" (scaling.ts uses both to tell whose fault a delay is).
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

export interface LoopSample {
  /** Worst lateness of the probe timer in the window, ms. */
  maxDelayMs: number;
  /** Share of the window the loop was busy, 0-1. */
  utilization: number;
  /** Length of the window, ms. */
  windowMs: number;
  /** CPU time (user + system) the process got in the window, ms. */
  cpuMs: number;
}

export class EventLoopMonitor {
  private readonly timer: NodeJS.Timeout;
  private lastTick = performance.now();
  private worst = 0;
  private lastElu: EventLoopUtilization = performance.eventLoopUtilization();
  private lastCpu = process.cpuUsage();
  private windowStart = performance.now();

  constructor(private readonly resolutionMs = 10) {
    this.timer = setInterval(() => this.observe(), resolutionMs);
    this.timer.unref(); // a monitor must never keep a process alive
  }

  private observe(): number {
    const now = performance.now();
    const late = Math.max(0, now - this.lastTick - this.resolutionMs);
    this.worst = Math.max(this.worst, late);
    this.lastTick = now;
    return late;
  }

  /** What happened since the previous call; starts a new window. */
  sample(): LoopSample {
    // A block still under way when we are asked counts too: the probe has not fired yet.
    const pending = Math.max(0, performance.now() - this.lastTick - this.resolutionMs);
    const maxDelayMs = Math.max(this.worst, pending);
    // ...and only in this window: when the late probe fires, it measures from here.
    // (Right after a block, a check timer can run before the probe in the same turn.)
    if (pending > 0) this.lastTick = performance.now();
    const elu = performance.eventLoopUtilization(this.lastElu);
    this.lastElu = performance.eventLoopUtilization();
    const cpu = process.cpuUsage(this.lastCpu);
    this.lastCpu = process.cpuUsage();
    const now = performance.now();
    const windowMs = now - this.windowStart;
    this.windowStart = now;
    this.worst = 0;
    return { maxDelayMs, utilization: elu.utilization, windowMs, cpuMs: (cpu.user + cpu.system) / 1000 };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
