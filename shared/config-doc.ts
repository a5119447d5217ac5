// npm run config:doc - rewrites the table of docs/configuration.md from the
// settings in config.ts, so the table and the code cannot disagree. Only what
// lies between the markers is generated; the prose around it is written by hand.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { settings } from './config.ts';
import { isMain } from './main.ts';
import { ROOT } from './root.ts';

export const CONFIG_DOC = path.join(ROOT, 'docs/configuration.md');
const START = '<!-- CONFIG TABLE -->';
const END = '<!-- /CONFIG TABLE -->';

export function configTable(): string {
  const rows = Object.entries(settings).map(([name, s]) => `| \`${name}\` | ${s.fallback === '' ? '(unset)' : `\`${s.fallback}\``} | ${s.doc} |`);
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** The document with its table regenerated; the same text when it is up to date. */
export function withTable(doc: string): string {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END, start);
  if (start < 0 || end < 0) throw new Error(`docs/configuration.md needs the markers ${START} and ${END}`);
  return `${doc.slice(0, start)}${START}\n${configTable()}\n${doc.slice(end)}`;
}

if (isMain(import.meta.url)) {
  writeFileSync(CONFIG_DOC, withTable(readFileSync(CONFIG_DOC, 'utf8')));
  process.stdout.write('docs/configuration.md: configuration table updated\n');
}
