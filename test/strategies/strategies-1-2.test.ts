// What sets strategies 1 and 2 apart: when the client gets its answer, and
// what a failure or a crash does to an email the client was told about.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSink, type Sink } from '../../shared/smtp-sink.ts';
import { email, postEmail } from '../helpers/http.ts';
import { killAll, startEntry } from '../helpers/spawn.ts';
import { eventually } from '../helpers/wait.ts';

const FOREGROUND = 'strategies/1-foreground/server.ts';
const FIRE_AND_FORGET = 'strategies/2-fire-and-forget/server.ts';

let sink: Sink;
beforeAll(async () => {
  sink = await startSink();
});
beforeEach(() => {
  sink.reset();
  sink.configure({ latencyMs: 0, decide: undefined });
});
afterAll(async () => {
  killAll();
  await sink.close();
});

const env = () => ({ PORT: '0', SMTP_URL: sink.url.href });

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

    const foreground = await timed(() => postEmail(one.url, email('slow-1'), { 'x-request-id': 'slow-1' }));
    const fireAndForget = await timed(() => postEmail(two.url, email('slow-2'), { 'x-request-id': 'slow-2' }));

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
    const perm = await postEmail(url, email('perm'), { 'x-request-id': 'perm' });
    const temp = await postEmail(url, email('temp'), { 'x-request-id': 'temp' });
    expect(perm.status).toBe(502);
    expect(perm.body).toMatchObject({ id: 'perm', status: 'failed', error: expect.stringMatching(/550/) });
    expect(temp.status).toBe(502);
    expect(temp.body.error).toMatch(/451/);
    expect((await (await fetch(`${url}/stats`)).json()) as object).toMatchObject({ sent: 0, failed: 2, pending: 0 });
    expect(sink.stats().accepted).toBe(0);
    expect(await child.stop()).toBe(0);
  });

  it('fire-and-forget already said 202: the failure is only a log line and a counter', async () => {
    sink.configure({ decide: () => 'perm' });
    const { child, url } = await startEntry(FIRE_AND_FORGET, env());
    const reply = await postEmail(url, email('doomed'), { 'x-request-id': 'doomed' });
    expect(reply.status).toBe(202);
    const logged = await child.waitForLog((l) => l.id === 'doomed' && /send failed/.test(l.msg ?? ''), 15_000, 'the failure log');
    expect(logged.err).toMatch(/550/);
    expect((await (await fetch(`${url}/stats`)).json()) as object).toMatchObject({ sent: 0, failed: 1, pending: 0 });
    expect(await child.stop()).toBe(0);
  });
});

describe('fire-and-forget on shutdown', () => {
  it('SIGTERM waits for in-flight sends: everything accepted is delivered, exit 0', async () => {
    sink.configure({ latencyMs: 800 });
    const { child, url } = await startEntry(FIRE_AND_FORGET, env());
    const ids = Array.from({ length: 8 }, (_, i) => `drain-${i}`);
    for (const id of ids) expect((await postEmail(url, email(id), { 'x-request-id': id })).status).toBe(202);
    expect(sink.stats().unique).toBe(0);
    expect(await child.stop('SIGTERM')).toBe(0);
    expect([...sink.deliveries().keys()].sort()).toEqual([...ids].sort());
  });

  it('SIGKILL loses what was still in memory, although every client was told 202', async () => {
    sink.configure({ latencyMs: 2000 });
    const { child, url } = await startEntry(FIRE_AND_FORGET, env());
    const ids = Array.from({ length: 20 }, (_, i) => `lost-${i}`);
    for (const id of ids) expect((await postEmail(url, email(id), { 'x-request-id': id })).status).toBe(202);
    expect(await child.stop('SIGKILL')).toBe('SIGKILL');
    // Messages the sink had fully received before the kill may still be accepted; wait for those to settle.
    await eventually(() => sink.stats().inProgress, (n) => n === 0, 10_000, 'the sink to settle');
    const delivered = sink.stats().unique;
    // The pooled transport had at most 5 messages on the wire; the rest existed only in the dead process.
    expect(delivered).toBeLessThanOrEqual(5);
    expect(ids.length - delivered).toBeGreaterThanOrEqual(15);
  });
});
