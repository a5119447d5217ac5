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
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import path from 'node:path';
import type { Config } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';
import { configOrExit, curlExample, isMain, processLogger, resolveSmtp } from '../../shared/main.ts';
import { Queue } from '../../shared/queue/index.ts';
import { createRedis, resolveRedis, type RedisTarget } from '../../shared/redis.ts';
import { onShutdown } from '../../shared/shutdown.ts';
import { SEND_EMAIL } from '../../shared/worker-process.ts';

export const STRATEGY = '4-redis-queue';
/** The talk's names: queue `emailQueue`, job `sendEmail`. */
export const QUEUE = 'emailQueue';
export const JOB = SEND_EMAIL;
const HEALTHY_AFTER_MS = 10_000;
type Role = 'web' | 'worker';
const entries: Record<Role, string> = { web: path.join(import.meta.dirname, 'web.ts'), worker: path.join(import.meta.dirname, 'worker.ts') };

/** What a forked child tells the supervisor, and the one thing the supervisor asks. */
export type ChildMessage = { type: 'ready'; url?: string };
export type SupervisorMessage = { type: 'stop' };

/**
 * The child's side, called once its shutdown handler is installed: say when we
 * are up; stop when the supervisor asks (a message, not a signal, so a child
 * that already got the same SIGTERM from its process group is not told twice,
 * which would mean "stop now, unfinished"); leave Ctrl-C to the supervisor (it
 * reaches every process of the terminal; the supervisor stops us in order);
 * stop if the supervisor dies (the IPC channel closes).
 */
export function superviseMe(): { supervised: boolean; ready(message?: Omit<ChildMessage, 'type'>): void } {
  const supervised = typeof process.send === 'function';
  if (supervised) {
    let stopping = false;
    const stop = () => stopping || process.kill(process.pid, 'SIGTERM');
    process.on('SIGTERM', () => (stopping = true));
    process.removeAllListeners('SIGINT');
    process.on('SIGINT', () => {});
    process.on('message', (m: SupervisorMessage) => m?.type === 'stop' && stop());
    process.once('disconnect', stop);
  }
  return { supervised, ready: (message = {}) => process.send?.({ type: 'ready', ...message } satisfies ChildMessage) };
}

interface Slot {
  role: Role;
  n: number;
  child?: ChildProcess;
  startedAt: number;
  inARow: number;
  restart?: NodeJS.Timeout;
}

export interface Supervisor {
  url: Promise<string>;
  /** Resolves when the web process and every worker have said "ready" once. */
  allOnline: Promise<void>;
  pids(): { supervisor: number; web: number | null; workers: (number | null)[] };
  /** Web first (no new jobs), then the workers (they drain); resolves true if every child exited 0. */
  close(): Promise<boolean>;
}

