// npm run bench: the command line. Parses flags and environment, shows
// progress, runs the benchmark, writes the result files and prints the tables.
// Ctrl-C (or SIGTERM) stops the current load and every process the benchmark
// started before it exits (130); a second Ctrl-C stops them without waiting.
//
//   npm run bench -- --help
import path from 'node:path';
import { cliMain } from './knobs.ts';
import { helpText, OptionsError, parseOptions, type BenchOptions } from './options.ts';
import { ROOT } from '../shared/root.ts';
import { runBench } from './orchestrator.ts';
import { killAllNow } from './processes.ts';
import { createProgress } from './progress.ts';
import { terminalReport } from './report.ts';
import type { BenchResult } from './types.ts';
import { fileStamp, writeResults } from './write.ts';

const HARD_EXIT_MS = 15_000;

export async function main(options: BenchOptions): Promise<number> {
  const mode = options.progress === 'auto' ? (process.stderr.isTTY ? 'live' : 'lines') : options.progress;
  const progress = createProgress(mode);
  const ac = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      killAllNow();
      process.exit(130);
    }
    interrupted = signal;
    progress.note(`${signal}: stopping the load and every process the benchmark started (again to force)`);
    ac.abort();
    setTimeout(() => {
      killAllNow();
      process.exit(130);
    }, HARD_EXIT_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Whatever happens, no child outlives the harness.
  process.on('exit', killAllNow);

  const stamp = fileStamp();
  let result: BenchResult;
  try {
    result = await runBench(options, { progress: (e) => progress.update(e), note: (t) => progress.note(t) }, ac.signal, stamp);
  } catch (err) {
    progress.done();
    if (err instanceof OptionsError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    if (interrupted) {
      process.stderr.write(`interrupted by ${interrupted}: every process stopped, no results written\n`);
      return 130;
    }
    process.stderr.write(`benchmark failed: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
  progress.done();
  if (options.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else process.stdout.write(terminalReport(result));
  if (options.write) {
    const written = await writeResults(result, options.out, stamp);
    const rel = (p: string) => path.relative(ROOT, p);
    process.stderr.write(`\nwrote ${rel(written.json)}, ${rel(written.report)} and ${written.charts.length} chart(s); npm run bench:doc puts the tables in the docs\n`);
  }
  return 0;
}

cliMain(import.meta.url, parseOptions, helpText, main);
