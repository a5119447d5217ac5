// Supervision for the strategies that run more than one process (3, 4 and 5):
// fork a TypeScript entry, fork it again with a growing backoff when it dies,
// and stop children one at a time in the order the strategy chooses. The
// child's side is here too (superviseMe). A supervisor holds no work of its
// own: what a dead child loses is the strategy's lesson, told by its onExit.
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import readline from 'node:readline';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { redisEnv } from './redis.ts';

/** A child that ran this long was healthy: its next exit starts the backoff over. */
export const HEALTHY_AFTER_MS = 10_000;

/** The wait before a restart: doubles with each exit in a row, back to `baseMs` after a healthy run. */
export function restartBackoff(baseMs: number, maxMs: number, healthyAfterMs = HEALTHY_AFTER_MS) {
  let inARow = 0;
  let startedAt = 0;
  return {
    started(now: number): void {
      startedAt = now;
    },
    exited(now: number): { delayMs: number; inARow: number } {
      inARow = now - startedAt >= healthyAfterMs ? 1 : inARow + 1;
      return { delayMs: Math.min(maxMs, baseMs * 2 ** (inARow - 1)), inARow };
    },
  };
}

/** Node flags for a forked child: children run TypeScript too, so the tsx loader must be among them. */
export function tsxExecArgv(): string[] {
  return process.execArgv.some((arg) => arg.includes('tsx')) ? process.execArgv : [...process.execArgv, '--import', import.meta.resolve('tsx')];
}

/** What every supervised child says once it takes work; a web child adds the URL it listens on. */
export type ReadyMessage = { type: 'ready'; url?: string };
/** The supervisor's default request: finish what you hold, then exit. */
export type StopMessage = { type: 'stop' };

export interface ChildSpec<FromChild extends { type: string }> {
  role: string;
  entry: string;
  /** Added to this process's environment at every fork. */
  env?: Record<string, string>;
  /** 'inherit': the child writes its own log lines; 'relay': its stray output comes out here, tagged (for children that log through IPC). */
  output?: 'inherit' | 'relay';
  /** Every message but 'ready', which the supervisor handles (and then passes on too). */
  onMessage?(message: FromChild): void;
  /** The strategy's word on an exit (what the child took with it), once every message it sent has been read. */
  onExit?(code: number | null, signal: NodeJS.Signals | null, log: Logger): void;
  /** The restart line; by default "<role> exited|died; restarting in N ms". */
  restartLine?(delayMs: number, code: number | null): string;
  /** Restart it even while stopping, as long as this says so: a worker still owed work. */
  neededWhileStopping?(): boolean;
}

export interface SupervisedChild {
  readonly role: string;
  readonly pid: number | null;
  /** Forks after the first. */
  readonly restarts: number;
  /** Forked and not exited, or a restart is due. */
  readonly alive: boolean;
  /** Resolves the first time the child says ready. */
  readonly online: Promise<void>;
  /** The URL a web child said it listens on. */
  readonly url: string | undefined;
  /** `undelivered` runs when there is no child to hear it (it died, or is being forked again). */
  send(message: object, undelivered?: () => void): void;
  /** No more restarts (but see neededWhileStopping); waits for a starting child to be ready, sends `message`, resolves with its exit code (null: none was running). */
  stop(message?: object): Promise<number | null>;
}

export interface SupervisorContext {
  config: Pick<Config, 'PORT' | 'RESTART_BACKOFF_MS' | 'RESTART_BACKOFF_MAX_MS'>;
  logger: Logger;
}

