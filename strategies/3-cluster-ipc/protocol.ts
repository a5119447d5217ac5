// What strategy 3's processes say to each other over IPC, in one place. The
// primary sits in the middle: the server and the worker never talk to each
// other. IPC serialises to JSON, so messages are plain data. Children send
// with toSupervisor (shared/supervisor.ts).
//
//   server -> primary   email (answered by `taken`), stats
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

export type FromServer = { type: 'email'; ref: number; email: Email } | { type: 'stats'; ref: number };

export type ToServer = { type: 'taken'; ref: number; accepted: boolean } | { type: 'stats'; ref: number; stats: object };

export type ToWorker = { type: 'email'; job: number; email: Email } | { type: 'drain' };

export type FromWorker =
  | { type: 'ready' }
  | ({ type: 'sent'; job: number; attempt: number; ms: number } & WorkerLoad)
  | ({ type: 'retry'; job: number; attempt: number; delayMs: number; error: string } & WorkerLoad)
  | ({ type: 'failed'; job: number; attempt: number; error: string; permanent: boolean } & WorkerLoad)
  /** SIGTERM reached the worker: the primary stops handing it emails and answers "drain". */
  | { type: 'stop-requested' };
