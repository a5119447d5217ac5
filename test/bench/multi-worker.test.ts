// Strategy 5's benchmark (npm run bench:multi-worker) on tiny counts: the real
// CLI, a trial child per peer (ours, node-resque's MultiWorker, BullMQ), strategy
// 5's real worker process against a real sink, one private Redis. It checks that
// each peer ran every job and each email pass delivered every email, and that
// the report is written - not speed, which a busy test machine cannot promise.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

const ARGS = ['--rounds', '1', '--jobs', '200', '--job-ms', '20', '--max', '10', '--email-max', '4', '--sink-ms', '20'];

describe('npm run bench:multi-worker on tiny counts', () => {
  let out = '';
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('runs every peer and both email passes, prints the tables and writes them to --out', async () => {
    out = await mkdtemp(path.join(tmpdir(), 'bench-multi-worker-'));
    const { code, stdout, stderr } = await runCli('bench/queue/multi-worker.ts', [...ARGS, '--out', out]);
    expect(code, stderr).toBe(0);

    // One line per trial: every peer finished its 200 jobs (a trial that did not would never print), within its limit of 10.
    for (const peer of ['ours-multi', 'ours-fixed', 'nr-multi', 'bullmq-fixed']) {
      const line = new RegExp(`round 1 ${peer}\\s+(\\d+) jobs/s, full speed at [^,]+, up to (\\d+) at once, (\\d+) connections`).exec(stdout);
      expect(line, `${peer} in:\n${stdout}`).not.toBeNull();
      expect(Number(line![1])).toBeGreaterThan(0);
      expect(Number(line![2])).toBeGreaterThanOrEqual(1);
      expect(Number(line![2])).toBeLessThanOrEqual(10);
    }
    // Our processes hold 2 Redis connections whatever the count; node-resque one per processor.
    expect(/round 1 ours-multi .* (\d+) connections/.exec(stdout)?.[1]).toBe('2');

    // Each email pass prints only once all of its 600 emails (3 s worth at 4 x 1000 / 20 ms) reached the sink.
    for (const mode of ['multi', 'fixed']) {
      const line = new RegExp(`round 1 max 4 ${mode}: (\\d+) emails/s, up to (\\d+) processors`).exec(stdout);
      expect(line, `${mode} in:\n${stdout}`).not.toBeNull();
      expect(Number(line![1])).toBeGreaterThan(0);
      expect(Number(line![2])).toBeLessThanOrEqual(4);
    }
    expect(stdout).toMatch(/\| 4 \| 160 \| \d+/); // goal 0.8 x 4 / 20 ms = 160 emails/s

    const files = await readdir(out);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^multi-worker-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.md$/);
    const report = await readFile(path.join(out, files[0]!), 'utf8');
    expect(report).toContain(`npm run bench:multi-worker -- ${ARGS.join(' ')} --out ${out}`);
    expect(report).toContain(stdout.trim().split('\n').at(-1)); // the machine line
    expect(report).toContain('| ours-multi |');
  });
});
