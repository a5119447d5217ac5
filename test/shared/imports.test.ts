// The tree's imports flow one way: no file imports a file that (through any
// path) imports it back; shared/ serves strategies/ and bench/ and imports
// neither; strategies/ never import the benchmark; and in the queue library
// the producer side never imports the consumer side.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../shared/root.ts';

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'results' || e.name === 'public' ? [] : sources(rel);
    return e.name.endsWith('.ts') ? [rel] : [];
  });
}

/** file -> the repo files it imports (type-only imports included: a circle of types is still a circle to read). */
const graph = new Map<string, string[]>();
for (const file of ['strategies', 'shared', 'bench', 'docs', 'test'].flatMap(sources)) {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const targets = [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'(\.{1,2}\/[^']+)'/gm), ...text.matchAll(/import\('(\.{1,2}\/[^']+)'\)/g)].map((m) =>
    path.normalize(path.join(path.dirname(file), m[1]!)),
  );
  graph.set(file, targets);
}

describe('imports flow one way', () => {
  it('reads the whole tree', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get(path.normalize('strategies/4-redis-queue/main.ts'))).toContain(path.normalize('shared/supervisor.ts'));
  });

  it('no file imports, directly or through others, a file that imports it', () => {
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') return void circles.push([...trail.slice(trail.indexOf(file)), file].join(' -> '));
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(circles).toEqual([]);
  });

  it('shared/ imports neither strategies/ nor bench/, and strategies/ never import bench/', () => {
    const wrong = [...graph].flatMap(([file, targets]) =>
      targets
        .filter((t) => (file.startsWith('shared') && /^(strategies|bench)\//.test(t)) || (file.startsWith('strategies') && t.startsWith('bench/')))
        .map((t) => `${file} -> ${t}`),
    );
    expect(wrong).toEqual([]);
  });

  it("the queue's producer side (enqueue, stats, status) never imports its consumer side (workers, fetching, acks)", () => {
    const producer = ['queue.ts', 'stats.ts', 'keys.ts', 'job.ts', 'scripts.ts'].map((f) => path.normalize(`shared/queue/${f}`));
    const consumer = ['worker.ts', 'multi-worker.ts', 'fetcher.ts', 'acks.ts', 'heartbeat.ts', 'scaling.ts', 'event-loop.ts', 'scheduler.ts'].map((f) => path.normalize(`shared/queue/${f}`));
    const wrong = producer.flatMap((file) => (graph.get(file) ?? []).filter((t) => consumer.includes(t)).map((t) => `${file} -> ${t}`));
    expect(wrong).toEqual([]);
  });
});
