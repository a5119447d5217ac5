// Every knob of the benchmark, in one table: the flag, its environment
// variable, the default, the --quick default and one line of documentation.
// --help is printed from this table, so it cannot forget a knob.
//
// A flag beats its environment variable; --quick changes only the defaults,
// so `--quick --duration 5` means "quick, but 5 s of load".
import { helpPage, knobsHelp, OptionsError, readKnobs, type Knob } from './knobs.ts';

export { OptionsError };

export type Pass = 'load' | 'sweep' | 'crash' | 'faults';
export const PASSES: readonly Pass[] = ['load', 'sweep', 'crash', 'faults'];
/** The faults the faults pass can inject (bench/faults.ts says what each does). */
export const FAULT_NAMES = ['kill-repeatedly', 'sink-down', 'sink-4xx-third', 'sink-5xx-some', 'redis-restart', 'redis-failover', 'sigterm'] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

export interface BenchOptions {
  quick: boolean;
  /** Target names as the user typed them (baseline, 1..6, 6-claim, 6-pubsub, 4-web, 6-web); empty = every target whose entry exists. */
  strategies: string[];
  passes: Pass[];
  connections: number;
  /** Seconds of load per run, the same for every target (load and crash passes). */
  duration: number;
  rounds: number;
  /** Requests per second in the load pass (all connections together); 0 = as fast as the server answers. */
  rate: number;
  /** Sink latency (ms) of the load and crash passes. */
  latencyMs: number;
  sweepLatenciesMs: number[];
  sweepDuration: number;
  sweepConnections: number;
  /** Requests per second (all connections together) during the sweep; 0 = as fast as the server answers. */
  sweepRate: number;
  crashRate: number;
  crashDuration: number;
  drainTimeout: number;
  crashDrainTimeout: number;
  /** Faults to inject, one run per (strategy, fault); empty = no faults pass. */
  faults: FaultName[];
  faultRate: number;
  faultDuration: number;
  faultLatencyMs: number;
  faultKills: number;
  faultEvery: number;
  faultOutage: number;
  faultDrainTimeout: number;
  out: string;
  write: boolean;
  cpuProf: boolean;
  json: boolean;
  progress: 'auto' | 'live' | 'lines' | 'off';
  /**
   * The sink honouring idempotency keys or not, one run each, in this order:
   * 4, 5 and 6 in the crash pass and under kill-repeatedly run both; every
   * other run has it off.
   */
  idempotency: ('off' | 'on')[];
  /** The strategies' Prometheus metrics (METRICS) in the load pass, one run each per round, in this order; labelled in the report when both. */
  metrics: ('off' | 'on')[];
  /** Harness self-test: request numbers (per run) the sink answers 250 and then forgets. */
  sinkDrop: number[];
  /** Harness self-test: request numbers (per run) the sink counts twice. */
  sinkDuplicate: number[];
}

