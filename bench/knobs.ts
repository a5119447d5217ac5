// The machinery behind every benchmark's options table (bench/options.ts,
// bench/queue/options.ts, bench/queue/multi-worker.ts): each knob is a flag,
// an environment variable, a default, a --quick default and one line of
// documentation, and --help is printed from the same table, so it cannot
// forget a knob. A flag beats its variable; --quick changes only the defaults
// ("--quick --duration 5" means quick, but 5 s of load). cliMain is the
// command line's tail they all share: a bad option exits 2, --help 0.
import { parseArgs } from 'node:util';
import { isMain } from '../shared/main.ts';

export class OptionsError extends Error {
  override name = 'OptionsError';
}

export type Kind = 'boolean' | 'integer' | 'seconds' | 'list' | 'numbers' | 'string';

export interface Knob<K extends string> {
  key: K;
  flag: string;
  env: string;
  kind: Kind;
  normal: string;
  quick?: string;
  doc: string;
  /** Grouped apart in --help: knobs for testing the harness, not for measuring. */
  selfTest?: boolean;
  /** The smallest number it takes ("--rounds must be at least 1"). */
  min?: number;
}

function convert(knob: Knob<string>, raw: string, source: string): unknown {
  const fail = (want: string) => new OptionsError(`${source} must be ${want}, got "${raw}"`);
  switch (knob.kind) {
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw fail('true or false');
    }
    case 'integer':
      if (!/^\d+$/.test(raw.trim())) throw fail('a whole number >= 0');
      return Number(raw);
    case 'seconds': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n) || n <= 0) throw fail('a number of seconds > 0');
      return n;
    }
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    case 'numbers': {
      if (['', 'off', 'none'].includes(raw.trim())) return [];
      const parts = raw.split(',').map((s) => s.trim());
      if (!parts.every((p) => /^\d+$/.test(p))) throw fail('a comma-separated list of whole numbers (or "off")');
      return parts.map(Number);
    }
    case 'string':
      return raw;
  }
}

export interface ReadKnobs {
  /** Every knob's value by key, plus `quick` and `help`. */
  values: Record<string, unknown>;
  /** What parseArgs saw, for options outside the table (e.g. --no-crash) and "was it given?" checks. */
  given: Record<string, string | boolean | undefined>;
  /** Arguments that are not flags (only where `positionals` allowed them). */
  positionals: string[];
}

/**
 * Reads every knob from argv (flags), then env, then the (quick) default.
 * A `quick` knob, if any, comes first. `extra` declares flags that are
 * not knobs (they come back in `given`); `positionals` allows arguments
 * that are not flags.
 */
export function readKnobs(
  knobs: readonly Knob<string>[],
  argv: string[],
  env: NodeJS.ProcessEnv,
  extra: Record<string, { type: 'string' | 'boolean' }> = {},
  positionals = false,
): ReadKnobs {
  const spec: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' }, ...extra };
  for (const k of knobs) {
    spec[k.flag] = { type: k.kind === 'boolean' ? 'boolean' : 'string' };
    if (k.kind === 'boolean') spec[`no-${k.flag}`] = { type: 'boolean' };
  }
  let given: Record<string, string | boolean | undefined>;
  let rest: string[];
  try {
    ({ values: given, positionals: rest } = parseArgs({ args: argv, options: spec, strict: true, allowPositionals: positionals }));
  } catch (err) {
    throw new OptionsError(`${(err as Error).message} (see --help)`);
  }
  const quickKnob = knobs[0]?.key === 'quick' ? knobs[0] : undefined;
  const quickEnv = quickKnob && env[quickKnob.env];
  const quick = quickKnob !== undefined && (given[quickKnob.flag] ?? (quickEnv !== undefined ? convert(quickKnob, quickEnv, quickKnob.env) : false)) === true;
  const values: Record<string, unknown> = { help: given.help === true };
  for (const k of knobs) {
    const flag = given[k.flag];
    if (given[`no-${k.flag}`] === true) values[k.key] = false;
    else if (typeof flag === 'boolean') values[k.key] = flag;
    else if (typeof flag === 'string') values[k.key] = convert(k, flag, `--${k.flag}`);
    else if (env[k.env] !== undefined) values[k.key] = convert(k, env[k.env]!, k.env);
    else values[k.key] = convert(k, quick && k.quick !== undefined ? k.quick : k.normal, `default of --${k.flag}`);
    if (k.min !== undefined && (values[k.key] as number) < k.min) throw new OptionsError(`--${k.flag} must be at least ${k.min}`);
  }
  values.quick = quick;
  return { values, given, positionals: rest };
}

