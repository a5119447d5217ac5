// npm run bench:doc: puts the newest benchmark runs into the docs. It redraws
// each run's report and charts from its JSON, then rewrites only what lies
// between the markers (the prose around them is written by hand):
//
//   docs/benchmark.md  bench:results  the newest run with load, sweep or crash
//                                     figures: its table, notes and charts
//                      bench:faults   the newest faults run (npm run bench -- --faults)
//                      bench:backlog  the newest queue run with the backlog
//                                     scenario (npm run bench:queue): its table
//   README.md          bench:summary  that same newest run, short: its table
//                                     and the throughput chart, linking to the rest
//
// Links in a block are relative to the file it goes in. --check rewrites
// nothing and fails when either file is out of date. Run it after `npm run
// bench` and commit the docs with the results.
//
//   npm run bench:doc [-- <results.json>] [--check]
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from '../shared/root.ts';
import { faultsMatrix } from './faults-report.ts';
import { cliMain, helpPage, knobsHelp, readKnobs, type Knob } from './knobs.ts';
import { machineLine } from './machine.ts';
import { parseOptions as benchOptions } from './options.ts';
import { CHART_FILES, charts, commandLine, readmeTable, targetSettings } from './report.ts';
import { backlogBlock, newestQueueResult } from './queue/report.ts';
import type { QueueBenchResult } from './queue/types.ts';
import { markdownTable } from './tables.ts';
import type { BenchResult } from './types.ts';
import { newestResult, writeReport } from './write.ts';

export const START = '<!-- bench:results -->';
export const END = '<!-- /bench:results -->';
export const FAULTS_START = '<!-- bench:faults -->';
export const FAULTS_END = '<!-- /bench:faults -->';
export const BACKLOG_START = '<!-- bench:backlog -->';
export const BACKLOG_END = '<!-- /bench:backlog -->';
export const SUMMARY_START = '<!-- bench:summary -->';
export const SUMMARY_END = '<!-- /bench:summary -->';
export const README = path.join(ROOT, 'README.md');
export const BENCHMARK_DOC = path.join(ROOT, 'docs/benchmark.md');

/** A file of the run's folder as a link from `doc`. */
const linkTo = (doc: string, folder: string, file: string) => path.relative(path.dirname(doc), path.join(folder, file)).split(path.sep).join('/');
const notesOf = (result: BenchResult) => [...result.notes.map((n) => `- ${n}`), ...(result.notes.length > 0 ? [''] : [])];
/** The line under the command, when some targets had settings of their own. */
const ownSettingsOf = (result: BenchResult) => (targetSettings(result) ? [`Targets' own settings: ${targetSettings(result)}  `] : []);

/** docs/benchmark.md's Results block, markers excluded. */
export function resultsBlock(result: BenchResult, folder: string, chartFiles: string[], doc = BENCHMARK_DOC): string {
  const rel = (f: string) => linkTo(doc, folder, f);
  const images = Object.values(CHART_FILES)
    .filter((f) => chartFiles.includes(f))
    .map((f) => `![${f.replace(/\.svg$/, '')}](${rel(f)})`);
  const report = path.relative(ROOT, path.join(folder, 'report.md')).split(path.sep).join('/');
  return [
    `Newest run, ${result.startedAt.slice(0, 10)}: \`${commandLine(result.settings)}\` (${result.durationS} s)  `,
    ...ownSettingsOf(result),
    `Machine: ${machineLine(result.machine)}`,
    '',
    readmeTable(result),
    '',
    ...notesOf(result),
    ...images.flatMap((i) => [i, '']),
    `Every figure, the latency and delivery tables and the lessons checked one by one: [${report}](${rel('report.md')}).`,
  ].join('\n');
}

