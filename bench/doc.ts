// npm run bench:doc: puts the newest benchmark run into the README. It redraws
// that run's report and charts from its JSON, then rewrites only what lies
// between the README's two bench:results markers (the prose around them is
// written by hand). Run it after `npm run bench` and commit both.
//
//   npm run bench:doc [-- <results.json>] [--check]
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isMain } from '../shared/main.ts';
import { machineLine } from './machine.ts';
import type { BenchResult } from './orchestrator.ts';
import { CHART_FILES, charts, commandLine, readmeTable } from './report.ts';
import { ROOT } from './targets.ts';
import { newestResult, writeReport } from './write.ts';

export const START = '<!-- bench:results -->';
export const END = '<!-- /bench:results -->';
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

export function replaceBlock(readme: string, block: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start === -1 || end === -1 || end < start) {
    throw new Error(`README.md needs the markers ${START} and ${END} (in the Benchmark section) for bench:doc to fill in`);
  }
  return `${readme.slice(0, start + START.length)}\n${block}\n${readme.slice(end)}`;
}

export async function main(argv: string[]): Promise<number> {
  const check = argv.includes('--check');
  const file = argv.find((a) => !a.startsWith('--'));
  let stamp: string;
  let result: BenchResult;
  if (file) {
    stamp = path.basename(file).replace(/\.json$/, '');
    result = JSON.parse(await readFile(path.resolve(file), 'utf8')) as BenchResult;
  } else {
    const newest = await newestResult('bench/results');
    if (!newest) {
      process.stderr.write('no results in bench/results yet: run npm run bench first\n');
      return 1;
    }
    ({ stamp, result } = newest);
  }
  const dir = file ? path.dirname(path.resolve(file)) : path.join(ROOT, 'bench/results');
  // --check only compares: it redraws nothing.
  const chartFiles = check ? Object.keys(charts(result)) : (await writeReport(result, dir, stamp)).charts.map((c) => path.basename(c));
  const folder = path.join(dir, stamp);
  const readme = await readFile(README, 'utf8');
  const next = replaceBlock(readme, resultsBlock(result, folder, chartFiles));
  if (check) {
    if (next !== readme) {
      process.stderr.write('README.md benchmark table is out of date: run npm run bench:doc\n');
      return 1;
    }
    return 0;
  }
  await writeFile(README, next);
  process.stderr.write(`README.md: benchmark table from ${path.relative(ROOT, path.join(dir, `${stamp}.json`))}\n`);
  return 0;
}

if (isMain(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
