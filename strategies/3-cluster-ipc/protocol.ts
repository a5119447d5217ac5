// What strategy 3's processes say to each other over IPC, in one place. The
// primary sits in the middle: the server and the worker never talk to each
// other. IPC serialises to JSON, so messages are plain data. Log lines travel
// the same way: children never write to stdout, the primary prints for them.
//
//   server -> primary   ready, email (answered by `taken`), stats, log
//   primary -> worker   email, load?, drain
//   worker -> primary   ready, sent | retry | failed (each with its load), load, stop-requested, log
import type { Worker as ChildProcess } from 'node:cluster';
import readline from 'node:readline';
import { pino, type Logger } from 'pino';
import type { PrettyOptions } from 'pino-pretty';
import type { Config } from '../../shared/config.ts';
import type { Email } from '../../shared/email.ts';

export type Role = 'server' | 'worker';

/** One pino JSON line a child asks the primary to print: children never write to stdout. */
export interface LogLine {
  type: 'log';
  line: string;
}

/** What the worker holds in memory right now: all of it dies with the process. */
export interface WorkerLoad {
  queue: number;
  inFlight: number;
  /** Failed once, waiting out their backoff before the next attempt. */
  retrying: number;
}

export type FromServer =
  | { type: 'ready'; url: string; port: number }
  | { type: 'email'; ref: number; email: Email }
  | { type: 'stats'; ref: number }
  | LogLine;

export type ToServer =
  | { type: 'taken'; ref: number; accepted: boolean }
  | { type: 'stats'; ref: number; stats: ClusterStats }
  | { type: 'stop' };

export type ToWorker = { type: 'email'; job: number; email: Email } | { type: 'load?'; ref: number } | { type: 'drain' };

export type FromWorker =
  | { type: 'ready' }
  | ({ type: 'sent'; job: number; attempt: number; ms: number } & WorkerLoad)
  | ({ type: 'retry'; job: number; attempt: number; delayMs: number; error: string } & WorkerLoad)
  | ({ type: 'failed'; job: number; attempt: number; error: string; permanent: boolean } & WorkerLoad)
  | ({ type: 'load'; ref: number } & WorkerLoad)
  /** SIGTERM reached the worker: the primary stops handing it emails and answers "drain". */
  | { type: 'stop-requested' }
  | LogLine;

export interface ClusterStats extends WorkerLoad {
  strategy: '3-cluster-ipc';
  /** Accepted and not finished: buffered + handed to the worker (queued, in flight, retrying). */
  pending: number;
  sent: number;
  failed: number;
  /** Handed to a worker that died before reporting them finished. */
  lost: number;
  retries: number;
  /** Held by the primary while the worker is down. */
  buffered: number;
  bufferLimit: number;
  /** Answered 503 because the buffer was full. */
  refused: number;
  /** In the worker's memory, as the primary counts them. */
  handedOver: number;
  workerConcurrency: number;
  restarts: Record<Role, number>;
  pids: { primary: number } & Record<Role, number | null>;
  recentFailures: { id: string; attempts: number; error: string }[];
}

/** process.send, typed; `done` runs once the message is written (or could not be: the primary is gone). */
export function toPrimary(message: FromServer | FromWorker, done?: () => void): void {
  if (!process.send || !process.connected) {
    done?.();
    return;
  }
  // A callback also keeps a failed send from becoming an 'error' event that kills the child.
  process.send(message, undefined, undefined, () => done?.());
}

/** A logger for a child: each line goes to the primary, which prints it with the child's role and pid. */
export function loggerViaPrimary(config: Config): Logger {
  return pino({ level: config.LOG_LEVEL, base: null, timestamp: false }, { write: (line: string) => toPrimary({ type: 'log', line }) });
}

/** Exits once everything already sent to the primary is written (IPC writes are ordered), `msg` being the last word. */
export function exitAfterLastWord(code: number, msg: string): void {
  toPrimary({ type: 'log', line: JSON.stringify({ level: 30, msg }) }, () => process.exit(code));
}

/** Children are started by main.ts only: they need the primary on the other end of IPC. */
export function assertChildOfPrimary(file: string): void {
  if (process.send) return;
  process.stderr.write(`${file} is a child of strategies/3-cluster-ipc/main.ts: run that instead (npm run strategy:3)\n`);
  process.exit(2);
}

/** A child's log line, printed by the primary with the child's role and pid. */
export function relayLog(log: Logger, line: string): void {
  try {
    const { level, msg, ...fields } = JSON.parse(line) as { level: number; msg?: string };
    const label = (['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const).find((l) => log.levels.values[l] === level) ?? 'info';
    log[label](fields, msg);
  } catch {
    log.info(line);
  }
}

/** Anything a child prints anyway (a crash's stack trace, a Node warning) comes out here, tagged. */
export function relayOutput(child: ChildProcess, log: Logger): void {
  for (const [stream, name] of [[child.process.stdout, 'stdout'], [child.process.stderr, 'stderr']] as const) {
    if (stream) readline.createInterface({ input: stream }).on('line', (line) => log.warn({ stream: name }, line));
  }
}

/** Like every process's pretty lines ("[role pid] msg"), but the primary speaks for its children: "[worker 4242] sent". */
export const whoSpeaks: PrettyOptions = {
  ignore: 'hostname,pid,strategy,role,child,childPid,component',
  messageFormat: (log, messageKey, _level, { colors }) => {
    const who = typeof log.child === 'string' ? log.child : `primary${typeof log.component === 'string' ? `/${log.component}` : ''}`;
    const paint = who === 'worker' ? colors.cyan : who === 'server' ? colors.magenta : colors.bold;
    return `${paint(`[${who} ${String(log.childPid ?? log.pid)}]`)} ${String(log[messageKey])}`;
  },
};
