// The parent's side of a harness child (bench/queue/<library>.ts): started
// through the benchmarks' one launcher (../processes.ts), so it is in its own
// process group and gone when the benchmark ends, and read by the JSON lines
// it prints ({"bench": kind}); its other output is kept for error messages.
import { signalGroup, spawnEntry, type LogLine, type Proc } from '../processes.ts';
import type { Library } from './options.ts';

export function startHarness(library: Library, args: string[]): Proc {
  return spawnEntry({ name: library, entry: `bench/queue/${library}.ts`, args, watch: ['{"bench"'] });
}

/** The child's first {"bench": kind} line, or null once it has exited or `timeoutMs` has passed. */
export const benchLine = (child: Proc, kind: string, timeoutMs: number): Promise<LogLine | null> =>
  child.waitForLine((l) => l.bench === kind, timeoutMs, `its "${kind}" line`).catch(() => null);

export const lastOutput = (child: Proc) => child.tail.slice(-15).join('\n');

/** Runs one measured child to its end and returns its result line (given up after `timeoutMs`). */
export async function measure<T>(library: Library, args: string[], timeoutMs = 10 * 60_000): Promise<T> {
  const child = startHarness(library, args);
  const result = await benchLine(child, 'result', timeoutMs);
  if (!result) signalGroup(child.pid, 'SIGKILL');
  const { code, signal } = await child.exited;
  if (!result || code !== 0) throw new Error(`${library} ${args[0]} failed (exit ${code ?? signal}):\n${lastOutput(child)}`);
  const { bench: _, ...rest } = result;
  return rest as T;
}
