// Every relative link in the README and the topic docs leads somewhere: the
// file exists, and a #anchor names a heading of its target (GitHub's slugs).
// A doc that moves, a results run that is dropped or a heading that is
// renamed fails here instead of leaving a reader at a 404.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../shared/root.ts';

const DOCS = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), 'shared/queue/README.md', 'shared/streams/README.md'];

/** The text outside fenced code blocks: a `# comment` in a shell block is not a heading, nor `[x](y)` in code a link. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(file: string): Set<string> {
  const text = prose(readFileSync(file, 'utf8'));
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

/** Every [text](target) and ![alt](target) outside code, without external links. */
function links(doc: string): string[] {
  const text = prose(readFileSync(path.join(ROOT, doc), 'utf8')).replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/i.test(l));
}

describe('links in the docs', () => {
  it('slugs headings the way GitHub does', () => {
    expect(slug('5. multiWorker')).toBe('5-multiworker');
    expect(slug('What the columns mean')).toBe('what-the-columns-mean');
    expect(slug('The `Queue` API, in short')).toBe('the-queue-api-in-short');
  });

  it.each(DOCS)('every relative link in %s leads to a file that exists, and each #anchor to one of its headings', (doc) => {
    const found = links(doc);
    expect(found.length, `${doc} links nowhere`).toBeGreaterThan(0);
    const broken: string[] = [];
    for (const link of found) {
      const [target, anchor] = link.split('#') as [string, string | undefined];
      const file = target === '' ? path.join(ROOT, doc) : path.resolve(ROOT, path.dirname(doc), decodeURI(target));
      if (!existsSync(file)) {
        broken.push(`${link}: no such file`);
        continue;
      }
      if (anchor === undefined || anchor === '') continue;
      if (statSync(file).isDirectory() || !file.endsWith('.md')) broken.push(`${link}: an anchor into a file without headings`);
      else if (!anchors(file).has(anchor)) broken.push(`${link}: no heading "${anchor}" in ${path.relative(ROOT, file)}`);
    }
    expect(broken).toEqual([]);
  });
});