/** docs/benchmark.md's Faults block, markers excluded. */
export function faultsBlock(result: BenchResult, folder: string, doc = BENCHMARK_DOC): string {
  const report = path.relative(ROOT, path.join(folder, 'report.md')).split(path.sep).join('/');
  return [
    `Newest faults run, ${result.startedAt.slice(0, 10)}: \`${commandLine(result.settings)}\` (${result.durationS} s)  `,
    ...ownSettingsOf(result),
    `Machine: ${machineLine(result.machine)}`,
    '',
    'Each cell: accepted / delivered / lost / duplicated, then the failures the strategy reported (1 reports them to the client, as an error instead of a 2xx; 2 only to its log). ✔ the strategy kept its promise, ≈ it lost what its documentation says it loses, ✘ it broke its promise.',
    '',
    markdownTable(faultsMatrix(result.runs.faults ?? [])),
    '',
    ...notesOf(result),
    `Every run with what happened when (kills, restarts, outages) and each verdict's reason: [${report}](${linkTo(doc, folder, 'report.md')}).`,
  ].join('\n');
}

/** README.md's summary, markers excluded: one table, one chart, and where the rest is. */
export function summaryBlock(result: BenchResult, folder: string, chartFiles: string[], doc = README): string {
  const command = commandLine(result.settings);
  const asRun = command === commandLine(benchOptions([], {})) ? '`npm run bench` with its defaults' : `\`${command}\``;
  const chart = chartFiles.includes(CHART_FILES.throughput) ? [`![throughput](${linkTo(doc, folder, CHART_FILES.throughput)})`, ''] : [];
  const docs = path.relative(path.dirname(doc), BENCHMARK_DOC).split(path.sep).join('/');
  return [
    `Newest run, ${result.startedAt.slice(0, 10)}, ${asRun} (${result.durationS} s). Machine: ${machineLine(result.machine)}`,
    '',
    readmeTable(result),
    '',
    ...notesOf(result),
    ...chart,
    `Every figure, the faults matrix and what each column means: [${docs}](${docs}).`,
  ].join('\n');
}

/** `doc` with what lies between the two markers replaced by `block`; `name` is the file, for the error. */
export function replaceBlock(doc: string, block: string, start_ = START, end_ = END, name = 'docs/benchmark.md'): string {
  const start = doc.indexOf(start_);
  const end = doc.indexOf(end_);
  if (start === -1 || end === -1 || end < start) {
    throw new Error(`${name} needs the markers ${start_} and ${end_} for bench:doc to fill in`);
  }
  return `${doc.slice(0, start + start_.length)}\n${block}\n${doc.slice(end)}`;
}

const hasPerformance = (r: BenchResult) => r.runs.load.length + r.runs.sweep.length + r.runs.crash.length > 0;
const hasFaults = (r: BenchResult) => (r.runs.faults ?? []).length > 0;
const hasBacklog = (r: QueueBenchResult) => r.kind === 'queue' && (r.runs.backlog ?? []).length > 0;
type Found = { stamp: string; dir: string; result: BenchResult };

const knobs: Knob<'check'>[] = [
  { key: 'check', flag: 'check', env: 'BENCH_DOC_CHECK', kind: 'boolean', normal: 'false', doc: 'Compare only, redraw nothing: exit 1 if docs/benchmark.md or README.md is out of date.' },
];

interface DocOptions {
  help: boolean;
  check: boolean;
  /** A results file to quote instead of the newest in bench/results. */
  file: string | undefined;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): DocOptions {
  const { values, positionals } = readKnobs(knobs, argv, env, {}, true);
  return { help: values.help === true, check: values.check === true, file: positionals[0] };
}

export const helpText = () =>
  helpPage(
    'npm run bench:doc -- [<results.json>] [options]',
    ["Quotes the newest benchmark run (or the given results file) in docs/benchmark.md and README.md, between their markers,", 'and the newest bench:queue run with the backlog scenario (or the given queue-<date>.json) in docs/benchmark.md.'],
    knobsHelp(knobs, 12, 20),
    ['npm run bench:doc', 'npm run bench:doc -- --check'],
    'A flag beats its variable.',
  );