// Defaults are sized for a 2-core machine: --quick ~3 minutes, the default ~12
// with every target (fewer targets, less time).
export const knobs: Knob<keyof BenchOptions>[] = [
  { key: 'quick', flag: 'quick', env: 'BENCH_QUICK', kind: 'boolean', normal: 'false', doc: 'Shorter everything (about 3 min on 2 cores with every target): the defaults in [brackets].' },
  { key: 'strategies', flag: 'strategies', env: 'BENCH_STRATEGIES', kind: 'list', normal: '', doc: 'Targets to run, e.g. baseline,1,2 (6-claim and 6-pubsub: strategy 6 in the crash pass with a second consumer claiming, and on pub/sub; 4-web and 6-web: the web processes alone, load pass). Default: baseline and every target whose entry file exists.' },
  { key: 'passes', flag: 'passes', env: 'BENCH_PASSES', kind: 'list', normal: 'load,sweep,crash', doc: 'Which passes: load (throughput, latency, delivery), sweep (latency vs sink latency), crash (SIGKILL halfway), faults (see --faults).' },
  { key: 'connections', flag: 'connections', env: 'BENCH_CONNECTIONS', kind: 'integer', min: 1, normal: '50', doc: 'Concurrent HTTP connections (autocannon -c), the same for every target.' },
  { key: 'duration', flag: 'duration', env: 'BENCH_DURATION', kind: 'seconds', normal: '10', quick: '2', doc: 'Seconds of load per run in the load pass, the same for every target.' },
  { key: 'rounds', flag: 'rounds', env: 'BENCH_ROUNDS', kind: 'integer', min: 1, normal: '3', quick: '2', doc: 'Load-pass rounds; each runs every target once, interleaved, in alternating order.' },
  { key: 'rate', flag: 'rate', env: 'BENCH_RATE', kind: 'integer', normal: '0', doc: 'Requests/s in the load pass (all connections together); 0 = flat out, which is what the req/s column measures.' },
  { key: 'latencyMs', flag: 'latency', env: 'BENCH_SINK_LATENCY_MS', kind: 'integer', normal: '50', doc: 'Sink latency (ms per message) in the load and crash passes: a slow provider.' },
  { key: 'sweepLatenciesMs', flag: 'sweep', env: 'BENCH_SWEEP', kind: 'numbers', normal: '0,50,200,1000', quick: '0,200,1000', doc: 'Sink latencies (ms) of the sweep.' },
  { key: 'sweepDuration', flag: 'sweep-duration', env: 'BENCH_SWEEP_DURATION', kind: 'seconds', normal: '5', quick: '1.5', doc: 'Seconds of load per sink latency in the sweep.' },
  { key: 'sweepConnections', flag: 'sweep-connections', env: 'BENCH_SWEEP_CONNECTIONS', kind: 'integer', min: 1, normal: '10', doc: 'Connections during the sweep. Few, because autocannon sends each connection\'s share of a second\'s requests at the start of the second: fewer connections, smaller bursts.' },
  { key: 'sweepRate', flag: 'sweep-rate', env: 'BENCH_SWEEP_RATE', kind: 'integer', normal: '100', doc: 'Requests/s during the sweep (all connections together), a steady load every strategy can take; 0 = flat out.' },
  { key: 'crashDuration', flag: 'crash-duration', env: 'BENCH_CRASH_DURATION', kind: 'seconds', normal: '10', quick: '4', doc: 'Seconds of load in the crash pass, the same for every strategy; the kill comes halfway.' },
  { key: 'crashRate', flag: 'crash-rate', env: 'BENCH_CRASH_RATE', kind: 'integer', normal: '50', quick: '30', doc: 'Requests/s during the crash pass, low enough that every strategy can finish its backlog; 0 = flat out.' },
  { key: 'drainTimeout', flag: 'drain-timeout', env: 'BENCH_DRAIN_TIMEOUT', kind: 'seconds', normal: '5', quick: '1', doc: 'Load pass: seconds to keep delivering after the load (a backlog left then is "unfinished").' },
  { key: 'crashDrainTimeout', flag: 'crash-drain-timeout', env: 'BENCH_CRASH_DRAIN_TIMEOUT', kind: 'seconds', normal: '60', quick: '30', doc: 'Crash pass: seconds to wait for the backlog after the load.' },
  { key: 'faults', flag: 'faults', env: 'BENCH_FAULTS', kind: 'list', normal: '', doc: `Run the faults pass: every strategy under each fault (${FAULT_NAMES.join(', ')}); --faults alone = all of them, and only the faults pass unless --passes says otherwise.` },
  { key: 'faultRate', flag: 'fault-rate', env: 'BENCH_FAULT_RATE', kind: 'integer', normal: '40', doc: 'Faults pass: requests/s, steady, low enough for every strategy to keep up, so "lost" is counted, not guessed.' },
  { key: 'faultDuration', flag: 'fault-duration', env: 'BENCH_FAULT_DURATION', kind: 'seconds', normal: '10', doc: 'Faults pass: seconds of load per (strategy, fault); the fault is injected and healed within it.' },
  { key: 'faultLatencyMs', flag: 'fault-latency', env: 'BENCH_FAULT_LATENCY_MS', kind: 'integer', normal: '10', doc: 'Faults pass: sink latency (ms per message).' },
  { key: 'faultKills', flag: 'fault-kills', env: 'BENCH_FAULT_KILLS', kind: 'integer', normal: '3', doc: 'kill-repeatedly: how many SIGKILLs per run.' },
  { key: 'faultEvery', flag: 'fault-every', env: 'BENCH_FAULT_EVERY', kind: 'seconds', normal: '3', doc: 'kill-repeatedly: seconds between two kills (the first comes 2 s into the load).' },
  { key: 'faultOutage', flag: 'fault-outage', env: 'BENCH_FAULT_OUTAGE', kind: 'seconds', normal: '5', doc: 'sink-down: seconds the sink stays down.' },
  { key: 'faultDrainTimeout', flag: 'fault-drain-timeout', env: 'BENCH_FAULT_DRAIN_TIMEOUT', kind: 'seconds', normal: '60', doc: 'Faults pass: seconds to wait for the backlog after the load (retries included).' },
  { key: 'idempotency', flag: 'idempotency', env: 'BENCH_IDEMPOTENCY', kind: 'list', normal: 'off,on', doc: 'The sink honouring idempotency keys: off (a repeat reaches the inbox twice), on (it answers 250 and suppresses it), or both, one run each: for 4, 5 and 6 in the crash pass and under kill-repeatedly; other runs off.' },
  { key: 'metrics', flag: 'metrics', env: 'BENCH_METRICS', kind: 'list', normal: 'on', doc: 'The strategies\' Prometheus metrics in the load pass: on, off, or off,on - one run of each per round, side by side in the report ("4-redis-queue, metrics off"), to see what counting costs the accept path.' },
  { key: 'out', flag: 'out', env: 'BENCH_OUT', kind: 'string', normal: 'bench/results', doc: 'Where <date>.json and the <date>/ report (Markdown + SVG) go.' },
  { key: 'write', flag: 'write', env: 'BENCH_WRITE', kind: 'boolean', normal: 'true', doc: 'Write result files (--no-write: terminal only).' },
  { key: 'cpuProf', flag: 'cpu-prof', env: 'BENCH_CPU_PROF', kind: 'boolean', normal: 'false', doc: 'Run the load pass under node --cpu-prof and report where each strategy spends its CPU.' },
  { key: 'json', flag: 'json', env: 'BENCH_JSON', kind: 'boolean', normal: 'false', doc: 'Print the results as JSON on stdout instead of tables.' },
  { key: 'progress', flag: 'progress', env: 'BENCH_PROGRESS', kind: 'string', normal: 'auto', doc: 'Progress on stderr: live (one line, redrawn), lines (a line per step), off; auto = live on a terminal.' },
  { key: 'sinkDrop', flag: 'sink-drop', env: 'BENCH_SINK_DROP', kind: 'numbers', normal: '', doc: 'Request numbers of each run the sink answers 250 and then forgets.', selfTest: true },
  { key: 'sinkDuplicate', flag: 'sink-duplicate', env: 'BENCH_SINK_DUPLICATE', kind: 'numbers', normal: '', doc: 'Request numbers of each run the sink counts twice.', selfTest: true },
];

