// Strategy 4 - Redis queue: a web process enqueues each email in Redis and
// answers; worker processes take jobs from Redis and send them. They share
// nothing but Redis, so they could run on different machines (run web.ts and
// worker.ts yourself with one REDIS_URL). This file is only the convenience
// that starts them all on one host: Redis (unless REDIS_URL), the sink (unless
// SMTP_URL), one web process and WORKERS worker processes, restarting any that
// dies, and stopping them in order.
//
// When the response returns: as soon as Redis has the job (202 with a status URL).
// What a crash loses: nothing accepted. A killed worker's jobs are in its
//   processing list in Redis; a surviving worker's scheduler hands them back
//   within seconds and they are sent again (at least once: the one being sent
//   at the kill may arrive twice). Redis itself keeps jobs in its append-only
//   file; a Redis crash (kill -9, power loss) can lose the last second.
// Walkthrough: docs/walkthrough.md, "4. Redis queue".
import path from 'node:path';
import { isMain, runStrategy, type StrategyContext } from '../../shared/main.ts';
import { superviseWebAndWorkers } from '../../shared/supervisor.ts';

// What the supervisor says when a worker dies.
const JOBS_COME_BACK = 'its jobs are in Redis: they come back when its heartbeat expires';

export function start(ctx: StrategyContext) {
  const worker = { entry: path.join(import.meta.dirname, 'worker.ts'), died: JOBS_COME_BACK };
  return superviseWebAndWorkers(ctx, path.join(import.meta.dirname, 'web.ts'), Array.from({ length: ctx.config.WORKERS }, () => worker));
}

if (isMain(import.meta.url)) {
  await runStrategy('4-redis-queue', start, {
    role: 'supervisor',
    redis: true,
    stopsInTurn: 2,
    hint: ({ url, pids }) =>
      `watch a crash: kill -9 ${pids().workers.join(' or ')} (a worker: its jobs come back within seconds) - status of an email: curl ${url}/emails/<id> - the queue: ${url}/dashboard`,
  });
}
