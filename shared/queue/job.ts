// A job as the worker sees it, and the JSON it travels as. The payload is
// resque's {"class","queue","args"} with our extra fields after them (plain
// resque readers ignore fields they do not know):
//   id           job id (the email's tracking id for sendEmail)
//   enqueued_at  ms since the epoch, for queue latency
//   attempt      which attempt the next run is (absent = 1)
// Key order matters in resque (a job is removed with LREM of its exact JSON),
// so payloads are always built here, in this order, and acknowledged with the
// exact string that was reserved - never re-encoded.
import { randomBytes } from 'node:crypto';
import { defaults } from './defaults.ts';

export interface Job {
  id: string | undefined;
  class: string;
  queue: string;
  args: unknown[];
  /** 1 on the first run. */
  attempt: number;
  enqueuedAt: number | undefined;
  /** The exact string reserved: what ack, retry and fail remove from the processing list. */
  payload: string;
}

export class InvalidPayloadError extends Error {
  override name = 'InvalidPayloadError';
}
export class UnknownJobError extends Error {
  override name = 'UnknownJobError';
}

/**
 * A new job id: 128 random bits in base 36, 25 characters of [0-9a-z] (a URL
 * path segment as it is). A waiting job holds its id twice, in its payload and
 * its status, so each character fewer than a UUID's 36 is saved twice over in
 * Redis memory.
 */
export function newJobId(): string {
  return BigInt(`0x${randomBytes(16).toString('hex')}`).toString(36).padStart(25, '0');
}

/** Throws unless `queue` can name a queue: the compact status of a waiting job is split on "|". */
export function checkQueueName(queue: string): void {
  if (queue === '' || queue.includes('|')) throw new TypeError(`a queue name must be non-empty and without "|", got ${JSON.stringify(queue)}`);
}

export function encodePayload(queue: string, className: string, args: unknown[], id: string, enqueuedAt: number): string {
  return JSON.stringify({ class: className, queue, args, id, enqueued_at: enqueuedAt });
}

/** Reads a reserved payload. Never throws: a bad one becomes a Job plus the error that fails it. */
export function decodePayload(payload: string, queue: string): { job: Job; error?: InvalidPayloadError } {
  const job: Job = { id: undefined, class: '', queue, args: [], attempt: 1, enqueuedAt: undefined, payload };
  let data: unknown;
  try {
    data = JSON.parse(payload);
  } catch (err) {
    return { job, error: new InvalidPayloadError(`payload is not valid JSON (${(err as Error).message}): ${payload.slice(0, 200)}`) };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { job, error: new InvalidPayloadError(`payload is not a JSON object: ${payload.slice(0, 200)}`) };
  }
  const d = data as Record<string, unknown>;
  if (typeof d.id === 'string') job.id = d.id;
  if (typeof d.enqueued_at === 'number') job.enqueuedAt = d.enqueued_at;
  if (typeof d.attempt === 'number' && Number.isSafeInteger(d.attempt) && d.attempt > 0) job.attempt = d.attempt;
  if (d.class === undefined) return { job, error: new InvalidPayloadError(`payload has no "class": ${payload.slice(0, 200)}`) };
  if (typeof d.class !== 'string' || d.class === '') {
    return { job, error: new InvalidPayloadError(`payload's "class" must be a non-empty string naming the job, got ${JSON.stringify(d.class).slice(0, 80)}`) };
  }
  // A missing args is no arguments. Anything else must be an array, as every
  // resque client writes it: a lone object is refused rather than guessed at.
  if (d.args !== undefined && !Array.isArray(d.args)) {
    return { job, error: new InvalidPayloadError(`payload's "args" must be an array, got ${d.args === null ? 'null' : typeof d.args}: ${payload.slice(0, 200)}`) };
  }
  job.args = (d.args as unknown[] | undefined) ?? [];
  if (job.args.length > defaults.maxArgs) {
    return { job, error: new InvalidPayloadError(`payload has ${job.args.length} args, more than a job may take (${defaults.maxArgs}): ${payload.slice(0, 200)}`) };
  }
  job.class = d.class;
  return { job };
}

/** The payload of the next attempt: the same JSON with `attempt` raised (order kept). */
export function nextAttemptPayload(job: Job): string {
  const data = JSON.parse(job.payload) as Record<string, unknown>;
  data.attempt = job.attempt + 1;
  return JSON.stringify(data);
}

/** Exponential backoff with "equal jitter": half the delay fixed, half random, so retries of a burst spread out. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const full = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(full / 2 + (random() * full) / 2);
}

export interface FailureRecord {
  worker: string;
  queue: string;
  /** The job as parsed; the raw string when it was not JSON. */
  payload: unknown;
  exception: string;
  error: string;
  backtrace: string[];
  failed_at: string;
}

/** node-resque's failure shape, key for key, so its Queue#failed/removeFailed work on our records. */
export function failureRecord(worker: string, job: Job, err: Error): FailureRecord {
  let payload: unknown = job.payload;
  try {
    payload = JSON.parse(job.payload);
  } catch {
    // not JSON: keep the raw string so a person can see what arrived
  }
  return {
    worker,
    queue: job.queue,
    payload,
    exception: err.name || 'Error',
    error: err.message,
    backtrace: err.stack ? err.stack.split('\n').slice(1).map((l) => l.trim()) : [],
    failed_at: new Date().toString(),
  };
}
