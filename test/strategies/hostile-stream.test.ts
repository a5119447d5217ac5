// A hostile stream: anyone who can write to Redis can XADD anything to
// `events:email-requested`. Strategy 6's real consumer processes - one of the
// mailer group, one of signups - on a private Redis and the real sink get
// entries that are not our fields, miss some, carry another event type, a
// header injection, a megabyte of text or ten thousand fields. Each must land
// in <stream>:dead once per group at its first delivery, with an error that
// says what is wrong - never sent, never counted - and a valid event appended
// after them must still be delivered and counted.
// (What the consumer does with a failing entry in general: test/streams/consumer.test.ts.)
import { describe, expect, it } from 'vitest';
import { toEvent } from '../../strategies/6-event-bus/events.ts';
import { startServices } from '../helpers/services.ts';
import { spawnEntry } from '../helpers/spawn.ts';
import { eventually } from '../helpers/wait.ts';
import { deadLetters } from '../streams/dead-letters.ts';

const STREAM = 'events:email-requested';
const CONSUMER = 'strategies/6-event-bus/consumer.ts';
const MB = 1024 * 1024;
const good = (id: string) => toEvent({ id, to: `${id}@example.com`, subject: `subject ${id}`, text: `text ${id}` });

/** [name, the entry's fields, what the error must say]. */
const hostile: [string, Record<string, string>, RegExp][] = [
  ['fields that are not ours', { junk: '1' }, /not an email\.requested event: type must be email\.requested/],
  ['another event type', { ...good('other-type'), type: 'user.deleted' }, /type must be email\.requested, got "user\.deleted"/],
  ['no subject and no text', { type: 'email.requested', id: 'missing', to: 'missing@example.com' }, /subject/],
  ['an id with CR/LF', { ...good('x'), id: 'x\r\nBcc: victim@example.com' }, /id must be/],
  ['a recipient that injects a header', { ...good('inject'), to: 'a@example.com\r\nBcc: victim@example.com' }, /to must not contain control characters/],
  ['an unknown field', { ...good('extra'), bcc: 'victim@example.com' }, /unknown field.*bcc/],
  // A computed key: an own field, as XADD writes it (a literal `__proto__: 'x'` would set the prototype).
  ['a field named __proto__', { ...good('proto'), ['__proto__']: 'x' }, /unknown field.*__proto__/],
  ['1 MB of text', { ...good('huge-text'), text: 'x'.repeat(MB) }, /text is too long: 1048576 characters/],
  ['10,000 fields', { ...good('many'), ...Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`f${i}`, 'v'])) }, /unknown field.*f0, f1, f2, f3, f4;/],
];

const { sink, redis, env } = await startServices({ redis: true });

describe('strategy 6: hostile entries in the stream', () => {
  it('each goes to the dead letters of each group at its first delivery with a clear error, nothing is sent or counted, and a valid event after them is', async () => {
    const groups = ['mailer', 'signups'];
    const consumers = groups.map((group) => spawnEntry(CONSUMER, env({ CONSUMER_GROUP: group, CONSUMER_NAME: `${group}-1`, MAX_ATTEMPTS: '3' })));
    await Promise.all(consumers.map((c) => c.waitForLog((l) => l.msg === 'consumer ready', 30_000, 'consumer ready')));
    const entries = new Map<string, string>();
    for (const [name, fields] of hostile) entries.set((await redis.xadd(STREAM, '*', ...Object.entries(fields).flat()))!, name);
    await redis.xadd(STREAM, '*', ...Object.entries(good('valid-after')).flat());

    await sink.waitFor((s) => s.unique >= 1, 30_000, 'the valid email');
    await eventually(() => redis.xlen(`${STREAM}:dead`), (n) => n >= hostile.length * groups.length, 30_000, 'every dead letter');
    const letters = await deadLetters(redis, STREAM);
    expect(letters).toHaveLength(hostile.length * groups.length);
    for (const [name, , error] of hostile) {
      const theirs = letters.filter((l) => entries.get(l.entry) === name);
      expect(theirs.map((l) => l.group).sort(), `${name}: a dead letter in each group`).toEqual(groups);
      for (const l of theirs) {
        expect(l.deliveries, `${name}: given up at its first delivery`).toBe('1');
        expect(l.error, name).toMatch(error);
        expect(l.error.length, `${name}: the error quotes at most a little of the entry`).toBeLessThan(1000);
        expect(l.fields.length, `${name}: the dead letter copies at most 64 KB of the entry`).toBeLessThan(64 * 1024 + 100);
      }
    }
    expect(Object.fromEntries(sink.deliveries())).toEqual({ 'valid-after': 1 });
    expect(sink.stats()).toMatchObject({ accepted: 1, rejectedTemporary: 0, rejectedPermanent: 0 });
    await eventually(() => redis.hgetall(`${STREAM}:domains:signups`), (h) => h['example.com'] === '1', 10_000, 'the valid event counted');
    expect(await redis.hgetall(`${STREAM}:domains:signups`)).toEqual({ 'example.com': '1' });
    for (const group of groups) {
      expect(await redis.get(`${STREAM}:stat:${group}:dead`), group).toBe(String(hostile.length));
      expect(await redis.xpending(STREAM, group, '-', '+', 100), `${group}: nothing left pending`).toEqual([]);
    }
    for (const c of consumers) expect(c.lines.filter((l) => /^failed: left pending/.test(l.msg ?? ''))).toEqual([]);
    for (const c of consumers) expect(await c.stop('SIGTERM')).toBe(0);
  }, 60_000);
});
