// Strategy 4 as people run it: real processes (the supervisor, or web.ts and
// worker.ts alone), a private Redis and the sink in this test process, so the
// test can count deliveries per id, restart Redis and kill -9 a worker.
import { describe, expect, it } from 'vitest';
import { email, getJson, postEmail, postTracked, settledStats } from '../helpers/http.ts';
import { startServices } from '../helpers/services.ts';
import { startEntry, spawnEntry, type LogLine } from '../helpers/spawn.ts';
import { eventually } from '../helpers/wait.ts';

const MAIN = 'strategies/4-redis-queue/main.ts';
// Isolated per test: a failed test must not leave a worker behind to take the next test's jobs.
const { sink, server, env } = await startServices({ redis: true });

const workerOnline = (l: LogLine) => l.msg === 'child online' && l.child === 'worker';

describe('strategy 4: Redis queue', () => {
  it('answers 202 with a status URL, delivers every email exactly once with 2 workers, and exits 0 on SIGTERM', async () => {
    const { child, url } = await startEntry(MAIN, env({ WORKERS: '2' }));
    expect(child.lines.filter(workerOnline)).toHaveLength(2);
    const ids = Array.from({ length: 30 }, (_, i) => `s4-${i}`);
    const replies = await Promise.all(ids.map((id, i) => postEmail(url, email(i), { 'x-request-id': id })));
    for (const [i, r] of replies.entries()) {
      expect(r.status).toBe(202);
      expect(r.body).toEqual({ id: ids[i], status: 'queued', statusUrl: `${url}/emails/${ids[i]}` });
    }
    await sink.waitFor((s) => s.unique === ids.length, 30_000, 'every id');
    const stats = await eventually(() => getJson(`${url}/stats`), (r) => r.body.pending === 0 && r.body.sent === ids.length, 10_000, 'pending 0');
    expect(stats.body).toMatchObject({ strategy: '4-redis-queue', pending: 0, sent: 30, failed: 0, queued: 0, delayed: 0, working: 0 });
    expect((stats.body.workers as unknown[]).length).toBe(2);
    expect(sink.stats().duplicates).toBe(0);
    expect(await child.stop('SIGTERM')).toBe(0);
    expect(child.lines.filter((l) => l.msg === 'child exited').map((l) => [l.child, l.code])).toEqual([['web', 0], ['worker', 0], ['worker', 0]]);
  });

  it('web.ts and worker.ts run alone on a shared REDIS_URL; the status URL goes queued -> working -> delayed (retry) -> working -> sent, or failed', async () => {
    const web = await startEntry('strategies/4-redis-queue/web.ts', env());
    const retried = 'status-retried';
    const failing = 'status-failed';
    expect((await postEmail(web.url, email(1), { 'x-request-id': retried })).status).toBe(202);
    expect((await getJson(`${web.url}/emails/${retried}`)).body).toMatchObject({ id: retried, status: 'queued', attempts: 0, lastError: null });
    expect((await getJson(`${web.url}/emails/no-such-id`)).status).toBe(404);

    // The first offer of `retried` is refused with 451 (retry), every offer of `failing` with 550.
    sink.configure({ latencyMs: 600, decide: ({ id, attempt }) => (id === failing ? 'perm' : id === retried && attempt === 1 ? 'temp' : undefined) });
    const seen: string[] = [];
    const worker = spawnEntry('strategies/4-redis-queue/worker.ts', env({ RETRY_BASE_MS: '1000', MAX_ATTEMPTS: '3' }));
    // Sample the status often enough to see each state (working lasts the sink's 600 ms).
    await eventually(
      () => getJson(`${web.url}/emails/${retried}`),
      ({ body }) => (seen[seen.length - 1] !== body.status && seen.push(body.status as string), body.status === 'sent'),
      20_000,
      'the retried email to be sent',
      20,
    );
    // When the retry is due the scheduler queues it again; a sample may catch that moment too.
    const states = seen.filter((state, i) => !(state === 'queued' && seen[i - 1] === 'delayed'));
    expect(states).toEqual(['queued', 'working', 'delayed', 'working', 'sent']);
    expect(sink.deliveries().get(retried)).toBe(1);
    expect((await getJson(`${web.url}/emails/${retried}`)).body).toMatchObject({ status: 'sent', attempts: 2, lastError: expect.stringMatching(/451/) });

    expect((await postEmail(web.url, email(2), { 'x-request-id': failing })).status).toBe(202);
    const failed = await eventually(() => getJson(`${web.url}/emails/${failing}`), (r) => r.body.status === 'failed', 10_000, 'failed');
    expect(failed.body).toMatchObject({ attempts: 1, lastError: expect.stringMatching(/550/) }); // a 5xx is not retried
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(await web.child.stop('SIGTERM')).toBe(0);
  });

  it('SIGKILL of the worker mid-send: its job comes back within 10 s and every email is delivered', async () => {
    sink.configure({ latencyMs: 400 });
    const { child, url } = await startEntry(MAIN, env({ WORKERS: '1' }));
    const victim = (child.lines.find(workerOnline)!.childPid as number);
    const ids = Array.from({ length: 8 }, (_, i) => `kill-${i}`);
    for (const [i, id] of ids.entries()) expect((await postEmail(url, email(i), { 'x-request-id': id })).status).toBe(202);
    // Kill while the second email is being sent: it is in the worker's processing list.
    await eventually(() => getJson(`${url}/emails/${ids[1]}`), (r) => r.body.status === 'working', 10_000, 'the second email to be sending');
    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    const recovered = await child.waitForLog((l) => /^recovered/.test(l.msg ?? '') && l.jobs === 1, 20_000, 'the recovery line');
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(recovered.worker).toMatch(new RegExp(`:${victim}-`));
    expect(child.lines.some((l) => workerOnline(l) && l.childPid !== victim)).toBe(true);

    await sink.waitFor((s) => s.unique === ids.length, 30_000, 'every id');
    const delivered = sink.deliveries();
    expect([...delivered.keys()].sort()).toEqual([...ids].sort());
    // At least once: only the email being sent at the kill may have arrived twice.
    expect([...delivered.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(1);
    await settledStats(url, 10_000);
    expect(await child.stop('SIGTERM')).toBe(0);
  });

  it('Redis restarted mid-load: every email that got a 202 is delivered, and the workers carry on', async () => {
    const { child, url } = await startEntry(MAIN, env({ WORKERS: '2' }));
    const accepted: string[] = [];
    let next = 0;
    const total = 120;
    const client = async () => {
      while (next < total) {
        const id = `restart-${next++}`;
        const r = await postTracked(url, id).catch(() => undefined);
        if (r?.status === 202) accepted.push(id);
      }
    };
    const load = Promise.all(Array.from({ length: 4 }, client));
    await eventually(() => accepted.length, (n) => n >= 30, 20_000, '30 accepted before the restart');
    await server.restart();
    await load;
    expect(accepted.length).toBeGreaterThan(total * 0.9);
    await sink.waitFor((_, s) => accepted.every((id) => s.deliveries().has(id)), 30_000, 'every accepted id');
    // Nobody was declared dead across the restart, so nothing ran twice.
    expect(sink.stats().duplicates).toBe(0);
    expect(child.lines.filter((l) => /^recovered/.test(l.msg ?? ''))).toEqual([]);
    // ...and the queue still works after the restart
    expect((await postEmail(url, email('after'), { 'x-request-id': 'after-restart' })).status).toBe(202);
    await sink.waitFor((_, s) => s.deliveries().has('after-restart'), 10_000, 'an email sent after the restart');
    expect(await child.stop('SIGTERM')).toBe(0);
  });
});
