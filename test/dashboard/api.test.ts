// The dashboard's JSON API and its protections, spoken to as a client (or an
// attacker's page) would: the real `npm run dashboard` process over a private
// Redis. The browser-level behaviour is in browser.test.ts.
import http from 'node:http';
import { networkInterfaces } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { dashboardRoutes } from '../../shared/dashboard/server.ts';
import { startHttp } from '../../shared/http.ts';
import { createLogger } from '../../shared/logger.ts';
import { Queue } from '../../shared/queue/index.ts';
import { spawnEntry } from '../helpers/spawn.ts';
import { eventually } from '../helpers/wait.ts';
import { DASHBOARD_ENTRY, dashboardTestbed } from './testbed.ts';

const d = dashboardTestbed();
let queue: Queue;
let token: string;
let api: string;

beforeAll(() => {
  queue = new Queue({ redis: d.redis });
  ({ token, api } = d); // the testbed's, once it has started
});

const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

/** A raw request, for headers fetch will not let a test forge (Host). */
function rawGet(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

describe('starting: loopback only, and told where Redis is', () => {
  it('without REDIS_URL, exits 2 and says how to point it at a Redis', async () => {
    const child = spawnEntry(DASHBOARD_ENTRY, { REDIS_URL: '' });
    expect(await child.exited).toBe(2);
    expect(child.text.join('\n')).toMatch(/set REDIS_URL, e\.g\. REDIS_URL=redis:\/\//);
  });

  it('listens on 127.0.0.1 by default, so other machines cannot reach it', async () => {
    expect(new URL(d.url).hostname).toBe('127.0.0.1');
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    if (external) {
      const port = new URL(d.url).port;
      await expect(fetch(`http://${external.address}:${port}/dashboard`)).rejects.toThrow();
    }
  });
});

describe('reading changes nothing and shows what is in Redis', () => {
  it('answers the documented GET routes with what is in Redis', async () => {
    await queue.enqueue('api-queue', 'noop', [1], { id: 'api-1' });
    await queue.enqueueIn(60_000, 'api-queue', 'noop', [2], { id: 'api-2' });

    const queues = (await (await fetch(`${api}/queues`)).json()) as { queues: { name: string; length: number; latencyMs: number }[]; delayed: number };
    expect(queues.queues).toContainEqual({ name: 'api-queue', length: 1, latencyMs: expect.any(Number) });
    expect(queues.delayed).toBe(1);
    const overview = (await (await fetch(`${api}/overview`)).json()) as Record<string, unknown>;
    expect(overview).toMatchObject({ queued: 1, delayed: 1, processed: 0, redis: { version: expect.stringMatching(/^\d+\.\d+/) } });
    expect(Array.isArray(overview.throughput)).toBe(true);
    const delayed = (await (await fetch(`${api}/delayed`)).json()) as { total: number; items: { job: { id: string } }[] };
    expect(delayed.items.map((i) => i.job.id)).toEqual(['api-2']);
    const job = (await (await fetch(`${api}/jobs/api-1`)).json()) as Record<string, unknown>;
    expect(job).toMatchObject({ id: 'api-1', status: { state: 'queued' }, location: 'queue api-queue, position 1 of 1' });
    expect((await fetch(`${api}/jobs/never-enqueued`)).status).toBe(404);
    for (const path of ['/workers', '/failed']) expect((await fetch(`${api}${path}`)).status).toBe(200);
    const page = await fetch(`${d.url}/dashboard`);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(await page.text()).toContain(`content="${token}"`);
  });
});

describe('state changes only by a same-origin POST with the token', () => {
  const target = async () => {
    const { items } = (await (await fetch(`${api}/delayed`)).json()) as { items: { second: number; key: string }[] };
    return { second: items[0]!.second, key: items[0]!.key };
  };

  it('refuses a GET, a missing or wrong token, another origin, a cross-site fetch and a form-style body', async () => {
    const body = await target();
    expect((await fetch(`${api}/delayed/remove`)).status).toBe(405);
    expect((await postJson('/delayed/remove', body)).status).toBe(403);
    expect((await postJson('/delayed/remove', body, { 'x-dashboard-token': 'x'.repeat(48) })).status).toBe(403);
    expect((await postJson('/delayed/remove', body, { 'x-dashboard-token': token, origin: 'http://evil.example' })).status).toBe(403);
    expect((await postJson('/delayed/remove', body, { 'x-dashboard-token': token, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const form = await fetch(`${api}/delayed/remove`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-dashboard-token': token },
      body: JSON.stringify(body),
    });
    expect(form.status).toBe(415);
    expect(await d.redis.zcard(queue.keys.schedule)).toBe(1); // still there
  });

  it('refuses a foreign Host name while on loopback (DNS rebinding), even for reads', async () => {
    expect(await rawGet(`${api}/queues`, 'evil.example:80')).toBe(403);
    expect(await rawGet(`${d.url}/dashboard`, 'evil.example')).toBe(403);
    expect(await rawGet(`${api}/queues`, `localhost:${new URL(d.url).port}`)).toBe(200);
  });

  it('acts with the token; acting twice on the same entry is a 409, not a different job', async () => {
    const body = await target();
    const ok = await postJson('/delayed/enqueue-now', body, { 'x-dashboard-token': token, origin: d.url, 'sec-fetch-site': 'same-origin' });
    expect(ok.status).toBe(200);
    expect(await queue.length('api-queue')).toBe(2);
    expect((await queue.status('api-2'))?.state).toBe('queued');
    const again = await postJson('/delayed/enqueue-now', body, { 'x-dashboard-token': token });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: string }).error).toMatch(/no longer there/);
  });
});

describe('mounted in a strategy web server', () => {
  it('serves the page and the API beside the email routes, with the same protections', async () => {
    const logger = createLogger({ strategy: 'test', role: 'web', format: 'json', level: 'silent' });
    const mounted = dashboardRoutes({ redis: d.t.server.url, logger, host: '127.0.0.1' });
    const web = await startHttp({ accept: () => ({ status: 202, body: {} }), stats: () => ({}), routes: mounted.routes }, { port: 0, host: '127.0.0.1', logger });
    try {
      const page = await fetch(`${web.url}/dashboard`);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await page.text()).toContain(`content="${mounted.token}"`);
      expect((await fetch(`${web.url}/dashboard/app.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      await eventually(async () => (await fetch(`${web.url}/dashboard/api/queues`)).status, (s) => s === 200, 10_000, 'the mounted API');
      const refused = await fetch(`${web.url}/dashboard/api/failed/remove-all`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(refused.status).toBe(403);
      expect(await (await fetch(`${web.url}/health`)).json()).toEqual({ ok: true });
    } finally {
      await web.close();
      await mounted.close();
    }
  });
});

describe('when Redis is down', () => {
  it('answers 503 at once with a clear error, and 200 again once Redis is back', async () => {
    await d.t.server.kill();
    const started = performance.now();
    const down = await fetch(`${api}/overview`);
    expect(down.status).toBe(503);
    expect(performance.now() - started).toBeLessThan(5_000); // bounded by the 2 s guard, never hanging
    expect(((await down.json()) as { error: string }).error).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ .*(unreachable|did not answer)/);

    await d.t.server.start();
    // The dashboard reconnects by itself (backoff of at most 2 s).
    await eventually(async () => (await fetch(`${api}/queues`)).status, (s) => s === 200, 15_000, 'the API to answer 200 again');
  });
});
