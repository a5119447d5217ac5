// An event stream on Redis Streams, the producer's and the operator's side:
// append an event (XADD, trimmed to a retention), create or move a consumer
// group, and read what every group has done. The stream knows nothing of who
// reads it: each consumer group gets every event, a group created later can
// start from the first retained one, and lag is something to watch.
//
// Keys, all beside the stream itself:
//   <stream>                          the events (XADD; trimmed with MAXLEN ~)
//   <stream>:dead                     dead letters: entries a group gave up on, with the error
//   <stream>:errors:<group>           entry id -> the error of its last failed delivery, until it is done
//   <stream>:stat:<group>:<counter>   processed, dead and trimmed, per group
//   <stream>:appended:<event id>      the entry an event's id was appended as, for a day
import type { Redis } from 'ioredis';
import { perTurn } from '../per-turn.ts';

export const keys = (stream: string) => ({
  stream,
  dead: `${stream}:dead`,
  stat: (group: string, counter: 'processed' | 'dead' | 'trimmed') => `${stream}:stat:${group}:${counter}`,
  errors: (group: string) => `${stream}:errors:${group}`,
  appended: (eventId: string) => `${stream}:appended:${eventId}`,
});

// ioredis sends a command again when the connection drops before its reply
// (a Redis restart, a network cut), though Redis may have run it. These
// scripts make a second run change nothing: no second entry, no count twice.
const SCRIPTS = {
  // KEYS: the stream, then <stream>:appended:<id> of each event. ARGV: maxlen, ms to remember an id, then
  // per event: how many field and value strings follow, then field, value, ... Answers each event's entry id.
  // A second append still writes (the id is remembered longer), so a WAIT after it (ENQUEUE_REPLICAS) covers the first.
  appendOnce: `local entries = {}
local at = 3
for i = 2, #KEYS do
  local n = tonumber(ARGV[at])
  local seen = redis.call('GET', KEYS[i])
  if seen then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
    entries[i - 1] = seen
  else
    local entry = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(ARGV, at + 1, at + n))
    redis.call('SET', KEYS[i], entry, 'PX', ARGV[2])
    entries[i - 1] = entry
  end
  at = at + 1 + n
end
return entries`,
  // KEYS: the stream, the group's processed counter. ARGV: group, entry ids. XACK counts only entries still pending.
  ack: `local acked = redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
if acked > 0 then redis.call('INCRBY', KEYS[2], acked) end`,
  // KEYS: the stream, <stream>:dead, the group's dead counter, the group's errors. ARGV: group, entry id, dead letters kept, then the record's field, value, ...
  deadLetter: `if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
  redis.call('INCR', KEYS[3])
end
redis.call('HDEL', KEYS[4], ARGV[2])`,
};
type Scripted = Redis & Record<keyof typeof SCRIPTS, (...args: (string | number)[]) => Promise<unknown>>;

/** How long an event's id is remembered, so that appending it again appends nothing: a day, like a queued job's status. */
const APPENDED_KEPT_MS = 24 * 60 * 60_000;

/** When Redis cannot tell a group's lag, at most this many entries are counted to tell it. */
const LAG_COUNTED = 10_000;

/** Dead letters are kept for people to read, not forever. */
const DEAD_LETTERS_KEPT = 10_000;
/**
 * Characters of an entry's fields a dead letter copies: all of any email we
 * accept, but not a hostile entry's megabytes once per group, 10,000 times.
 * The entry itself stays in the stream until trimmed.
 */
const FIELDS_KEPT = 64 * 1024;

function fieldsExcerpt(fields: Record<string, string> | null): string {
  const json = JSON.stringify(fields ?? {});
  if (json.length <= FIELDS_KEPT) return json;
  // Still JSON, so the dashboard can show it: the first 20 fields, each cut to 2,000 characters.
  const cut = (text: string) => (text.length <= 2_000 ? text : `${text.slice(0, 2_000)}... (${text.length} characters)`);
  return JSON.stringify(Object.fromEntries(Object.entries(fields ?? {}).slice(0, 20).map(([name, value]) => [cut(name), cut(value)])));
}

export interface GroupInfo {
  name: string;
  consumers: { name: string; pending: number; idleMs: number }[];
  /** Delivered to a consumer, not yet acknowledged. */
  pending: number;
  /** Appended and not yet delivered to this group. */
  lag: number;
  lastDeliveredId: string;
  processed: number;
  dead: number;
  /** Entries this group had read but not acknowledged when trimming removed them: lost to it. */
  trimmed: number;
}

export interface StreamInfo {
  stream: string;
  length: number;
  firstId: string | null;
  lastId: string | null;
  maxlen: number;
  groups: GroupInfo[];
  deadLetters: number;
}

/** XINFO's flat [name, value, name, value, ...] replies as an object. */
function record(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}

export class EventStream {
  readonly keys: ReturnType<typeof keys>;

  constructor(
    private readonly redis: Redis,
    readonly name: string,
    /** Events kept; each append trims the oldest beyond this (approximately, which is far cheaper). */
    readonly maxlen: number,
  ) {
    this.keys = keys(name);
    // appendOnce takes a key per event: its calls pass the number of keys first.
    const numberOfKeys: Record<keyof typeof SCRIPTS, number | undefined> = { appendOnce: undefined, ack: 2, deadLetter: 4 };
    for (const [command, lua] of Object.entries(SCRIPTS)) redis.defineCommand(command, { numberOfKeys: numberOfKeys[command as keyof typeof SCRIPTS], lua });
  }

  private get scripts(): Scripted {
    return this.redis as Scripted;
  }