/** Parses argv (without node and the script) and env into options; throws OptionsError. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions & { help: boolean } {
  // `--faults` on its own means every fault.
  const args = argv.map((a, i) => (a === '--faults' && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--')) ? '--faults=all' : a));
  const { values: options, given: values } = readKnobs(knobs, args, env, { 'no-crash': { type: 'boolean' } });
  let faults = options.faults as string[];
  if (faults.includes('all')) faults = [...FAULT_NAMES];
  for (const f of faults) {
    if (!(FAULT_NAMES as readonly string[]).includes(f)) throw new OptionsError(`--faults: unknown fault "${f}"; choose from ${FAULT_NAMES.join(', ')} (or all)`);
  }
  options.faults = FAULT_NAMES.filter((f) => faults.includes(f));
  let passes = options.passes as string[];
  for (const p of passes) {
    if (!(PASSES as string[]).includes(p)) throw new OptionsError(`--passes: unknown pass "${p}"; choose from ${PASSES.join(', ')}`);
  }
  // Faults chosen: the faults pass runs, alone unless --passes (or BENCH_PASSES) named passes too.
  const passesGiven = values.passes !== undefined || env.BENCH_PASSES !== undefined;
  if (faults.length > 0) passes = passesGiven ? [...passes, 'faults'] : ['faults'];
  else if (passes.includes('faults')) options.faults = [...FAULT_NAMES];
  // --no-crash: the crash pass off, a shorthand for leaving crash out of --passes.
  options.passes = PASSES.filter((p) => passes.includes(p) && !(p === 'crash' && values['no-crash'] === true));
  const idempotency = options.idempotency as string[];
  for (const v of idempotency) {
    if (v !== 'off' && v !== 'on') throw new OptionsError(`--idempotency: "${v}" is neither off nor on`);
  }
  if (idempotency.length === 0) throw new OptionsError('--idempotency needs off, on or both');
  options.idempotency = (['off', 'on'] as const).filter((v) => idempotency.includes(v));
  const metrics = options.metrics as string[];
  if (metrics.length === 0 || metrics.some((v) => v !== 'off' && v !== 'on')) throw new OptionsError('--metrics needs off, on or both');
  options.metrics = (['off', 'on'] as const).filter((v) => metrics.includes(v));
  if (!['auto', 'live', 'lines', 'off'].includes(options.progress as string)) throw new OptionsError('--progress must be auto, live, lines or off');
  if ((options.faultRate as number) < 1) throw new OptionsError('--fault-rate must be at least 1 (a steady load, not flat out)');
  return options as unknown as BenchOptions & { help: boolean };
}

export function helpText(): string {
  return helpPage(
    'npm run bench -- [options]',
    [
      'Runs every strategy plus a bare baseline server against one shared SMTP sink',
      'and reports throughput, latency, deliveries, losses and duplicates; with',
      '--faults, what each strategy accepts, delivers, loses and duplicates under faults.',
    ],
    [
      ...knobsHelp(knobs.filter((k) => !k.selfTest), 30, 26, [['--no-crash', 'Skip the crash pass (same as leaving crash out of --passes).']]),
      '',
      'Harness self-test (make the sink misbehave on purpose, to check the counting):',
      ...knobsHelp(knobs.filter((k) => k.selfTest), 30, 26).slice(1, -1),
    ],
    [
      'npm run bench -- --quick',
      'npm run bench -- --strategies baseline,1,2 --passes load --duration 5',
      'BENCH_SINK_LATENCY_MS=200 npm run bench -- --no-crash',
      'npm run bench -- --faults                      # every strategy under every fault (~9 min)',
      'npm run bench -- --faults kill-repeatedly,sink-down --strategies 4,5',
      'npm run bench -- --passes crash --strategies 4,5 --idempotency off   # the sink ignoring keys only',
    ],
  );
}
