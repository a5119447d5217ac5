// The event stream (strategy 6) as the page shows it: the stream's length,
// ends and retention, each consumer group's lag, pending entries and counters,
// its consumers with their idle time - all from EventStream.info() - and the
// newest dead letters with their error, read from <stream>:dead.
//
// Anyone who can write to Redis can append to the stream and to its dead
// letters, so every field of a dead letter is untrusted text here, cut to a
// readable length: one huge entry must not make every poll megabytes long.
//
// Retrying a dead letter appends its event to the stream again, as a new
// entry, and deletes the dead letter. Every group reads it again, not only the
// one that gave up: a stream cannot hand one acknowledged entry back to one
// group, so a counting group counts a retried event twice.
import type { Redis } from 'ioredis';
import type { EventStream, StreamInfo } from '../streams/stream.ts';
import { EntryGone, Refused } from './entries.ts';

const FIELD_CHARS = 1_000;
const FIELDS_SHOWN = 20;

export interface DeadLetter {
  /** Its id in <stream>:dead; its first part is when the group gave up (ms). */
  id: string;
  at: number;
  /** The stream entry the group gave up on. */
  entry: string;
  group: string;
  consumer: string;
  deliveries: number;
  error: string;
  /** The event's fields (each value cut to FIELD_CHARS), or null when the record holds none that can be read. */
  fields: Record<string, string> | null;
  /** How many fields the event has: more than are shown when it is huge. */
  fieldCount: number;
}

const cut = (s: string) => (s.length > FIELD_CHARS ? `${s.slice(0, FIELD_CHARS)}… (${s.length} characters)` : s);

/** The event's fields as the dead letter recorded them (JSON), only when they are an object of strings. */
function eventFields(json: string | undefined): Record<string, string> | null {
  try {
    const value = JSON.parse(json ?? '') as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
    const entries = Object.entries(value);
    return entries.every(([, v]) => typeof v === 'string') ? Object.fromEntries(entries as [string, string][]) : null;
  } catch {
    return null;
  }
}

/** A stream entry's [name, value, ...] as an object; the first of a repeated name counts. */
function record(pairs: string[]): Record<string, string> {
  const r = Object.create(null) as Record<string, string>;
  for (let i = 0; i + 1 < pairs.length; i += 2) r[pairs[i]!] ??= pairs[i + 1]!;
  return r;
}

function describeDeadLetter([id, pairs]: [string, string[]]): DeadLetter {
  const r = record(pairs);
  const fields = eventFields(r.fields);
  const shown = fields && Object.entries(fields).slice(0, FIELDS_SHOWN).map(([name, value]) => [cut(name), cut(value)]);
  return {
    id,
    at: Number(id.split('-')[0]),
    entry: cut(r.entry ?? ''),
    group: cut(r.group ?? ''),
    consumer: cut(r.consumer ?? ''),
    deliveries: Number(r.deliveries) || 0,
    error: cut(r.error ?? ''),
    fields: shown && Object.fromEntries(shown),
    fieldCount: fields ? Object.keys(fields).length : 0,
  };
}

/** The stream and its groups, and the newest `limit` dead letters, newest first. */
export async function readStream(stream: EventStream, redis: Redis, limit: number): Promise<{ stream: StreamInfo; deadLetters: DeadLetter[] }> {
  const [info, dead] = await Promise.all([stream.info(), redis.xrevrange(stream.keys.dead, '+', '-', 'COUNT', limit)]);
  return { stream: info, deadLetters: dead.map(describeDeadLetter) };
}

// KEYS: the stream, its dead letters. ARGV: the dead letter's id, the stream's maxlen, then the event's fields as name, value, ...
// Deleting the dead letter decides who appends: two clicks at once append the event once.
const RETRY_DEAD_LETTER = `
if redis.call('XDEL', KEYS[2], ARGV[1]) == 0 then return false end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))`;

/** Appends a dead letter's event to the stream again and deletes the dead letter; resolves with the new entry's id. */
export async function retryDeadLetter(stream: EventStream, redis: Redis, id: string): Promise<string> {
  const [found] = await redis.xrange(stream.keys.dead, id, id);
  if (!found) throw new EntryGone('this dead letter');
  const fields = eventFields(record(found[1]).fields);
  const count = fields ? Object.keys(fields).length : 0;
  // Lua's unpack takes a few thousand values at most; an event of ours has a handful of fields.
  if (!fields || count === 0 || count > 1_000) throw new Refused(422, 'this dead letter holds no event that can be appended again (no fields, or not name/value strings)');
  const eventId = (await redis.eval(RETRY_DEAD_LETTER, 2, stream.name, stream.keys.dead, id, stream.maxlen, ...Object.entries(fields).flat())) as string | null;
  if (eventId === null) throw new EntryGone('this dead letter');
  return eventId;
}
