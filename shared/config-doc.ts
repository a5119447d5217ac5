// npm run config:doc - rewrites the README's configuration table from the
// settings in config.ts, so the table and the code cannot disagree.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { settings } from './config.ts';

const START = '<!-- CONFIG TABLE -->';
const END = '<!-- /CONFIG TABLE -->';

export function configTable(): string {
  const rows = Object.entries(settings).map(([name, s]) => `| \`${name}\` | ${s.fallback === '' ? '(unset)' : `\`${s.fallback}\``} | ${s.doc} |`);
  return ['## Configuration', '', 'Every setting is an environment variable, read in one place (`shared/config.ts`); a bad value stops the program with a message naming the variable.', '', '| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

const readmePath = path.resolve(import.meta.dirname, '../README.md');
const readme = readFileSync(readmePath, 'utf8');
const start = readme.indexOf(START);
if (start < 0) throw new Error(`README.md has no ${START} marker`);
const end = readme.indexOf(END, start);
const after = end < 0 ? readme.slice(start + START.length) : readme.slice(end + END.length);
writeFileSync(readmePath, `${readme.slice(0, start)}${START}\n${configTable()}\n${END}${after}`);
process.stdout.write('README.md configuration table updated\n');
