// How many task processors should a multiWorker run next? A pure function, so
// the policy can be read and tested apart from timers and Redis.
//
// node-resque adds or removes one processor per check, so reaching 20 takes
// ~10 s and 100 is never reached in a short burst. We borrow TCP's congestion
// control instead (additive increase, multiplicative decrease, with a slow
// start):
//   - loop blocked (delay over the limit): halve - a CPU-bound job is running
//     and every extra concurrent job only makes the loop later;
//   - loop healthy and most processors busy: double while the delay is under
//     half the limit (slow start), then add one at a time (close to the limit,
//     small steps avoid overshooting);
//   - most processors idle: shrink towards what is actually used, keeping one
//     spare so a new burst is picked up at once.

export interface ScalingLimits {
  minProcessors: number;
  maxProcessors: number;
  /** Above this event-loop delay (ms) the loop counts as blocked. */
  maxEventLoopDelayMs: number;
}

export interface ScalingInput {
  processors: number;
  /** The most processors that were running a job at once during the last window. */
  busy: number;
  /** Event-loop delay over the last window, ms. */
  delayMs: number;
}

export type ScalingVerb = 'added' | 'removed' | 'steady';

export interface ScalingDecision {
  processors: number;
  verb: ScalingVerb;
  reason: string;
}

export function decideProcessors({ processors, busy, delayMs }: ScalingInput, limits: ScalingLimits): ScalingDecision {
  const { minProcessors: min, maxProcessors: max, maxEventLoopDelayMs: limit } = limits;
  const clamp = (n: number) => Math.max(min, Math.min(max, n));
  let target: number;
  let reason: string;
  if (delayMs > limit) {
    target = clamp(Math.floor(processors / 2));
    reason = `event loop blocked (${delayMs.toFixed(1)} ms > ${limit} ms): halving`;
  } else if (busy * 2 > processors) {
    const slowStart = delayMs <= limit / 2;
    target = clamp(slowStart ? processors * 2 : processors + 1);
    reason = slowStart ? 'loop healthy and most processors busy: doubling' : 'loop near its limit: adding one';
  } else {
    target = clamp(Math.max(busy + 1, Math.floor(processors / 2)));
    reason = 'most processors idle: shrinking';
  }
  if (processors < min || processors > max) target = clamp(processors);
  const verb: ScalingVerb = target > processors ? 'added' : target < processors ? 'removed' : 'steady';
  return { processors: target, verb, reason: verb === 'steady' ? `steady: ${reason}` : reason };
}
