// The strategy 4/5 web process serves the dashboard beside the email API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../../shared/redis.ts';
import { email, postEmail } from '../helpers/http.ts';
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
    expect(await child.stop('SIGTERM')).toBe(0);
  });
});
