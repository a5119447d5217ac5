// How many task processors should a multiWorker run next? A pure function, so
// the policy can be read and tested apart from timers and Redis.
//
// node-resque adds or removes one processor per check, so reaching 20 takes
// ~10 s and 100 is never reached in a short burst. We borrow from TCP's
// congestion control instead (slow start, multiplicative decrease, and the
// fast return of CUBIC, Linux's default):
//   - loop blocked (delay over the limit): cut in proportion to how late it
//     was - times limit/delay, and by at least 30% (CUBIC's cut). A 12 ms
//     delay over a 10 ms limit trims; a 1 s busy-wait sends it to the
//     minimum at once, where halving would need six blocked checks from 64;
//   - loop healthy and every processor busy at some point of the window (a
//     job may have waited for one): grow. Fast while the delay is under half
//     the limit (slow start, below), else one at a time (close to the limit,
//     small steps avoid overshooting). After a block, the caller passes the
//     count at which the loop blocked: growth goes back halfway to it each
//     check, then one at a time past it. Plain AIMD would take 50 checks from
//     50 back to 100; this takes 6, and then probes carefully where it hurt.
//     node-resque grows when more than half are busy; but a processor that
//     stayed free all window says that no job waited for it;
//   - most processors idle: shrink towards what is actually used, keeping one
//     spare so a new burst is picked up at once.
//
// How fast is "fast"? Doubling, as TCP does, still needs 7 checks from 1 to
// 100, and a burst of short jobs is half over by then. The loop can tell us
// more: if it was busy 2% of the window while one job ran on average, each job
// costs it about 2%, so ~25 jobs would keep it busy half the time. Slow start
// jumps to that estimate - at least one more, at most `maxGrowth` times per
// check, because a short window can mislead (a job may not have reached its
// CPU-heavy part yet). The estimate errs on the safe side: the loop's fixed
// work (timers, heartbeats) is counted as if the jobs caused it.
//
// Whose fault is a late loop? Timer drift alone cannot tell: a timer also
// fires late when the process waited for a CPU core that other processes
// held, and removing processors does nothing about that. Two more
// measurements can:
//   - event-loop utilization: a job that blocked the loop for d ms kept it
//     busy at least d ms of the window, while a process the OS did not
//     schedule was idle (waiting in epoll) - so the loop cannot have been late
//     by its own doing for longer than it was busy;
//   - CPU time: of the time the loop was busy, only the share in which the
//     process actually had a core was its own work; the rest it sat preempted
//     in the middle of a callback.
// So the delay this process caused is min(delay, busy time) x (CPU time /
// busy time), and that is what the rules compare with the limit. On an idle
// machine it equals the delay; on a 2-core machine other processes keep busy
// (load average 10), about one window in three is 10-40 ms late while the
// loop was nearly idle.
import { defaults } from './defaults.ts';

export interface ScalingLimits {
  minProcessors: number;
  maxProcessors: number;
  /** Above this event-loop delay (ms) the loop counts as blocked. */
  maxEventLoopDelayMs: number;
  /** Slow start aims at the processor count that keeps the loop busy this share of the time. */
  targetUtilization?: number;
  /** Slow start grows at most this many times per check. */
  maxGrowth?: number;
}

export interface ScalingInput {
  processors: number;
  /** The most processors that were running a job at once during the last window. */
  busy: number;
  /** Event-loop delay over the last window, ms. */
  delayMs: number;
  /** Share of the last window the loop was busy, 0-1. Without it (or busyAverage) slow start doubles. */
  utilization?: number;
  /** Processors running a job, on average over the last window (time-weighted). */
  busyAverage?: number;
  /** Length of the last window, ms. With utilization and cpuMs, tells a loop blocked by its jobs from a machine short of CPU. */
  windowMs?: number;
  /** CPU time the process got in the last window, ms. */
  cpuMs?: number;
  /** Processors when the loop last blocked (the caller forgets it after a while): growth returns to it, then probes past it. */
  blockedAt?: number;
}

