// Strategy 5 - multiWorker: strategy 4's queue, with one worker process that
// runs many jobs at once and scales them with its event loop. Most background
// jobs wait on I/O, so one Node process can send dozens of emails together -
// as long as someone watches the loop, so that a CPU-bound job does not starve
// the rest. This file starts, on one host: Redis (unless REDIS_URL), the sink
// (unless SMTP_URL), strategy 4's web process (web.ts runs it under strategy
// 5's name) and one multiWorker process (worker.ts), restarting either if it dies.
//
// When the response returns: as in strategy 4, once Redis has the job (202).
// What a crash loses: nothing accepted. A killed multiWorker may hold dozens
//   of jobs, all in its processing list in Redis; the restarted process's
//   scheduler hands them back once the dead one's heartbeat expires (5 s).
//   Those being sent at the kill may arrive twice.
// Walkthrough: docs/walkthrough.md, "5. multiWorker".
import path from 'node:path';
import { isMain, runStrategy, type StrategyContext } from '../../shared/main.ts';
import { superviseWebAndWorkers } from '../../shared/supervisor.ts';

// What the supervisor says when a worker dies.
const JOBS_COME_BACK = 'its jobs are in Redis: they come back when its heartbeat expires';

export function start(ctx: StrategyContext) {
  const multiWorker = { entry: path.join(import.meta.dirname, 'worker.ts'), name: 'multiWorker', died: JOBS_COME_BACK };
  return superviseWebAndWorkers(ctx, path.join(import.meta.dirname, 'web.ts'), [multiWorker]);
}

if (isMain(import.meta.url)) {
  await runStrategy('5-multi-worker', start, {
    role: 'supervisor',
    redis: true,
    stopsInTurn: 2,
    hint: ({ url, pids }) =>
      `watch it scale: curl ${url}/stats (workers[0].multiWorker: processors, event-loop delay) or open ${url}/dashboard - ` +
      `kill -9 ${pids().workers[0]} (its jobs come back within seconds) - the talk's demo: npm run strategy:5:demo`,
  });
}
