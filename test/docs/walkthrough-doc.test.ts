// docs/walkthrough.md stays true to the code it walks through: every section
// an entry file cites exists, every strategy entry cites one, and every npm
// script and setting the doc names exists. (Its outputs are checked by hand
// against a real run; the tour's are checked by test/docs/walkthrough.test.ts.)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { settings } from '../../shared/config.ts';
import { ROOT } from '../../shared/root.ts';

const doc = readFileSync(path.join(ROOT, 'docs/walkthrough.md'), 'utf8');
const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const headings = new Set([...doc.matchAll(/^## (.+)$/gm)].map((m) => m[1]!));
const cites = (file: string) => readFileSync(path.join(ROOT, file), 'utf8').match(/^\/\/ Walkthrough: docs\/walkthrough\.md, "([^"]+)"/m)?.[1];

describe('docs/walkthrough.md', () => {
  it('has a section for every strategy, in the talk order, and each entry file that cites one names a real heading', () => {
    const strategies = [...headings].filter((h) => /^\d\. /.test(h));
    expect(strategies).toEqual(['1. Foreground', '2. Fire-and-forget', '3. Cluster IPC', '4. Redis queue', '5. multiWorker', '6. Event bus']);
    for (const dir of readdirSync(path.join(ROOT, 'strategies'))) {
      for (const file of readdirSync(path.join(ROOT, 'strategies', dir)).filter((f) => f.endsWith('.ts'))) {
        const cited = cites(`strategies/${dir}/${file}`);
        if (cited !== undefined) expect(headings, `strategies/${dir}/${file}`).toContain(cited);
      }
    }
  });

  it('is cited by the entry file of every npm run strategy:* script', () => {
    const entries = Object.entries(scripts).filter(([name]) => name.startsWith('strategy:'));
    expect(entries.length).toBeGreaterThanOrEqual(8);
    for (const [name, command] of entries) {
      const entry = command.match(/(strategies\/\S+\.ts)/)?.[1];
      expect(entry, name).toBeDefined();
      expect(cites(entry!), `${entry} (npm run ${name})`).toMatch(new RegExp(`^${name.split(':')[1]}\\. `));
    }
  });

  it('links only to files that exist (a benchmark run it quotes must not be dropped without updating it)', () => {
    const links = [...doc.matchAll(/\]\((?!https?:|#)([^)#\s]+)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(existsSync(path.join(ROOT, 'docs', link)), link).toBe(true);
  });

  it('names only npm scripts and settings that exist', () => {
    for (const [, name] of doc.matchAll(/npm run ([\w:-]+)/g)) expect(scripts, `npm run ${name}`).toHaveProperty([name!]);
    for (const [name] of doc.matchAll(/\b[A-Z]+(?:_[A-Z]+)+\b/g)) expect(settings, name).toHaveProperty([name]);
  });
});