export async function main({ check, file }: DocOptions): Promise<number> {
  let perf: Found | undefined;
  let faultsRun: Found | undefined;
  let backlog: { result: QueueBenchResult; file: string } | null = null;
  if (file) {
    const parsed = JSON.parse(await readFile(path.resolve(file), 'utf8')) as BenchResult | QueueBenchResult;
    if ('kind' in parsed && parsed.kind === 'queue') {
      // A bench:queue results file: only its backlog goes into the docs.
      if (hasBacklog(parsed)) backlog = { result: parsed, file: path.relative(ROOT, path.resolve(file)) };
    } else {
      const given: Found = { stamp: path.basename(file).replace(/\.json$/, ''), dir: path.dirname(path.resolve(file)), result: parsed as BenchResult };
      if (hasPerformance(given.result)) perf = given;
      if (hasFaults(given.result)) faultsRun = given;
    }
  } else {
    const dir = path.join(ROOT, 'bench/results');
    const asFound = (n: Awaited<ReturnType<typeof newestResult>>): Found | undefined => n && { stamp: n.stamp, dir, result: n.result };
    perf = asFound(await newestResult('bench/results', hasPerformance));
    faultsRun = asFound(await newestResult('bench/results', hasFaults));
    backlog = await newestQueueResult('bench/results', hasBacklog);
  }
  if (!perf && !faultsRun && !backlog) {
    process.stderr.write('no results in bench/results yet: run npm run bench first\n');
    return 1;
  }
  const docs = [BENCHMARK_DOC, README];
  const before = await Promise.all(docs.map((d) => readFile(d, 'utf8')));
  let [bench, readme] = before as [string, string];
  try {
    for (const found of [perf, faultsRun].filter((f): f is Found => f !== undefined)) {
      // --check only compares: it redraws nothing.
      const chartFiles = check ? Object.keys(charts(found.result)) : (await writeReport(found.result, found.dir, found.stamp)).charts.map((c) => path.basename(c));
      const folder = path.join(found.dir, found.stamp);
      if (found === perf) {
        bench = replaceBlock(bench, resultsBlock(found.result, folder, chartFiles), START, END, 'docs/benchmark.md');
        readme = replaceBlock(readme, summaryBlock(found.result, folder, chartFiles), SUMMARY_START, SUMMARY_END, 'README.md');
      }
      if (found === faultsRun) bench = replaceBlock(bench, faultsBlock(found.result, folder), FAULTS_START, FAULTS_END, 'docs/benchmark.md');
    }
    if (backlog) {
      const report = path.relative(path.dirname(BENCHMARK_DOC), path.join(ROOT, backlog.file.replace(/\.json$/, '.md'))).split(path.sep).join('/');
      bench = replaceBlock(bench, backlogBlock(backlog.result, report), BACKLOG_START, BACKLOG_END, 'docs/benchmark.md');
    }
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
  const after = [bench, readme];
  const changed = docs.filter((_, i) => after[i] !== before[i]).map((d) => path.relative(ROOT, d));
  if (check) {
    if (changed.length > 0) {
      process.stderr.write(`${changed.join(' and ')}: the benchmark tables are out of date: run npm run bench:doc\n`);
      return 1;
    }
    return 0;
  }
  await Promise.all(docs.map((d, i) => (after[i] !== before[i] ? writeFile(d, after[i]!) : undefined)));
  const named = (f: Found | undefined, what: string) => (f ? [`${what} from ${path.relative(ROOT, path.join(f.dir, `${f.stamp}.json`))}`] : []);
  const backlogFrom = backlog ? [`backlog table from ${backlog.file}`] : [];
  process.stderr.write(`docs/benchmark.md and README.md: ${[...named(perf, 'benchmark tables'), ...named(faultsRun, 'faults table'), ...backlogFrom].join(', ')}\n`);
  return 0;
}

cliMain(import.meta.url, parseOptions, helpText, main);
