// A table as the benchmarks' reports hold it - headers, rows of cells, which
// columns are numbers - and its two renderings: aligned text for the
// terminal, Markdown for the reports and docs. `show` writes a median with
// its range, the way every figure over rounds is shown.
import type { Spread } from './numbers.ts';

export interface Table {
  headers: string[];
  rows: string[][];
  /** Columns to right-align (numbers). */
  right?: boolean[];
}

export const int = (n: number) => Math.round(n).toLocaleString('en-US');

/** "6,088 (5,901-6,310)": the median, and the range when there was more than one round. */
export function show(s: Spread | null, f: (n: number) => string = int): string {
  if (!s) return '-';
  // A range of negative numbers reads better with "..": (-6..-5), not (-6--5).
  const sep = s.min < 0 ? '..' : '-';
  return s.n > 1 && f(s.min) !== f(s.max) ? `${f(s.median)} (${f(s.min)}${sep}${f(s.max)})` : f(s.median);
}

export function textTable({ headers, rows, right = [] }: Table): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function markdownTable({ headers, rows, right = [] }: Table): string {
  const cell = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `| ${headers.map(cell).join(' | ')} |`,
    `|${headers.map((_, i) => (right[i] ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}
