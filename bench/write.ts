// Result files: bench/results/<stamp>.json (raw figures + machine line) and
// bench/results/<stamp>/ with report.md and the SVG charts it shows. The JSON
// is the source: the report and charts can be drawn again from it at any time
// (npm run bench:doc does, for the newest file).
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from '../shared/root.ts';
import { charts, markdownReport } from './report.ts';
import type { BenchResult } from './types.ts';

export interface Written {
  json: string;
  report: string;
  charts: string[];
}

/** Draws the report and charts of a result into `<dir>/<stamp>/`. */
export async function writeReport(result: BenchResult, dir: string, stamp: string): Promise<Omit<Written, 'json'>> {
  const folder = path.join(dir, stamp);
  await mkdir(folder, { recursive: true });
  const svgs = charts(result);
  for (const [file, svg] of Object.entries(svgs)) await writeFile(path.join(folder, file), svg);
  const report = path.join(folder, 'report.md');
  await writeFile(report, markdownReport(result, Object.keys(svgs)));
  return { report, charts: Object.keys(svgs).map((f) => path.join(folder, f)) };
}

export async function writeResults(result: BenchResult, out: string, stamp: string): Promise<Written> {
  const dir = path.resolve(ROOT, out);
  await mkdir(dir, { recursive: true });
  const json = path.join(dir, `${stamp}.json`);
  await writeFile(json, JSON.stringify(result, null, 2) + '\n');
  return { json, ...(await writeReport(result, dir, stamp)) };
}

/** The newest results file in `out` (stamps sort by time) that `wanted` accepts, or undefined. */
export async function newestResult(out: string, wanted: (result: BenchResult) => boolean = () => true): Promise<{ stamp: string; file: string; result: BenchResult } | undefined> {
  const dir = path.resolve(ROOT, out);
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => /^\d{4}-\d\d-\d\dT.*\.json$/.test(f)).sort();
  for (const name of files.reverse()) {
    const file = path.join(dir, name);
    const result = JSON.parse(await readFile(file, 'utf8')) as BenchResult;
    if (wanted(result)) return { stamp: name.replace(/\.json$/, ''), file, result };
  }
  return undefined;
}

/** A file-name-safe UTC timestamp, the name of every results file: 2026-11-29T04-51-07Z. */
export function fileStamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}
