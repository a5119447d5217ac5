// The strategy 4/5 and 6 web processes serve the dashboard beside the email API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../../shared/redis.ts';
import { email, postEmail, postTracked } from '../helpers/http.ts';
import { killAll, startEntry } from '../helpers/spawn.ts';

let redis: PrivateRedis;
beforeAll(async () => {
  redis = await startPrivateRedis();
});
afterAll(async () => {
  killAll();
  await redis.stop();
});

describe('the strategy 4 web process', () => {
  it('serves the dashboard at /dashboard, whose API sees the jobs it enqueued', async () => {
    // No worker runs: the jobs stay queued, so the count is exact.
    const { child, url } = await startEntry('strategies/4-redis-queue/web.ts', { PORT: '0', REDIS_URL: redis.url });
    for (const id of ['m-1', 'm-2', 'm-3']) expect((await postEmail(url, email(id), { 'x-request-id': id })).status).toBe(202);

    const page = await fetch(`${url}/dashboard`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toBeTruthy();

    const queues = (await (await fetch(`${url}/dashboard/api/queues`)).json()) as { queues: { name: string; length: number }[] };
    expect(queues.queues.find((q) => q.name === 'emailQueue')?.length).toBe(3);
    // State changes need the token: a bare POST from anywhere is refused.
    expect((await fetch(`${url}/dashboard/api/failed/remove-all`, { method: 'POST' })).status).toBeGreaterThanOrEqual(400);
    // No event stream to show: the page hides its panel.
    expect(await (await fetch(`${url}/dashboard/api/streams`)).json()).toEqual({ stream: null, deadLetters: [] });
    expect(await child.stop('SIGTERM')).toBe(0);
  });
});

describe('the strategy 6 web process', () => {
  it('serves the dashboard at /dashboard, whose API sees the events it appended, and empty queue panels', async () => {
    // No consumer runs: no group yet, and the events stay in the stream.
    const { child, url } = await startEntry('strategies/6-event-bus/web.ts', { PORT: '0', REDIS_URL: redis.url, EVENT_STREAM: 'mounted:events' });
    const ids = [];
    for (const id of ['s-1', 's-2', 's-3']) ids.push((await postTracked(url, id)).body.eventId);

    const { stream } = (await (await fetch(`${url}/dashboard/api/streams`)).json()) as { stream: Record<string, unknown> };
    expect(stream).toMatchObject({ stream: 'mounted:events', length: 3, firstId: ids[0], lastId: ids[2], groups: [], deadLetters: 0 });
    for (const path of ['/overview', '/queues', '/workers', '/failed']) expect((await fetch(`${url}/dashboard/api${path}`)).status).toBe(200);
    expect((await fetch(`${url}/dashboard/api/streams/dead/retry`, { method: 'POST' })).status).toBeGreaterThanOrEqual(400);
    expect(await child.stop('SIGTERM')).toBe(0);
  });
});
