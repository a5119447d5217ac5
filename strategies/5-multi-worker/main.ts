// Strategy 5 - multiWorker: strategy 4's queue, with one worker process that
// runs many jobs at once and scales them with its event loop. Most background
// jobs wait on I/O, so one Node process can send dozens of emails together -
// as long as someone watches the loop, so that a CPU-bound job does not starve
// the rest. This file starts, on one host: Redis (unless REDIS_URL), the sink
// (unless SMTP_URL), strategy 4's web process (web.ts runs it, unchanged,
// under strategy 5's name) and one multiWorker process (worker.ts),
// restarting either if it dies.
//
// When the response returns: as in strategy 4, once Redis has the job (202).
// What a crash loses: nothing accepted. A killed multiWorker may hold dozens
//   of jobs, all in its processing list in Redis; the restarted process's
//   scheduler hands them back once the dead one's heartbeat expires (5 s).
//   Those being sent at the kill may arrive twice.
// Walkthrough: docs/walkthrough.md, "5. multiWorker".
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import type { Config } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';
import { isMain } from '../../shared/main.ts';
import { runSupervisor, supervise, type ChildMessage, type SupervisorMessage } from '../4-redis-queue/main.ts';
import { STRATEGY } from './worker.ts';

const HEALTHY_AFTER_MS = 10_000;

export interface MultiWorkerSupervisor {
  url: Promise<string>;
  allOnline: Promise<void>;
  pids(): { supervisor: number; web: number | null; worker: number | null };
  /** The web process first (no new jobs), then the multiWorker drains; true if both exited 0. */
  close(): Promise<boolean>;
}

/** Strategy 4's supervisor runs the web process (and no worker of its own); this adds the multiWorker beside it. */
export function superviseMultiWorker(config: Config, logger: Logger, env: { REDIS_URL: string; SMTP_URL: string }): MultiWorkerSupervisor {
  const web = supervise({ ...config, WORKERS: 0 }, logger, env, path.join(import.meta.dirname, 'web.ts'));
  let child: ChildProcess | undefined;
  let restart: NodeJS.Timeout | undefined;
  let inARow = 0;
  let stopping = false;
  let clean = true;
  let online: () => void;
  const workerOnline = new Promise<void>((resolve) => (online = resolve));

  function start(): void {
    const startedAt = Date.now();
    child = fork(path.join(import.meta.dirname, 'worker.ts'), {
      execArgv: process.execArgv.some((a) => a.includes('tsx')) ? process.execArgv : [...process.execArgv, '--import', 'tsx'],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const log = logger.child({ child: 'worker', childPid: child.pid });
    child.on('message', (m: ChildMessage) => m?.type === 'ready' && (log.info('child online'), online()));
    child.on('error', (err) => log.warn({ err: err.message }, 'child error'));
    child.once('exit', (code, signal) => {
      child = undefined;
      if (stopping) {
        clean &&= code === 0;
        log[code === 0 ? 'info' : 'warn']({ code, signal }, 'child exited');
        return;
      }
      inARow = Date.now() - startedAt >= HEALTHY_AFTER_MS ? 1 : inARow + 1;
      const delayMs = Math.min(config.RESTART_BACKOFF_MAX_MS, config.RESTART_BACKOFF_MS * 2 ** (inARow - 1));
      log.warn({ code, signal, delayMs, inARow }, `multiWorker died (its jobs are in Redis: they come back when its heartbeat expires); restarting in ${delayMs} ms`);
      restart = setTimeout(start, delayMs);
    });
  }
  start();

  return {
    url: web.url,
    allOnline: Promise.all([web.allOnline, workerOnline]).then(() => undefined),
    pids: () => ({ supervisor: process.pid, web: web.pids().web, worker: child?.pid ?? null }),
    async close() {
      stopping = true;
      clearTimeout(restart);
      const webClean = await web.close(); // intake first...
      if (child) {
        const exited = once(child, 'exit');
        child.send({ type: 'stop' } satisfies SupervisorMessage, () => {}); // ...then the multiWorker finishes what it runs
        await exited;
      }
      return webClean && clean;
    },
  };
}

if (isMain(import.meta.url)) {
  await runSupervisor(STRATEGY, superviseMultiWorker, (url, pids) =>
    `watch it scale: curl ${url}/stats (workers[0].multiWorker: processors, event-loop delay) or open ${url}/dashboard - ` +
      `kill -9 ${pids.worker} (its jobs come back within seconds) - the talk's demo: npm run strategy:5:demo`,
  );
}
