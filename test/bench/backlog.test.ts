// The queue benchmark's backlog scenario (npm run bench:queue -- --scenarios
// backlog) on tiny sizes: the real CLI, a real harness child per run, ours and
// BullMQ on one private Redis. It checks that every job put in was waiting and
// then ran, that each figure is a real measurement, that the goal verdicts are
// printed, and that bench:doc's block quotes the run - not speed or size, which
// a busy test machine and two tiny backlogs cannot promise.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKLOG_END, BACKLOG_START, replaceBlock } from '../../bench/doc.ts';
import { backlogBlock, newestQueueResult } from '../../bench/queue/report.ts';
import type { QueueBenchResult } from '../../bench/queue/types.ts';
import { runCli } from '../helpers/cli.ts';

const SIZES = [200, 2000];

describe('npm run bench:queue -- --scenarios backlog on tiny sizes', () => {
  let out = '';
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('ours and BullMQ each drain every waiting job at every size, with positive enqueue, memory and drain figures and both goal verdicts printed', async () => {
    out = await mkdtemp(path.join(tmpdir(), 'bench-backlog-'));
    const args = ['--scenarios', 'backlog', '--libraries', 'ours,bullmq', '--backlog-sizes', SIZES.join(','), '--backlog-rounds', '1', '--out', out];
    const { code, stdout, stderr } = await runCli('bench/queue/run.ts', args);
    expect(code, stderr).toBe(0);

    const files = (await readdir(out)).sort();
    expect(files).toEqual([expect.stringMatching(/^queue-.*Z\.json$/), expect.stringMatching(/^queue-.*Z\.md$/)]);
    const result = JSON.parse(await readFile(path.join(out, files[0]!), 'utf8')) as QueueBenchResult;
    const runs = result.runs.backlog ?? [];

    // One run per size and library, in the order they ran: a size's two libraries next to each other.
    expect(runs.map((r) => `${r.library}@${r.jobs}`)).toEqual(['ours@200', 'bullmq@200', 'ours@2000', 'bullmq@2000']);
    for (const r of runs) {
      const what = `${r.library} at ${r.jobs}`;
      expect(r.waiting, what).toBe(r.jobs); // all in Redis before the worker started
      expect(r.completed, what).toBe(r.jobs);
      expect(r.leftover, what).toBe(0);
      expect(r.concurrency, what).toBe(50);
      for (const n of [r.enqueuePerSec, r.jobsPerSec, r.fillMs, r.ms]) {
        expect(Number.isFinite(n) && n > 0, `${what}: ${n}`).toBe(true);
      }
      // A waiting job holds at least its id and payload: tens of bytes, and not the megabytes a leak would show.
      expect(r.bytesPerJob, what).toBeGreaterThan(30);
      expect(r.bytesPerJob, what).toBeLessThan(20_000);
    }
    expect(runs.find((r) => r.library === 'ours')?.fillHow).toMatch(/^enqueueMany/);
    expect(runs.find((r) => r.library === 'bullmq')?.fillHow).toMatch(/^addBulk/);
    expect(result.notes).toEqual([]);

    // The terminal report: the table, then both verdicts with a yes or no.
    expect(stdout).toContain('BACKLOG (one worker at concurrency 50');
    expect(stdout).toMatch(/ours: drain jobs\/s with the biggest backlog >= 0\.9x its jobs\/s with the smallest\s+\|?\s*2,000 waiting: [\d.]+x .*\b(yes|no)\b/);
    expect(stdout).toMatch(/ours: Redis bytes per waiting job <= BullMQ's, with the biggest backlog\s+\|?\s*200: [\d,]+ against [\d,]+; 2,000: [\d,]+ against [\d,]+\s+\|?\s*(yes|no)\b/);
    expect(stderr).toMatch(/backlog 2,000 round 1\/1 BullMQ 6, removeOnComplete: enqueue [\d,]+ jobs\/s, \d+ bytes a waiting job, drain [\d,]+ jobs\/s/);
    expect(await readFile(path.join(out, files[1]!), 'utf8')).toContain("## Backlog: the queue's cost as it grows");

    // bench:doc's block: the command that repeats the run, the machine, a row per size and library, both goals.
    const newest = await newestQueueResult(out, (r) => (r.runs.backlog ?? []).length > 0);
    expect(newest?.result.startedAt).toBe(result.startedAt);
    const block = backlogBlock(result, '../bench/results/queue-x.md');
    expect(block).toContain('`npm run bench:queue -- --scenarios backlog --libraries ours,bullmq --backlog-sizes 200,2000 --backlog-rounds 1 --backlog-concurrency 50`');
    expect(block).toContain(`Machine: `);
    expect(block.match(/^\| 2,000 \| (ours|BullMQ)/gm)).toHaveLength(2);
    expect(block).toContain("ours: Redis bytes per waiting job <= BullMQ's");
    expect(block).toContain('[bench/results/queue-x.md](../bench/results/queue-x.md)');
    const doc = replaceBlock(`before\n${BACKLOG_START}\nold\n${BACKLOG_END}\nafter`, block, BACKLOG_START, BACKLOG_END);
    expect(doc).toBe(`before\n${BACKLOG_START}\n${block}\n${BACKLOG_END}\nafter`);
  }, 90_000);
});