/** `webEntry`: strategy 5 supervises its own web.ts (strategy 4's, under strategy 5's name). */
export function supervise(config: Config, logger: Logger, env: { REDIS_URL: string; SMTP_URL: string }, webEntry = entries.web): Supervisor {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const slots: Slot[] = [
    { role: 'web', n: 0, startedAt: 0, inARow: 0 },
    ...Array.from({ length: config.WORKERS }, (_, i): Slot => ({ role: 'worker', n: i + 1, startedAt: 0, inARow: 0 })),
  ];
  let webPort = config.PORT;
  let stopping = false;
  let allClean = true;

  function start(slot: Slot): void {
    slot.restart = undefined;
    slot.startedAt = Date.now();
    // Children inherit stdout: each logs for itself, tagged with its role and pid.
    const child = fork(slot.role === 'web' ? webEntry : entries.worker, {
      execArgv: process.execArgv.some((a) => a.includes('tsx')) ? process.execArgv : [...process.execArgv, '--import', 'tsx'],
      env: { ...process.env, ...env, PORT: String(webPort) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    slot.child = child;
    const log = logger.child({ child: slot.role, childPid: child.pid });
    child.on('message', (m: ChildMessage) => {
      if (m?.type !== 'ready') return;
      if (m.url) webPort = Number(new URL(m.url).port); // a restarted web comes back on the same port
      log.info({ url: m.url }, 'child online');
      events.emit(`online:${slot.role}:${slot.n}`, m);
    });
    child.on('error', (err) => log.warn({ err: err.message }, 'child error'));
    child.once('exit', (code, signal) => {
      slot.child = undefined;
      events.emit(`exit:${slot.role}:${slot.n}`, code);
      if (stopping) {
        if (code !== 0) allClean = false;
        log[code === 0 ? 'info' : 'warn']({ code, signal }, 'child exited');
        return;
      }
      slot.inARow = Date.now() - slot.startedAt >= HEALTHY_AFTER_MS ? 1 : slot.inARow + 1;
      const delayMs = Math.min(config.RESTART_BACKOFF_MAX_MS, config.RESTART_BACKOFF_MS * 2 ** (slot.inARow - 1));
      const what = code === 0 ? 'exited' : slot.role === 'worker' ? 'died (its jobs are in Redis: they come back when its heartbeat expires)' : 'died (queued jobs are safe in Redis)';
      log.warn({ code, signal, delayMs, inARow: slot.inARow }, `${slot.role} ${what}; restarting in ${delayMs} ms`);
      slot.restart = setTimeout(() => start(slot), delayMs);
    });
  }

  const onlineOnce = (s: Slot) => once(events, `online:${s.role}:${s.n}`);
  const url = onlineOnce(slots[0]!).then(([m]) => (m as ChildMessage).url!);
  const allOnline = Promise.all(slots.map(onlineOnce)).then(() => undefined);
  for (const s of slots) start(s);

  async function stop(s: Slot): Promise<void> {
    clearTimeout(s.restart);
    if (!s.child) return;
    const exited = once(events, `exit:${s.role}:${s.n}`);
    s.child.send({ type: 'stop' } satisfies SupervisorMessage, () => {}); // a child already gone exits anyway
    await exited;
  }

  return {
    url,
    allOnline,
    pids: () => ({ supervisor: process.pid, web: slots[0]!.child?.pid ?? null, workers: slots.slice(1).map((s) => s.child?.pid ?? null) }),
    async close() {
      stopping = true;
      await stop(slots[0]!); // intake first: nothing new is enqueued...
      await Promise.all(slots.slice(1).map(stop)); // ...then every worker finishes what it runs
      return allClean;
    },
  };
}

/**
 * Stops the Redis this supervisor started, if it started one. That private
 * Redis goes away with the process, and so do jobs still queued in it: say how
 * many, rather than drop them silently. With REDIS_URL they wait for the next run.
 */
export async function closeRedis(redis: RedisTarget, config: Config, logger: Logger): Promise<void> {
  if (!config.REDIS_URL) {
    const client = createRedis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      const s = await new Queue({ redis: client, namespace: config.QUEUE_NAMESPACE }).stats();
      const left = s.queued + s.delayed + s.working;
      if (left > 0) {
        logger.warn({ left }, `${left} accepted job(s) still queued in the private Redis are discarded with it: set REDIS_URL for a queue that outlives this process`);
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not count what the private Redis still holds');
    } finally {
      client.disconnect();
    }
  }
  await redis.close();
}

/** What runSupervisor needs of a supervisor: strategy 4's, or strategy 5's (web + multiWorker). */
interface Supervised<P> {
  url: Promise<string>;
  allOnline: Promise<void>;
  pids(): P;
  /** True when every child exited 0. */
  close(): Promise<boolean>;
}

/**
 * The supervisor process of strategies 4 and 5, from the command line: Redis
 * and the sink (embedded unless REDIS_URL / SMTP_URL), the children, the ready
 * line with its curl, what to kill, and a graceful stop - the web first, then
 * the workers, then what it started itself.
 */
export async function runSupervisor<P>(
  strategy: string,
  superviseChildren: (config: Config, logger: Logger, env: { REDIS_URL: string; SMTP_URL: string }) => Supervised<P>,
  whatToTry: (url: string, pids: P) => string,
): Promise<void> {
  const config = configOrExit();
  const logger = processLogger(config, strategy, 'supervisor');
  const redis = await resolveRedis(config, logger);
  const smtp = await resolveSmtp(config, logger);
  const supervisor = superviseChildren(config, logger, { REDIS_URL: redis.url, SMTP_URL: smtp.url.href });
  onShutdown(
    logger,
    async () => {
      const clean = await supervisor.close();
      await smtp.close();
      await closeRedis(redis, config, logger);
      if (!clean) throw new Error('a child did not exit cleanly');
    },
    // The children have their own SHUTDOWN_TIMEOUT_MS each: the web, then the workers.
    config.SHUTDOWN_TIMEOUT_MS * 2 + 2_000,
  );
  await supervisor.allOnline;
  const url = await supervisor.url;
  const pids = supervisor.pids();
  logger.info({ url, redis: redis.url, pids }, `listening on ${url}  try: ${curlExample(url)}`);
  logger.info(whatToTry(url, pids));
}

if (isMain(import.meta.url)) {
  await runSupervisor(STRATEGY, supervise, (url, pids) =>
    `watch a crash: kill -9 ${pids.workers.join(' or ')} (a worker: its jobs come back within seconds) - status of an email: curl ${url}/emails/<id> - the queue: ${url}/dashboard`,
  );
}
