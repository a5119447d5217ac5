// Strategy 5 (multiWorker) as real processes, mailing this test's own sink
// through its own Redis: the supervisor with strategy 4's web process and the
// multiWorker process, killed with SIGKILL while it sends dozens of emails at
// once; the multiWorker process alone, stopped with SIGTERM mid-burst; and
// the talk's demo, small.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../shared/queue/index.ts';
import { ROOT } from '../../shared/root.ts';
import { email, getJson, ids, postEmail, settledStats } from '../helpers/http.ts';
import { startServices } from '../helpers/services.ts';
import { childOnline as online, spawnEntry, startEntry } from '../helpers/spawn.ts';
import { eventually } from '../helpers/wait.ts';

const MAIN = 'strategies/5-multi-worker/main.ts';
const WORKER = 'strategies/5-multi-worker/worker.ts';

const { sink, server, redis, env } = await startServices({ redis: true });

describe('strategy 5: multiWorker', () => {
  it('SIGKILLed while sending dozens of emails at once: the restarted process recovers every one and the sink gets them all', async () => {
    const { child, url } = await startEntry(MAIN, env({ RESTART_BACKOFF_MS: '100', MAX_TASK_PROCESSORS: '20' }));
    const worker = await online(child, 'worker');
    // A slow provider, so that many sends are on the wire at the kill.
    sink.configure({ latencyMs: 1_500 });
    const sent = ids('kill', 60);
    const replies = await Promise.all(sent.map((id, i) => postEmail(url, email(i), { 'x-request-id': id })));
    expect(replies.every((r) => r.status === 202)).toBe(true);

    await eventually(() => sink.stats().inProgress, (n) => n >= 10, 20_000, 'at least 10 emails on the wire at once');
    const stats = await getJson(`${url}/stats`);
    expect(stats.body.strategy).toBe('5-multi-worker'); // strategy 4's web process, named for the strategy that runs it
    const status = (stats.body.workers as { multiWorker: { processors: number; delayMs: number } | null }[])[0]?.multiWorker;
    expect(status?.processors).toBeGreaterThanOrEqual(10);
    expect(typeof status?.delayMs).toBe('number');

    process.kill(worker.childPid as number, 'SIGKILL');
    const onTheWire = sink.stats().inProgress;
    sink.configure({ latencyMs: 50 });
    await online(child, 'worker', worker.childPid);
    // Recovery waits for the dead process's heartbeat to expire (5 s).
    const recovered = await child.waitForLog((l) => /^recovered/.test(l.msg ?? ''), 30_000, 'the recovery');
    expect(recovered.jobs).toBeGreaterThanOrEqual(10);
    await sink.waitFor((s) => s.unique === sent.length, 30_000, `${sent.length} ids`);

    const deliveries = sink.deliveries();
    for (const id of sent) expect(deliveries.get(id), id).toBeGreaterThanOrEqual(1);
    // At least once: only an email on the wire at the kill may arrive twice (the sink had it all and answered a dead client).
    expect(sink.stats().duplicates).toBeLessThanOrEqual(onTheWire);
    await settledStats(url);
    expect(await child.stop('SIGTERM')).toBe(0);
  });

  it('SIGTERM mid-burst: the emails being sent finish, the rest stay queued, the process exits 0', async () => {
    const queue = new Queue({ redis });
    const all = ids('term', 40);
    for (const [i, id] of all.entries()) await queue.enqueue('emailQueue', 'sendEmail', [{ id, ...email(i) }], { id });
    sink.configure({ latencyMs: 1_000 });
    const worker = spawnEntry(WORKER, env({ MAX_TASK_PROCESSORS: '20' }));
    await worker.waitForLog((l) => l.msg === 'multiWorker ready', 30_000, 'multiWorker ready');
    await eventually(() => sink.stats().inProgress, (n) => n >= 8, 20_000, 'at least 8 emails on the wire at once');
    const onTheWire = sink.stats().inProgress;

    expect(await worker.stop('SIGTERM')).toBe(0);
    const deliveries = sink.deliveries();
    expect(sink.stats().inProgress).toBe(0);
    expect(deliveries.size).toBeGreaterThanOrEqual(onTheWire);
    expect([...deliveries.values()].every((n) => n === 1)).toBe(true);
    // Nothing is held any more: what was not sent is back in (or never left) the queue.
    expect(await redis.keys('resque:processing:*')).toEqual([]);
    expect(await queue.length('emailQueue')).toBe(all.length - deliveries.size);
    expect(Number(await redis.get('resque:stat:processed'))).toBe(deliveries.size);
  });

  it('the demo: processors rise for the sleeps, drop at a busy-wait, and the chart is written', async () => {
    const svg = path.join(tmpdir(), `multi-worker-demo-${process.pid}.svg`);
    const args = ['--sleep-jobs', '60', '--sleep-ms', '300', '--cpu-jobs', '2', '--cpu-ms', '300', '--max', '10', '--svg', svg];
    const demo = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'strategies/5-multi-worker/demo.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL: server.url, LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    demo.stdout.on('data', (d: Buffer) => (output += d.toString()));
    demo.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => demo.kill('SIGKILL'), 45_000);
    const [code] = await once(demo, 'exit');
    clearTimeout(timer);
    try {
      expect(code, output).toBe(0);
      expect(output).toMatch(/\+ processors -> +\d+/);
      expect(output).toMatch(/- processors -> +\d+ +event-loop delay [1-9]\d{2}\.\d ms/); // cut after a 300 ms busy-wait
      expect(output).toMatch(/done 62\/62/);
      expect(output).toMatch(/62 jobs in [\d.]+ s/);
      const chart = readFileSync(svg, 'utf8');
      expect(chart).toMatch(/^<svg /);
      expect(chart).toContain('60 x slowSleepJob (300 ms timer) + 2 x slowCPUJob (300 ms busy-wait)');
    } finally {
      rmSync(svg, { force: true });
    }
  });
});
