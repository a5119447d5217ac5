// How the page names one entry of a Redis list (a failed record, a delayed
// payload) when it asks to act on it. resque removes an entry by its exact
// string (LREM), so the server must find that exact string again; the page
// sends back a short hash of it and its position when it was listed. A list
// that moved in between (another retry, the scheduler) is searched; an entry
// that is gone is a 409, never a different job acted on by mistake.
import { createHash } from 'node:crypto';
import { decodePayload } from '../queue/job.ts';

export function entryId(raw: string): string {
  return createHash('sha1').update(raw).digest('hex').slice(0, 16);
}

/** What a person needs to recognise a job, from a payload string that may be anything. */
export interface JobSummary {
  class: string;
  queue: string;
  args: unknown[];
  id: string | null;
  attempt: number;
  enqueuedAt: number | null;
  /** Why the payload cannot run, when it cannot (not JSON, no class). */
  problem: string | null;
}

export function summarise(payload: string, fallbackQueue = ''): JobSummary {
  const { job, error } = decodePayload(payload, fallbackQueue);
  let queue = fallbackQueue;
  try {
    const q = (JSON.parse(payload) as { queue?: unknown }).queue;
    if (typeof q === 'string' && q !== '') queue = q;
  } catch {
    // not JSON: decodePayload has already said so in `error`
  }
  return {
    class: job.class,
    queue,
    args: job.args,
    id: job.id ?? null,
    attempt: job.attempt,
    enqueuedAt: job.enqueuedAt ?? null,
    problem: error ? error.message : null,
  };
}

/** An action the page asked for that cannot be done; the API answers with its status and message. */
export class Refused extends Error {
  override name = 'Refused';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class EntryGone extends Refused {
  override name = 'EntryGone';
  constructor(what: string) {
    super(409, `${what} is no longer there (it was retried, removed or moved meanwhile); the page will refresh`);
  }
}
