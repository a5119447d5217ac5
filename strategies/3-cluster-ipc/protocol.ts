// What strategy 3's processes say to each other over IPC, in one place. The
// primary sits in the middle: the server and the worker never talk to each
// other. IPC serialises to JSON, so messages are plain data.
//
//   server -> primary   ready, email (answered by `taken`), stats
//   primary -> server   taken, stats, stop
//   primary -> worker   email, drain
//   worker -> primary   ready, sent | retry | failed (each with its load), stop-requested
import type { Email } from '../../shared/email.ts';

export const STRATEGY = '3-cluster-ipc';

/** What the worker holds in memory right now: all of it dies with the process. */
export interface WorkerLoad {
  queue: number;
  inFlight: number;
  /** Failed once, waiting out their backoff before the next attempt. */
  retrying: number;
}

export type FromServer = { type: 'ready'; url: string } | { type: 'email'; ref: number; email: Email } | { type: 'stats'; ref: number };

export type ToServer = { type: 'taken'; ref: number; accepted: boolean } | { type: 'stats'; ref: number; stats: object };

export type ToWorker = { type: 'email'; job: number; email: Email } | { type: 'drain' };

export type FromWorker =
  | { type: 'ready' }
  | ({ type: 'sent'; job: number; attempt: number; ms: number } & WorkerLoad)
  | ({ type: 'retry'; job: number; attempt: number; delayMs: number; error: string } & WorkerLoad)
  | ({ type: 'failed'; job: number; attempt: number; error: string; permanent: boolean } & WorkerLoad)
  /** SIGTERM reached the worker: the primary stops handing it emails and answers "drain". */
  | { type: 'stop-requested' };

let unwritten = 0;
let allWritten: (() => void) | undefined;

/** process.send, typed. The callback keeps a failed send (the primary is gone) from becoming an 'error' event. */
export function toPrimary(message: FromServer | FromWorker): void {
  if (!process.send || !process.connected) return;
  unwritten++;
  process.send(message, undefined, undefined, () => --unwritten === 0 && allWritten?.());
}

/** Exits once every message already sent is written: a report cut off by the exit would make a sent email look lost. */
export function exitWhenWritten(code: number): void {
  if (unwritten === 0) process.exit(code);
  allWritten = () => process.exit(code);
}

/** Children are started by main.ts only: they need the primary on the other end of IPC. */
export function assertChildOfPrimary(file: string): void {
  if (process.send) return;
  process.stderr.write(`${file} is a child of strategies/3-cluster-ipc/main.ts: run that instead (npm run strategy:3)\n`);
  process.exit(2);
}
