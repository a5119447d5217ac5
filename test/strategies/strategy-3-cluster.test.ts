// Strategy 3 (cluster IPC) run as the workshop runs it: a real primary with
// real server and worker children, mailing this test's own sink. Crashes are
// real SIGKILLs of child pids the primary announced. Every test ends with a
// SIGTERM to the primary and checks exit code 0: every child drained.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../shared/root.ts';
import { getJson, ids, postTracked as post, settledStats } from '../helpers/http.ts';
import { startServices } from '../helpers/services.ts';
import { childOnline as online, spawnEntry, startEntry, type Child, type LogLine } from '../helpers/spawn.ts';

const ENTRY = 'strategies/3-cluster-ipc/main.ts';
const CRASH_FIXTURE = pathToFileURL(path.join(ROOT, 'test/fixtures/crash-worker-on-start.mjs')).href;

const services = await startServices();
const { sink } = services;
const env = (extra: Record<string, string> = {}) => services.env({ RESTART_BACKOFF_MS: '100', ...extra });
const run = (extra: Record<string, string> = {}) => startEntry(ENTRY, env(extra));

/** Waits until the primary has logged `n` lines that match. */
const count = (child: Child, match: (l: LogLine) => boolean, n: number, what: string, timeoutMs = 30_000) =>
  child.waitForLog(() => child.lines.filter(match).length >= n, timeoutMs, `${n} x ${what}`).then(() => child.lines.filter(match));

const sent = (l: LogLine) => l.msg === 'sent';
/** Posts every id at once; each must be accepted (202). */
const acceptAll = async (url: string, all: string[]) => expect((await Promise.all(all.map((id) => post(url, id)))).map((r) => r.status)).toEqual(all.map(() => 202));

/** A primary with `backlog` accepted behind a 100 ms provider, for a child to finish or lose; `announced` is the `role` child's online line. */
async function runWithBacklog(role: 'server' | 'worker', backlog: string[]) {
  const { child, url } = await run();
  const announced = await online(child, role);
  sink.configure({ latencyMs: 100 });
  await acceptAll(url, backlog);
  return { child, url, announced };
}
const stats = async (url: string) => (await getJson(`${url}/stats`)).body;