/** One --help line: flag, variable, meaning, (default [quick default]). */
export function knobHelpRow(k: Knob<string>, flagWidth: number, envWidth: number): string {
  const dflt = k.normal === '' ? '' : ` (default ${k.normal}${k.quick ? ` [${k.quick}]` : ''})`;
  const placeholder = k.kind === 'list' || k.kind === 'numbers' ? 'a,b' : k.kind === 'string' ? 'value' : 'n';
  const flag = k.kind === 'boolean' ? `--${k.flag}` : `--${k.flag} <${placeholder}>`;
  return `  ${flag.padEnd(flagWidth)} ${k.env.padEnd(envWidth)} ${k.doc}${dflt}`;
}

/**
 * The flags that repeat these settings, for the command line a report
 * prints: `--flag value` per key, in the order given; a list joined by
 * commas ("off" when empty); a boolean, its bare flag when true.
 */
export function knobArgs<K extends string>(knobs: readonly Knob<K>[], values: Partial<Record<K, unknown>>, keys: readonly K[]): string[] {
  return keys.flatMap((key) => {
    const k = knobs.find((x) => x.key === key)!;
    const v = values[key];
    if (k.kind === 'boolean') return v === true ? [`--${k.flag}`] : [];
    return [`--${k.flag} ${Array.isArray(v) ? v.join(',') || 'off' : String(v)}`];
  });
}

/** A benchmark's --help: usage, what it does, the knobs table, the rules, examples. */
export function helpPage(usage: string, about: string[], table: string[], examples: string[], rules = KNOB_RULES): string {
  return [usage, '', ...about, '', ...table, '', rules, ...(examples.length > 0 ? ['Examples:', ...examples.map((e) => `  ${e}`)] : []), ''].join('\n');
}

/** The --help table: a header, a row per knob, then the lines given after it (flags that are not knobs). */
export function knobsHelp(knobs: readonly Knob<string>[], flagWidth: number, envWidth: number, after: [flag: string, doc: string][] = []): string[] {
  return [
    `  ${'flag'.padEnd(flagWidth)} ${'environment variable'.padEnd(envWidth)} meaning`,
    ...knobs.map((k) => knobHelpRow(k, flagWidth, envWidth)),
    ...[...after, ['--help', 'This text.'] as [string, string]].map(([flag, doc]) => `  ${flag.padEnd(flagWidth)} ${''.padEnd(envWidth)} ${doc}`),
  ];
}

export const KNOB_RULES = 'Booleans also take --no-<flag>. A flag beats its variable; --quick only changes defaults.';

/**
 * A benchmark's main-module tail: parses the options (a bad one: its
 * message, exit 2), prints --help (exit 0), or runs and exits with what
 * `run` returns (a throw: its stack, exit 1). Exits explicitly, because a
 * Redis client or a library's timer may still hold the event loop open.
 */
export function cliMain<O extends { help: boolean }>(url: string, parse: (argv: string[]) => O, help: () => string, run: (options: O, argv: string[]) => Promise<number>): void {
  if (!isMain(url)) return;
  const argv = process.argv.slice(2);
  let options: O;
  try {
    options = parse(argv);
  } catch (err) {
    if (!(err instanceof OptionsError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(help());
    process.exit(0);
  }
  run(options, argv).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
