// How can you tell the CPU is pegged? Ask the event loop how late it is.
//
// A timer asked to fire every 10 ms fires late when something hogs the loop:
// the lateness (the "event-loop delay") is the time every other callback - an
// HTTP request, a Redis reply, a heartbeat - had to wait. The talk measured it
// by hand (setInterval + process.hrtime, subtracting the interval). Node now
// does the same in C++ with perf_hooks.monitorEventLoopDelay: it samples every
// `resolution` ms into a histogram without allocating in JavaScript, and it
// keeps sampling while our own timers are starved.
//
// We read the histogram's maximum over each window, not its mean: one 1-second
// busy-wait among a hundred 1 ms samples is exactly what we must see, and a
// mean would hide it. Event-loop utilization (the share of the window the loop
// was busy running JavaScript) is reported beside it: delay says how long
// others waited, utilization says how much room is left.
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';

export interface LoopSample {
  /** Worst lateness in the window, ms. */
  maxDelayMs: number;
  /** 99th percentile lateness in the window, ms. */
  p99DelayMs: number;
  /** Share of the window the loop was busy, 0-1. */
  utilization: number;
}

export class EventLoopMonitor {
  private readonly histogram: IntervalHistogram;
  private lastElu: EventLoopUtilization;

  constructor(resolutionMs = 10) {
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.histogram.enable();
    this.lastElu = performance.eventLoopUtilization();
  }

  /** What happened since the previous call; starts a new window. */
  sample(): LoopSample {
    const h = this.histogram;
    // The histogram records (actual interval - resolution) in ns; an empty window reads as 0.
    const toMs = (ns: number) => (Number.isFinite(ns) && h.count > 0 ? ns / 1e6 : 0);
    const elu = performance.eventLoopUtilization(this.lastElu);
    this.lastElu = performance.eventLoopUtilization();
    const sample = { maxDelayMs: toMs(h.max), p99DelayMs: toMs(h.percentile(99)), utilization: elu.utilization };
    h.reset();
    return sample;
  }

  stop(): void {
    this.histogram.disable();
  }
}
