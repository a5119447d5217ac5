// The benchmark's --metrics knob: the load pass with the strategies' metrics
// off, on, or both side by side, for the accept path's cost of counting.
import { describe, expect, it } from 'vitest';
import { OptionsError, parseOptions } from '../../bench/options.ts';

describe('npm run bench -- --metrics', () => {
  it('runs with metrics on unless told, takes off,on in that order whatever order it is given, and refuses anything else', () => {
    expect(parseOptions([], {}).metrics).toEqual(['on']);
    expect(parseOptions(['--metrics', 'on,off'], {}).metrics).toEqual(['off', 'on']);
    expect(parseOptions([], { BENCH_METRICS: 'off' }).metrics).toEqual(['off']);
    expect(() => parseOptions(['--metrics', 'maybe'], {})).toThrow(OptionsError);
    expect(() => parseOptions(['--metrics', ''], {})).toThrow(/--metrics needs off, on or both/);
  });
});