  /**
   * Appends one event; resolves with its entry id once Redis has it. An event
   * with an `id` field is appended once per id: again within a day (a client
   * retrying, a command resent after a dropped connection) it answers the
   * first entry's id. Such events appended in one turn of the event loop go
   * to Redis in one script call, in order, as the queue's enqueues do.
   */
  async append(fields: Record<string, string>): Promise<string> {
    const pairs = Object.entries(fields).flat();
    if (fields.id === undefined) return (await this.redis.xadd(this.name, 'MAXLEN', '~', this.maxlen, '*', ...pairs))!;
    return this.appendById({ id: fields.id, pairs });
  }

  /** The events with an id appended in one turn, in one script call (shared/per-turn.ts). */
  private readonly appendById = perTurn((events: { id: string; pairs: string[] }[]) => {
    const keys = [this.name, ...events.map((e) => this.keys.appended(e.id))];
    return this.scripts.appendOnce(keys.length, ...keys, this.maxlen, APPENDED_KEPT_MS, ...events.flatMap((e) => [e.pairs.length, ...e.pairs])) as Promise<string[]>;
  });

  /** Acknowledges handled entries and counts them in the group's processed, each once however often it is asked. */
  async ack(group: string, entryIds: string[]): Promise<void> {
    if (entryIds.length > 0) await this.scripts.ack(this.name, this.keys.stat(group, 'processed'), group, ...entryIds);
  }

  /**
   * Creates `group` reading from `start` (0: every retained event; $: only new
   * ones) unless it exists; `reset` moves an existing group there instead, to
   * replay. Resolves true when the group was created.
   */
  async ensureGroup(group: string, start: string, reset = false): Promise<boolean> {
    try {
      await this.redis.xgroup('CREATE', this.name, group, start, 'MKSTREAM');
      return true;
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
      if (reset) await this.redis.xgroup('SETID', this.name, group, start);
      return false;
    }
  }

  /** Acknowledges an entry given up on, records it in <stream>:dead with its error and counts it: one script, once per entry. */
  async deadLetter(group: string, entry: { id: string; fields: Record<string, string> | null }, consumer: string, deliveries: number, error: string): Promise<void> {
    const record = ['entry', entry.id, 'group', group, 'consumer', consumer, 'deliveries', String(deliveries), 'error', error, 'fields', fieldsExcerpt(entry.fields)];
    await this.scripts.deadLetter(this.name, this.keys.dead, this.keys.stat(group, 'dead'), this.keys.errors(group), group, entry.id, DEAD_LETTERS_KEPT, ...record);
  }

  /**
   * Why a delivery failed, kept in Redis until the entry is done: whichever
   * consumer gives up on it later - its own, or one that claimed it from a
   * dead one - can say what went wrong, not only how often.
   */
  async recordFailure(group: string, entryId: string, error: string): Promise<void> {
    await this.redis.hset(this.keys.errors(group), entryId, error);
  }

  async lastFailure(group: string, entryId: string): Promise<string | null> {
    return this.redis.hget(this.keys.errors(group), entryId);
  }

  /** A failed entry done after all (deleted entries too): nothing more to say about it. */
  async forgetFailures(group: string, entryIds: string[]): Promise<void> {
    if (entryIds.length > 0) await this.redis.hdel(this.keys.errors(group), ...entryIds);
  }

  /** Length, ends, and each group with its consumers, lag, pending and counters. */
  async info(): Promise<StreamInfo> {
    const length = await this.redis.xlen(this.name);
    const deadLetters = await this.redis.xlen(this.keys.dead);
    if (length === 0 && !(await this.redis.exists(this.name))) {
      return { stream: this.name, length: 0, firstId: null, lastId: null, maxlen: this.maxlen, groups: [], deadLetters };
    }
    const [first] = await this.redis.xrange(this.name, '-', '+', 'COUNT', 1);
    const [last] = await this.redis.xrevrange(this.name, '+', '-', 'COUNT', 1);
    const groups = await Promise.all(((await this.redis.xinfo('GROUPS', this.name)) as unknown[][]).map((flat) => this.groupInfo(record(flat))));
    return { stream: this.name, length, firstId: first?.[0] ?? null, lastId: last?.[0] ?? null, maxlen: this.maxlen, groups, deadLetters };
  }

  private async groupInfo(g: Record<string, unknown>): Promise<GroupInfo> {
    const name = String(g.name);
    const consumers = ((await this.redis.xinfo('CONSUMERS', this.name, name)) as unknown[][]).map(record);
    const [processed, dead, trimmed] = await this.redis.mget(this.keys.stat(name, 'processed'), this.keys.stat(name, 'dead'), this.keys.stat(name, 'trimmed'));
    const lastDeliveredId = String(g['last-delivered-id']);
    // Redis cannot always tell the lag (after XDEL, or a group moved by hand): then count what lies past the group's position.
    // Bounded, since /stats and the dashboard ask often: past LAG_COUNTED it reads as that many.
    const lag = typeof g.lag === 'number' ? g.lag : (await this.redis.xrange(this.name, `(${lastDeliveredId}`, '+', 'COUNT', LAG_COUNTED)).length;
    return {
      name,
      consumers: consumers.map((c) => ({ name: String(c.name), pending: Number(c.pending), idleMs: Number(c.idle) })),
      pending: Number(g.pending),
      lag,
      lastDeliveredId,
      processed: Number(processed ?? 0),
      dead: Number(dead ?? 0),
      trimmed: Number(trimmed ?? 0),
    };
  }
}