export type ScalingVerb = 'added' | 'removed' | 'steady';

export interface ScalingDecision {
  processors: number;
  verb: ScalingVerb;
  reason: string;
  /** The part of the delay this process caused (see above), ms: what was compared with the limit. */
  ownDelayMs: number;
  /** True when the loop was blocked: the caller remembers the count it blocked at (the input's `processors`). */
  blocked: boolean;
}

/** The part of the event-loop delay caused by this process's own work rather than by a machine short of CPU. */
export function ownDelay({ delayMs, utilization, windowMs, cpuMs }: Pick<ScalingInput, 'delayMs' | 'utilization' | 'windowMs' | 'cpuMs'>): number {
  if (utilization === undefined || windowMs === undefined) return delayMs;
  const loopBusyMs = utilization * windowMs;
  const late = Math.min(delayMs, loopBusyMs);
  if (cpuMs === undefined || loopBusyMs <= 0) return late;
  return late * Math.min(1, cpuMs / loopBusyMs);
}

export function decideProcessors(input: ScalingInput, limits: ScalingLimits): ScalingDecision {
  const { processors, busy, utilization, busyAverage, blockedAt } = input;
  const { minProcessors: min, maxProcessors: max, maxEventLoopDelayMs: limit } = limits;
  const clamp = (n: number) => Math.max(min, Math.min(max, n));
  const own = ownDelay(input);
  const blocked = own > limit;
  let target: number;
  let reason: string;
  if (blocked) {
    target = clamp(Math.floor(processors * Math.min(0.7, limit / own)));
    reason = `event loop blocked (${own.toFixed(1)} ms > ${limit} ms): cutting by ${Math.round((1 - target / processors) * 100)}%`;
  } else if (busy >= processors) {
    if (own > limit / 2) {
      target = clamp(processors + 1);
      reason = 'loop near its limit: adding one';
    } else if (blockedAt !== undefined && processors < blockedAt - 1) {
      target = clamp(processors + Math.ceil((blockedAt - processors) / 2));
      reason = `loop healthy: halfway back to ${blockedAt}, where it blocked lately`;
    } else if (blockedAt !== undefined) {
      target = clamp(processors + 1);
      reason = `loop healthy: adding one, near ${blockedAt} where it blocked lately`;
    } else if (utilization !== undefined && busyAverage !== undefined && busyAverage > 0) {
      const goal = limits.targetUtilization ?? defaults.targetLoopUtilization;
      const maxGrowth = limits.maxGrowth ?? defaults.maxGrowthPerCheck;
      const perJob = utilization / busyAverage;
      const fits = perJob > 0 ? Math.floor(goal / perJob) : Infinity;
      target = clamp(Math.max(processors + 1, Math.min(processors * maxGrowth, fits)));
      const measured = `loop healthy, ${pct(utilization)} busy with ${busyAverage.toFixed(1)} jobs running`;
      reason = fits > processors + 1 ? `${measured}: room for ${Number.isFinite(fits) ? `~${fits}` : 'many'}` : `${measured}: adding one`;
    } else {
      target = clamp(processors * 2);
      reason = 'loop healthy and most processors busy: doubling';
    }
  } else if (busy * 2 <= processors) {
    target = clamp(Math.max(busy + 1, Math.floor(processors / 2)));
    reason = 'most processors idle: shrinking';
  } else {
    target = processors;
    reason = 'enough processors: one was free all along';
  }
  if (processors < min || processors > max) target = clamp(processors);
  if (input.delayMs > limit && !blocked) {
    reason += ` (the loop was ${input.delayMs.toFixed(1)} ms late, but only ${own.toFixed(1)} ms of it was this process's work: the machine is short of CPU)`;
  }
  const verb: ScalingVerb = target > processors ? 'added' : target < processors ? 'removed' : 'steady';
  return { processors: target, verb, reason: verb === 'steady' ? `steady: ${reason}` : reason, ownDelayMs: own, blocked };
}

const pct = (share: number) => `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