/** Forks `spec.entry` and keeps it running until stopped. */
export function superviseChild<FromChild extends { type: string }>(ctx: SupervisorContext, spec: ChildSpec<FromChild>): SupervisedChild {
  const { config, logger } = ctx;
  const backoff = restartBackoff(config.RESTART_BACKOFF_MS, config.RESTART_BACKOFF_MAX_MS);
  const events = new EventEmitter(); // 'ready', 'exit'
  events.setMaxListeners(0);
  let child: ChildProcess | undefined;
  let ready = false;
  let restart: NodeJS.Timeout | undefined;
  let restarts = -1;
  let stopping = false;
  let url: string | undefined;
  let lastCode: number | null = null;
  // A restarted web child comes back on the port its first fork found (PORT=0 picks one).
  let port = config.PORT;

  function start(): void {
    restart = undefined;
    restarts++;
    backoff.started(Date.now());
    ready = false;
    const forked = fork(spec.entry, {
      execArgv: tsxExecArgv(),
      env: { ...process.env, ...spec.env, PORT: String(port) },
      stdio: spec.output === 'relay' ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child = forked;
    const log = logger.child({ child: spec.role, childPid: forked.pid });
    if (spec.output === 'relay') {
      for (const [stream, name] of [[forked.stdout, 'stdout'], [forked.stderr, 'stderr']] as const) {
        if (stream) readline.createInterface({ input: stream }).on('line', (line) => log.warn({ stream: name }, line));
      }
    }
    forked.on('message', (m: FromChild | ReadyMessage) => {
      if (m?.type === 'ready') {
        url = (m as ReadyMessage).url ?? url;
        if (url) port = Number(new URL(url).port);
        ready = true;
        log.info(url ? { url } : {}, 'child online');
      }
      spec.onMessage?.(m as FromChild);
      if (m?.type === 'ready') events.emit('ready');
    });
    forked.on('error', (err) => log.warn({ err: err.message }, 'child error'));
    // Gone once the process exited *and* every message it wrote has been read
    // (disconnect): a report sent just before a SIGKILL still counts.
    let exit: [number | null, NodeJS.Signals | null] | undefined;
    let disconnected = false;
    const settle = () => exit && disconnected && exited(log, ...exit);
    forked.once('exit', (code, signal) => ((exit = [code, signal]), settle()));
    forked.once('disconnect', () => ((disconnected = true), settle()));
  }

  function exited(log: Logger, code: number | null, signal: NodeJS.Signals | null): void {
    child = undefined;
    ready = false;
    lastCode = code;
    spec.onExit?.(code, signal, log);
    if (!stopping || spec.neededWhileStopping?.()) {
      const { delayMs, inARow } = backoff.exited(Date.now());
      const line = spec.restartLine?.(delayMs, code) ?? `${spec.role} ${code === 0 ? 'exited' : 'died'}; restarting in ${delayMs} ms`;
      log.warn({ code, signal, delayMs, inARow }, line);
      restart = setTimeout(start, delayMs);
    } else if (!spec.onExit) {
      log[code === 0 ? 'info' : 'warn']({ code, signal }, 'child exited');
    }
    events.emit('exit');
  }

  const next = () => Promise.race([once(events, 'ready'), once(events, 'exit')]);
  const online = once(events, 'ready').then(() => undefined);
  start();

  return {
    role: spec.role,
    get pid() {
      return child?.pid ?? null;
    },
    get restarts() {
      return restarts;
    },
    get alive() {
      return child !== undefined || restart !== undefined;
    },
    online,
    get url() {
      return url;
    },
    send(message, undelivered) {
      if (!child?.connected) return undelivered?.();
      // The callback turns "the child just died" into this instead of an 'error' event.
      child.send(message, (err) => err && undelivered?.());
    },
    async stop(message = { type: 'stop' } satisfies StopMessage) {
      stopping = true;
      if (restart && !spec.neededWhileStopping?.()) {
        clearTimeout(restart);
        restart = undefined;
      }
      // A child not yet ready may not listen for messages yet: wait until it does (or dies).
      while (this.alive && !ready) await next();
      if (!child) return null;
      const gone = once(events, 'exit');
      this.send(message);
      await gone;
      return lastCode;
    },
  };
}

/**
 * The child's side, called once its shutdown handler is installed: say when we
 * are up; stop when the supervisor asks (a message, not a signal, so a child
 * that already got the same SIGTERM from its process group is not told twice,
 * which would mean "stop now, unfinished"); leave Ctrl-C to the supervisor (it
 * reaches every process of the terminal; the supervisor stops us in order);
 * stop if the supervisor dies (the IPC channel closes).
 */
export function superviseMe(): { supervised: boolean; ready(message?: Omit<ReadyMessage, 'type'>): void } {
  const supervised = typeof process.send === 'function';
  if (supervised) {
    let stopping = false;
    const stop = () => stopping || process.kill(process.pid, 'SIGTERM');
    process.on('SIGTERM', () => (stopping = true));
    process.removeAllListeners('SIGINT');
    process.on('SIGINT', () => {});
    process.on('message', (m: StopMessage) => m?.type === 'stop' && stop());
    process.once('disconnect', stop);
  }
  return { supervised, ready: (message = {}) => process.send?.({ type: 'ready', ...message } satisfies ReadyMessage) };
}

export interface WorkerChild {
  entry: string;
  /** Its role in the log; default 'worker'. */
  role?: string;
  /** What its restart line calls it; default its role. */
  name?: string;
  env?: Record<string, string>;
  /** What a crash means for its work, in its restart line. */
  died: string;
}

/**
 * Strategies 4, 5 and 6 on one host: a web process and worker processes that
 * share nothing but Redis. Resolves once every child said ready; close() stops
 * the web first (nothing new comes in), then the workers (each finishes what it
 * runs), and throws if a child did not exit cleanly.
 */
export async function superviseWebAndWorkers(
  { config, logger, smtpUrl, redisUrl }: SupervisorContext & { config: Pick<Config, 'METRICS_PORT'>; smtpUrl: URL; redisUrl?: string },
  webEntry: string,
  workers: WorkerChild[],
) {
  if (!redisUrl) throw new Error('a web process and its workers need Redis');
  const ctx = { config, logger };
  const env = { ...redisEnv(redisUrl), SMTP_URL: smtpUrl.href };
  const web = superviseChild(ctx, { role: 'web', entry: webEntry, env, restartLine: (ms) => `web died (what it accepted is safe in Redis); restarting in ${ms} ms` });
  // Each child that serves metrics gets a port of its own: METRICS_PORT, the next one, ... (0: each a free one).
  const metricsPort = (i: number): Record<string, string> => (config.METRICS_PORT === undefined ? {} : { METRICS_PORT: String(config.METRICS_PORT && config.METRICS_PORT + i) });
  const children = workers.map(({ entry, role = 'worker', name = role, env: own, died }, i) =>
    superviseChild(ctx, { role, entry, env: { ...env, ...metricsPort(i), ...own }, restartLine: (ms, code) => `${name} ${code === 0 ? 'exited' : `died (${died})`}; restarting in ${ms} ms` }),
  );
  await Promise.all([web.online, ...children.map((c) => c.online)]);
  return {
    url: web.url!,
    pids: () => ({ supervisor: process.pid, web: web.pid, workers: children.map((c) => c.pid) }),
    children,
    async close() {
      const codes = [await web.stop(), ...(await Promise.all(children.map((c) => c.stop())))];
      if (codes.some((code) => code !== 0 && code !== null)) throw new Error('a child did not exit cleanly');
    },
  };
}

let unwritten = 0;
let allWritten: (() => void) | undefined;

/** process.send for a child. The callback keeps a failed send (the supervisor is gone) from becoming an 'error' event. */
export function toSupervisor(message: object): void {
  if (!process.send || !process.connected) return;
  unwritten++;
  process.send(message, undefined, undefined, () => --unwritten === 0 && allWritten?.());
}

/** Exits once every message already sent is written: a report cut off by the exit would be news the supervisor never gets. */
export function exitWhenWritten(code: number): void {
  if (unwritten === 0) process.exit(code);
  allWritten = () => process.exit(code);
}

/** For an entry that only runs as a child: without a supervisor on the other end of IPC it says what to run instead. */
export function assertSupervised(file: string, runInstead: string): void {
  if (process.send) return;
  process.stderr.write(`${file} is a child process: run ${runInstead} instead\n`);
  process.exit(2);
}
