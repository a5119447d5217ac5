// The set-up every dashboard test file shares, called once at its top level:
//   const d = dashboardTestbed({ EVENT_STREAM: 'test:events' });
// Before the file's tests: a private redis-server (its clients stay quiet
// while a test stops it) and the real `npm run dashboard` process over it, on
// port 0, with the token its ready line prints. After them, last of all: the
// dashboard stopped by SIGTERM with its exit code checked - so every file also
// proves graceful shutdown, even after Redis went away and came back - and
// Redis closed.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect } from 'vitest';
import { testRedis, type TestRedis } from '../helpers/queue.ts';
import { killAll, startEntry, type Child } from '../helpers/spawn.ts';

export const DASHBOARD_ENTRY = 'shared/dashboard/server.ts';

export interface DashboardTestbed {
  t: TestRedis;
  /** The tests' own client. */
  redis: Redis;
  child: Child;
  /** The server's root; the page is at url + /dashboard. */
  url: string;
  /** url + /dashboard/api */
  api: string;
  token: string;
}

export function dashboardTestbed(env: Record<string, string> = {}): DashboardTestbed {
  const d = {} as DashboardTestbed;
  beforeAll(async () => {
    d.t = await testRedis();
    d.redis = d.t.client();
    const { child, url } = await startEntry(DASHBOARD_ENTRY, { REDIS_URL: d.t.server.url, DASHBOARD_PORT: '0', ...env });
    const ready = await child.waitForLog((l) => typeof l.token === 'string', 5_000, 'the token in the ready line');
    Object.assign(d, { child, url, api: `${url}/dashboard/api`, token: ready.token });
  });
  // Registered before the file's own hooks, so it runs after them (vitest runs after-hooks as a stack).
  afterAll(async () => {
    if (d.child) expect(await d.child.stop()).toBe(0);
    killAll();
    await d.t?.close();
  });
  return d;
}
