// Jobs per second over the last minutes, for the overview chart. resque keeps
// only running totals (stat:processed, stat:failed), so the dashboard samples
// them once a second and keeps the differences: the chart starts when the
// dashboard starts, not when the page is opened. One MGET a second.
export interface Counters {
  processed: number;
  failed: number;
}

export interface ThroughputPoint {
  /** End of the interval, ms since the epoch. */
  t: number;
  /** Jobs per second in the interval before `t`; null where nothing could be read (Redis down) or the counters went back (Redis lost its data). */
  processed: number | null;
  failed: number | null;
}

interface Sample {
  t: number;
  counters: Counters | null;
}

export class ThroughputSampler {
  private readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private reading = false;

  constructor(
    private readonly read: () => Promise<Counters>,
    private readonly intervalMs = 1_000,
    private readonly keepMs = 10 * 60_000,
  ) {}

  start(): void {
    if (this.timer) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref(); // a chart must never keep a process alive
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private sample(): void {
    if (this.reading) return; // a slow read is still out: do not pile them up
    this.reading = true;
    const t = Date.now();
    this.read()
      .then(
        (counters) => this.push({ t, counters }),
        // An outage is a gap in the chart; the banner says why, so nothing to log here.
        () => this.push({ t, counters: null }),
      )
      .finally(() => {
        this.reading = false;
      });
  }

  private push(sample: Sample): void {
    this.samples.push(sample);
    while (this.samples.length > 0 && this.samples[0]!.t < sample.t - this.keepMs) this.samples.shift();
  }

  /** Rates between consecutive samples, oldest first. */
  series(): ThroughputPoint[] {
    const points: ThroughputPoint[] = [];
    for (let i = 1; i < this.samples.length; i++) {
      const a = this.samples[i - 1]!;
      const b = this.samples[i]!;
      const seconds = (b.t - a.t) / 1000;
      const rate = (x: number | undefined, y: number | undefined) =>
        x === undefined || y === undefined || y < x || seconds <= 0 ? null : Math.round(((y - x) / seconds) * 10) / 10;
      points.push({ t: b.t, processed: rate(a.counters?.processed, b.counters?.processed), failed: rate(a.counters?.failed, b.counters?.failed) });
    }
    return points;
  }
}
