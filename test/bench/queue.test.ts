// The queue micro-benchmark (npm run bench:queue) on tiny counts: the real
// CLI, real harness children, a real private Redis. It checks the shape of
// what is written and that each scenario measured something - not speed, which
// a busy test machine cannot promise.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newestQueueSection } from '../../bench/queue/report.ts';
import type { QueueBenchResult } from '../../bench/queue/types.ts';
import { runCli } from '../helpers/cli.ts';

const benchQueue = (args: string[]) => runCli('bench/queue/run.ts', args);

const TINY = ['--jobs', '500', '--rounds', '1', '--recovery-rounds', '1', '--concurrency', '1,4', '--prefetch', '10', '--pickup-jobs', '5', '--pickup-interval', '20', '--recovery-cap', '60'];

describe('npm run bench:queue on tiny counts', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('ours alone: every scenario measures something, the files are written and the main report can quote them', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'bench-queue-'));
    dirs.push(out);
    const run = await benchQueue([...TINY, '--libraries', 'ours', '--scenarios', 'throughput,pickup,recovery', '--json', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as QueueBenchResult;

    expect(result).toMatchObject({ schema: 1, kind: 'queue', machine: { cores: expect.any(Number) as number, redis: expect.stringMatching(/^\d+\.\d+/) as string } });
    expect(result.machine.loadAverage.end).not.toBeNull();

    // Throughput: ours at prefetch 0 and 10, at both concurrencies; every job done once, none left behind.
    expect(result.runs.throughput.map((r) => `${r.row}@${r.concurrency}`).sort()).toEqual(['ours-p0@1', 'ours-p0@4', 'ours-p10@1', 'ours-p10@4']);
    for (const r of result.runs.throughput) {
      expect(r.jobsPerSec).toBeGreaterThan(0);
      expect(r.completed).toBe(500);
      expect(r.leftover).toBe(0);
      expect(r.cpuUsPerJob.node).toBeGreaterThan(0);
    }

    // Pickup: five latencies, each a positive number of ms.
    const [pickup] = result.runs.pickup;
    expect(pickup?.latenciesMs).toHaveLength(5);
    expect(pickup!.p50).toBeGreaterThan(0);
    expect(pickup!.p99).toBeGreaterThanOrEqual(pickup!.p50);

    // Recovery: the killed worker's job ran again in the fresh process, within the cap.
    const [recovery] = result.runs.recovery;
    expect(recovery?.error).toBeUndefined();
    expect(recovery?.recoveredMs).toBeGreaterThan(0);
    expect(recovery!.recoveredMs!).toBeLessThan(60_000);

    // The files, and the section `npm run bench` puts in its report.
    const files = (await readdir(out)).sort();
    expect(files).toEqual([expect.stringMatching(/^queue-.*Z\.json$/), expect.stringMatching(/^queue-.*Z\.md$/)]);
    const md = await readFile(path.join(out, files[1]!), 'utf8');
    for (const heading of ['## Throughput', '## Idle pickup latency', '## Recovery', '## Goals']) expect(md).toContain(heading);
    const section = await newestQueueSection(out);
    expect(section?.markdown).toContain('### Throughput');
    expect(section?.markdown).toContain('Machine: ');
  }, 180_000);

  it('ours against BullMQ: BullMQ ran every job, and each concurrency gets a goal verdict from the ratio of the same round', async () => {
    const run = await benchQueue([...TINY, '--libraries', 'ours,bullmq', '--scenarios', 'throughput', '--json', '--no-write']);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as QueueBenchResult;
    const bull = result.runs.throughput.filter((r) => r.library === 'bullmq');
    expect(bull).toHaveLength(2);
    for (const r of bull) {
      expect(r.completed).toBe(500);
      expect(r.leftover).toBe(0);
    }
    expect(run.stderr).toMatch(/BullMQ 6, removeOnComplete: [\d,]+ jobs\/s/);
    const { goals } = await import('../../bench/queue/report.ts');
    const verdicts = goals(result);
    expect(verdicts.filter((g) => g.goal.includes('BullMQ')).map((g) => g.met)).toEqual([expect.stringMatching(/^(yes|no)$/), expect.stringMatching(/^(yes|no)$/)]);
  }, 120_000);

  it('--help lists every knob with its environment variable; a bad flag exits 2', async () => {
    const help = await benchQueue(['--help']);
    expect(help.code).toBe(0);
    for (const knob of ['--jobs', 'BENCH_QUEUE_JOBS', '--libraries', '--scenarios', '--quick', '--recovery-cap']) expect(help.stdout).toContain(knob);
    const bad = await benchQueue(['--libraries', 'sidekiq']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown library "sidekiq"');
  });
});
