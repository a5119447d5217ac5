// What sets strategies 1 and 2 apart: when the client gets its answer, and
// what a failure or a crash does to an email the client was told about.
import { describe, expect, it } from 'vitest';
import { getJson, ids, postTracked } from '../helpers/http.ts';
import { startServices } from '../helpers/services.ts';
import { startEntry } from '../helpers/spawn.ts';
import { eventually } from '../helpers/wait.ts';

const FOREGROUND = 'strategies/1-foreground/server.ts';
const FIRE_AND_FORGET = 'strategies/2-fire-and-forget/server.ts';

const { sink, env } = await startServices();

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const started = performance.now();
  const result = await fn();
  return { ms: performance.now() - started, result };
}

describe('when SMTP is slow', () => {
  it('foreground makes the client wait for the provider; fire-and-forget answers long before it', async () => {
    sink.configure({ latencyMs: 1500 });
    const one = await startEntry(FOREGROUND, env());
    const two = await startEntry(FIRE_AND_FORGET, env());

    const foreground = await timed(() => postTracked(one.url, 'slow-1'));
    const fireAndForget = await timed(() => postTracked(two.url, 'slow-2'));

    expect(foreground.result.status).toBe(200);
    expect(foreground.result.body).toMatchObject({ id: 'slow-1', status: 'sent', response: expect.stringMatching(/^250/) });
    expect(foreground.ms).toBeGreaterThanOrEqual(1400);
    expect(fireAndForget.result.status).toBe(202);
    expect(fireAndForget.result.body).toEqual({ id: 'slow-2', status: 'accepted' });
    // Generous: the point is "long before the 1.5 s provider", not a speed target.
    expect(fireAndForget.ms).toBeLessThan(1000);
    // It answered before the sink had it: at that moment nothing was delivered yet.
    expect(sink.deliveries().has('slow-2')).toBe(false);

    await sink.waitFor((s) => s.unique === 2, 15_000, 'both emails');
    expect(await one.child.stop()).toBe(0);
    expect(await two.child.stop()).toBe(0);
  });
});

describe('when SMTP refuses', () => {
  it('foreground answers 502 with the reason and never claims success', async () => {
    sink.configure({ decide: ({ id }) => (id === 'perm' ? 'perm' : id === 'temp' ? 'temp' : undefined) });
    const { child, url } = await startEntry(FOREGROUND, env());
    const perm = await postTracked(url, 'perm');
    const temp = await postTracked(url, 'temp');
    expect(perm.status).toBe(502);
    expect(perm.body).toMatchObject({ id: 'perm', status: 'failed', error: expect.stringMatching(/550/) });
    expect(temp.status).toBe(502);
    expect(temp.body.error).toMatch(/451/);
    expect((await getJson(`${url}/stats`)).body).toMatchObject({ sent: 0, failed: 2, pending: 0 });
    expect(sink.stats().accepted).toBe(0);
    expect(await child.stop()).toBe(0);
  });

  it('fire-and-forget already said 202: the failure is only a log line and a counter', async () => {
    sink.configure({ decide: () => 'perm' });
    const { child, url } = await startEntry(FIRE_AND_FORGET, env());
    const reply = await postTracked(url, 'doomed');
    expect(reply.status).toBe(202);
    const logged = await child.waitForLog((l) => l.id === 'doomed' && /send failed/.test(l.msg ?? ''), 15_000, 'the failure log');
    expect(logged.err).toMatch(/550/);
    expect((await getJson(`${url}/stats`)).body).toMatchObject({ sent: 0, failed: 1, pending: 0 });
    expect(await child.stop()).toBe(0);
  });
});

describe('fire-and-forget on shutdown', () => {
  it('SIGTERM waits for in-flight sends: everything accepted is delivered, exit 0', async () => {
    sink.configure({ latencyMs: 800 });
    const { child, url } = await startEntry(FIRE_AND_FORGET, env());
    const drained = ids('drain', 8);
    for (const id of drained) expect((await postTracked(url, id)).status).toBe(202);
    expect(sink.stats().unique).toBe(0);
    expect(await child.stop('SIGTERM')).toBe(0);
    expect([...sink.deliveries().keys()].sort()).toEqual([...drained].sort());
  });

  it('SIGKILL loses what was still in memory, although every client was told 202', async () => {
    sink.configure({ latencyMs: 2000 });
    const { child, url } = await startEntry(FIRE_AND_FORGET, env());
    const told = ids('lost', 20);
    for (const id of told) expect((await postTracked(url, id)).status).toBe(202);
    expect(await child.stop('SIGKILL')).toBe('SIGKILL');
    // Messages the sink had fully received before the kill may still be accepted; wait for those to settle.
    await eventually(() => sink.stats().inProgress, (n) => n === 0, 10_000, 'the sink to settle');
    const delivered = sink.stats().unique;
    // The pooled transport had at most 5 messages on the wire; the rest existed only in the dead process.
    expect(delivered).toBeLessThanOrEqual(5);
    expect(told.length - delivered).toBeGreaterThanOrEqual(15);
  });
});
