// npm run bench:doc: puts the newest benchmark runs into the README. It
// redraws each run's report and charts from its JSON, then rewrites only what
// lies between the README's markers (the prose around them is written by
// hand): the newest run with load, sweep or crash figures between the
// bench:results markers, the newest faults run (npm run bench -- --faults)
// between the bench:faults markers. Run it after `npm run bench` and commit both.
//
//   npm run bench:doc [-- <results.json>] [--check]
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isMain } from '../shared/main.ts';
import { machineLine } from './machine.ts';
import type { BenchResult } from './orchestrator.ts';
import { faultsMatrix } from './faults-report.ts';
import { CHART_FILES, charts, commandLine, markdownTable, readmeTable } from './report.ts';
import { ROOT } from './targets.ts';
import { newestResult, writeReport } from './write.ts';

export const START = '<!-- bench:results -->';
export const END = '<!-- /bench:results -->';
export const FAULTS_START = '<!-- bench:faults -->';
export const FAULTS_END = '<!-- /bench:faults -->';
const README = path.join(ROOT, 'README.md');

/** The generated block, markers excluded; links are relative to the README. */
export function resultsBlock(result: BenchResult, folder: string, chartFiles: string[]): string {
  const rel = (f: string) => path.relative(ROOT, path.join(folder, f)).split(path.sep).join('/');
  const when = result.startedAt.slice(0, 10);
  const images = Object.values(CHART_FILES)
    .filter((f) => chartFiles.includes(f))
    .map((f) => `![${f.replace(/\.svg$/, '')}](${rel(f)})`);
  return [
    `Newest run, ${when}: \`${commandLine(result.settings)}\` (${result.durationS} s)  `,
    `Machine: ${machineLine(result.machine)}`,
    '',
    readmeTable(result),
    '',
    ...result.notes.map((n) => `- ${n}`),
    ...(result.notes.length > 0 ? [''] : []),
    ...images.flatMap((i) => [i, '']),
    `Every figure, the latency and delivery tables and the lessons checked one by one: [${rel('report.md')}](${rel('report.md')}).`,
  ].join('\n');
}

/** The generated faults block, markers excluded. */
export function faultsBlock(result: BenchResult, folder: string): string {
  const rel = (f: string) => path.relative(ROOT, path.join(folder, f)).split(path.sep).join('/');
  return [
    `Newest faults run, ${result.startedAt.slice(0, 10)}: \`${commandLine(result.settings)}\` (${result.durationS} s)  `,
    `Machine: ${machineLine(result.machine)}`,
    '',
    'Each cell: accepted / delivered / lost / duplicated, then the failures the strategy reported (1 reports them to the client, as an error instead of a 2xx; 2 only to its log). ✔ the strategy kept its promise, ≈ it lost what its documentation says it loses, ✘ it broke its promise.',
    '',
    markdownTable(faultsMatrix(result.runs.faults ?? [])),
    '',
    ...result.notes.map((n) => `- ${n}`),
    ...(result.notes.length > 0 ? [''] : []),
    `Every run with what happened when (kills, restarts, outages) and each verdict's reason: [${rel('report.md')}](${rel('report.md')}).`,
  ].join('\n');
}

export function replaceBlock(readme: string, block: string, start_ = START, end_ = END): string {
  const start = readme.indexOf(start_);
  const end = readme.indexOf(end_);
  if (start === -1 || end === -1 || end < start) {
    throw new Error(`README.md needs the markers ${start_} and ${end_} (in the Benchmark section) for bench:doc to fill in`);
  }
  return `${readme.slice(0, start + start_.length)}\n${block}\n${readme.slice(end)}`;
}

const hasPerformance = (r: BenchResult) => r.runs.load.length + r.runs.sweep.length + r.runs.crash.length > 0;
const hasFaults = (r: BenchResult) => (r.runs.faults ?? []).length > 0;
type Found = { stamp: string; dir: string; result: BenchResult };

export async function main(argv: string[]): Promise<number> {
  const check = argv.includes('--check');
  const file = argv.find((a) => !a.startsWith('--'));
  let perf: Found | undefined;
  let faultsRun: Found | undefined;
  if (file) {
    const given: Found = {
      stamp: path.basename(file).replace(/\.json$/, ''),
      dir: path.dirname(path.resolve(file)),
      result: JSON.parse(await readFile(path.resolve(file), 'utf8')) as BenchResult,
    };
    if (hasPerformance(given.result)) perf = given;
    if (hasFaults(given.result)) faultsRun = given;
  } else {
    const dir = path.join(ROOT, 'bench/results');
    const asFound = (n: Awaited<ReturnType<typeof newestResult>>): Found | undefined => n && { stamp: n.stamp, dir, result: n.result };
    perf = asFound(await newestResult('bench/results', hasPerformance));
    faultsRun = asFound(await newestResult('bench/results', hasFaults));
  }
  if (!perf && !faultsRun) {
    process.stderr.write('no results in bench/results yet: run npm run bench first\n');
    return 1;
  }
  let readme = await readFile(README, 'utf8');
  const before = readme;
  for (const found of [perf, faultsRun].filter((f): f is Found => f !== undefined)) {
    // --check only compares: it redraws nothing.
    const chartFiles = check ? Object.keys(charts(found.result)) : (await writeReport(found.result, found.dir, found.stamp)).charts.map((c) => path.basename(c));
    const folder = path.join(found.dir, found.stamp);
    if (found === perf) readme = replaceBlock(readme, resultsBlock(found.result, folder, chartFiles));
    if (found === faultsRun) readme = replaceBlock(readme, faultsBlock(found.result, folder), FAULTS_START, FAULTS_END);
  }
  if (check) {
    if (readme !== before) {
      process.stderr.write('README.md benchmark tables are out of date: run npm run bench:doc\n');
      return 1;
    }
    return 0;
  }
  await writeFile(README, readme);
  const named = (f: Found | undefined, what: string) => (f ? [`${what} from ${path.relative(ROOT, path.join(f.dir, `${f.stamp}.json`))}`] : []);
  process.stderr.write(`README.md: ${[...named(perf, 'benchmark table'), ...named(faultsRun, 'faults table')].join(', ')}\n`);
  return 0;
}

if (isMain(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