describe('strategy 3: cluster IPC', () => {
  it('answers 202 before SMTP and delivers every email exactly once through server -> primary -> worker', async () => {
    const { child, url } = await run({ WORKER_CONCURRENCY: '4' });
    // A slow provider: the 202 comes back while the sink is still holding the email.
    sink.configure({ latencyMs: 1_000 });
    const first = await post(url, 'once-first');
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ id: 'once-first', status: 'accepted' });
    expect(sink.stats().accepted).toBe(0);

    sink.configure({ latencyMs: 0 });
    const rest = ids('once', 40);
    await acceptAll(url, rest);

    await sink.waitFor((s) => s.unique === 41, 30_000, '41 deliveries');
    await count(child, sent, 41, 'sent');
    const deliveries = sink.deliveries();
    for (const id of ['once-first', ...rest]) expect(deliveries.get(id), id).toBe(1);
    expect(sink.stats().duplicates).toBe(0);
    expect(await stats(url)).toMatchObject({ pending: 0, sent: 41, failed: 0, lost: 0, queue: 0, inFlight: 0, workerConcurrency: 4 });

    expect(await child.stop('SIGTERM')).toBe(0);
  });

  it('when the worker is SIGKILLed mid-load, it is re-forked and the count it reports lost is exactly what the sink never got', async () => {
    const { child, url } = await run();
    const worker = await online(child, 'worker');
    const before = ids('kill-w', 20);
    // One email every 500 ms, so the kill lands while the next one is on the
    // wire. Once the kill is decided the sink refuses that email: a real
    // provider might still deliver it (see docs/walkthrough.md, "3. Cluster IPC"), making "lost" one too many.
    let killed = false;
    sink.configure({ latencyMs: 500, decide: ({ id }) => (killed && id?.startsWith('kill-w-') ? 'temp' : undefined) });
    await acceptAll(url, before);

    await count(child, sent, 3, 'sent');
    killed = true;
    process.kill(worker.childPid as number, 'SIGKILL');
    const died = await child.waitForLog((l) => /^worker died: \d+ emails lost$/.test(l.msg ?? ''), 30_000, 'worker died');
    await online(child, 'worker', worker.childPid);

    // The new worker delivers what is accepted from now on.
    sink.configure({ latencyMs: 0 });
    const after = ids('kill-after', 5);
    await acceptAll(url, after);
    await sink.waitFor((_, s) => after.every((id) => s.deliveries().has(id)), 30_000, 'the emails sent after the restart');

    const neverReceived = before.filter((id) => !sink.deliveries().has(id));
    expect(died.lost).toBeGreaterThan(0);
    expect(died.lost).toBe(neverReceived.length);
    expect(new Set(died.lostIds as string[])).toEqual(new Set(neverReceived));
    expect(sink.stats().duplicates).toBe(0);
    expect(await settledStats(url)).toMatchObject({ lost: died.lost, sent: 20 - neverReceived.length + 5, restarts: { server: 0, worker: 1 } });

    expect(await child.stop('SIGTERM')).toBe(0);
  });

  it('when the server is SIGKILLed, it is re-forked on the same URL and nothing already accepted is lost', async () => {
    const before = ids('kill-s', 10);
    const { child, url, announced: server } = await runWithBacklog('server', before);

    process.kill(server.childPid as number, 'SIGKILL');
    const again = await online(child, 'server', server.childPid);
    expect(again.url).toBe(url);
    const after = ids('kill-s-after', 5);
    await acceptAll(url, after);

    await sink.waitFor((s) => s.unique === 15, 30_000, '15 deliveries');
    for (const id of [...before, ...after]) expect(sink.deliveries().get(id), id).toBe(1);
    expect(await settledStats(url)).toMatchObject({ sent: 15, lost: 0, restarts: { server: 1, worker: 0 } });

    expect(await child.stop('SIGTERM')).toBe(0);
  });

  it('SIGTERM to the worker alone is a graceful restart: it finishes its queue, emails meanwhile wait for the next one, nothing is lost', async () => {
    const before = ids('restart', 10);
    const { child, url, announced: worker } = await runWithBacklog('worker', before);

    process.kill(worker.childPid as number, 'SIGTERM');
    await child.waitForLog((l) => l.msg === 'worker asked to stop: holding new emails for the next one', 30_000, 'the stop request');
    const during = ids('restart-during', 3);
    await acceptAll(url, during);
    const exited = await child.waitForLog((l) => l.child === 'worker' && /^worker (exited|died)/.test(l.msg ?? ''), 30_000, 'the worker exit');
    expect(exited).toMatchObject({ msg: 'worker exited: nothing lost', lost: 0 });
    await online(child, 'worker', worker.childPid);

    await sink.waitFor((s) => s.unique === 13, 30_000, '13 deliveries');
    for (const id of [...before, ...during]) expect(sink.deliveries().get(id), id).toBe(1);
    expect(await settledStats(url)).toMatchObject({ sent: 13, lost: 0, restarts: { worker: 1 } });

    expect(await child.stop('SIGTERM')).toBe(0);
  });

  it('retries a temporary failure with growing delays until it is delivered, and fails an email after the attempt limit', async () => {
    const base = 150;
    const { child, url } = await run({ RETRY_BASE_MS: String(base), MAX_ATTEMPTS: '4' });
    sink.configure({
      decide: ({ id, attempt }) => {
        if (id === 'flaky') return attempt <= 2 ? 'temp' : 'accept';
        if (id === 'doomed') return 'temp'; // 451 every time
        if (id === 'refused') return 'perm'; // 550: no point retrying
        return undefined;
      },
    });
    await acceptAll(url, ['flaky', 'doomed', 'refused']);

    await count(child, (l) => l.msg === 'failed: giving up on this email', 2, 'failed');
    await sink.waitFor((_, s) => s.deliveries().get('flaky') === 1, 30_000, 'flaky delivered');

    // The gap between two offers is at least the backoff, which doubles: 150, 300, 600 ms.
    const gaps = (id: string) => sink.history(id).map((a, i, all) => (i === 0 ? 0 : a.at - all[i - 1]!.at)).slice(1);
    expect(sink.history('flaky').map((a) => a.outcome)).toEqual(['temp', 'temp', 'accept']);
    expect(sink.history('doomed').map((a) => a.outcome)).toEqual(['temp', 'temp', 'temp', 'temp']);
    expect(sink.history('refused').map((a) => a.outcome)).toEqual(['perm']);
    gaps('flaky').forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(base * 2 ** i - 5));
    gaps('doomed').forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(base * 2 ** i - 5));
    const retries = child.lines.filter((l) => l.msg?.startsWith('send failed, retry in') && l.id === 'doomed');
    expect(retries.map((l) => l.delayMs)).toEqual([base, base * 2, base * 4]);

    const s = await settledStats(url);
    expect(s).toMatchObject({ sent: 1, failed: 2, retries: 5, lost: 0 });
    expect(s.recentFailures).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 'doomed', attempts: 4 }), expect.objectContaining({ id: 'refused', attempts: 1 })]),
    );

    expect(await child.stop('SIGTERM')).toBe(0);
  });

  it('a worker that dies on start is re-forked with growing backoff while the primary holds emails (503 when full), then delivers them', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'crash-loop-'));
    const flag = path.join(dir, 'crash');
    writeFileSync(flag, '');
    try {
      const child = spawnEntry(ENTRY, env({ BUFFER_LIMIT: '2', NODE_OPTIONS: `--import ${CRASH_FIXTURE}`, CRASH_WORKER_FLAG: flag }));
      const { url } = (await online(child, 'server')) as { url: string };
      const died = await count(child, (l) => l.msg === 'worker died: 0 emails lost' && l.code === 1, 4, 'worker crashes');
      const reforks = child.lines.filter((l) => l.msg?.startsWith('re-forking the worker'));
      expect(reforks.slice(0, 3).map((l) => l.delayMs)).toEqual([100, 200, 400]);
      // Seen from outside: the time between two crashes grows with the backoff.
      for (let i = 1; i < 4; i++) expect((died[i]!.time as number) - (died[i - 1]!.time as number)).toBeGreaterThanOrEqual(100 * 2 ** (i - 1));

      // The primary is up and answering; it holds two emails for the next worker, then says 503.
      expect((await getJson(`${url}/health`)).status).toBe(200);
      expect((await post(url, 'held-1')).status).toBe(202);
      expect((await post(url, 'held-2')).status).toBe(202);
      const full = await post(url, 'held-3');
      expect(full.status).toBe(503);
      expect(full.headers.get('retry-after')).toBe('1');
      expect(await stats(url)).toMatchObject({ pending: 2, buffered: 2, refused: 1 });

      rmSync(flag);
      await child.waitForLog((l) => /^listening/.test(l.msg ?? ''), 30_000, 'the worker online at last');
      await sink.waitFor((_, s) => s.deliveries().has('held-1') && s.deliveries().has('held-2'), 30_000, 'the held emails');
      expect(sink.deliveries().has('held-3')).toBe(false);
      expect(child.process.exitCode).toBeNull();

      expect(await child.stop('SIGTERM')).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SIGTERM stops the server first, lets the worker drain its queue, then exits 0', async () => {
    const { child, url } = await run();
    sink.configure({ latencyMs: 200 });
    const queued = ids('drain', 10);
    await acceptAll(url, queued);
    expect(sink.stats().accepted).toBeLessThan(10);

    expect(await child.stop('SIGTERM')).toBe(0);
    for (const id of queued) expect(sink.deliveries().get(id), id).toBe(1);
    const order = child.lines.map((l) => l.msg);
    expect(order.indexOf('server exited')).toBeGreaterThan(-1);
    expect(order.indexOf('server exited')).toBeLessThan(order.indexOf('worker drained'));
    expect(child.lines.find((l) => l.msg?.startsWith('worker died'))).toBeUndefined();
  });
});
