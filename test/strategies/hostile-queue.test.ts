// A hostile queue: anyone who can write to Redis can push any string onto
// `resque:queue:emailQueue`. The real worker processes of strategies 4 and 5,
// on a private Redis and the real sink, get payloads that are not JSON, have
// the wrong shape, name unknown classes, carry an invalid email or 5 MB of
// arguments. Each must land in resque's failed list at its first attempt with
// an error that says what is wrong - never sent, never retried - and a valid
// email pushed after them must still be delivered.
// (The queue library's own poison tests are in test/queue/worker.test.ts.)
import { describe, expect, it } from 'vitest';
import { Queue, type FailureRecord } from '../../shared/queue/index.ts';
import { startServices } from '../helpers/services.ts';
import { spawnEntry } from '../helpers/spawn.ts';
import { eventually } from '../helpers/wait.ts';

const QUEUE = 'emailQueue';
const HUGE = 5 * 1024 * 1024;
const good = (id: string) => ({ id, to: `${id}@example.com`, subject: `subject ${id}`, text: `text ${id}` });
const job = (fields: Record<string, unknown>) => JSON.stringify({ class: 'sendEmail', queue: QUEUE, ...fields });

/** [name, the raw payload, the exception, what the error must say]. */
const hostile: [string, string, string, RegExp][] = [
  ['not JSON', '{"class":"sendEmail","args":[', 'InvalidPayloadError', /not valid JSON/],
  ['a JSON array', JSON.stringify(['sendEmail', good('array')]), 'InvalidPayloadError', /not a JSON object/],
  ['a JSON number', '42', 'InvalidPayloadError', /not a JSON object/],
  ['a JSON string', JSON.stringify('sendEmail'), 'InvalidPayloadError', /not a JSON object/],
  ['no class', JSON.stringify({ queue: QUEUE, args: [good('no-class')] }), 'InvalidPayloadError', /"class"/],
  ['a class that is not a string', JSON.stringify({ class: 42, queue: QUEUE, args: [good('class-42')] }), 'InvalidPayloadError', /"class" must be a non-empty string/],
  ['an unknown class', JSON.stringify({ class: 'sendSpam', queue: QUEUE, args: [good('spam')] }), 'UnknownJobError', /no job named "sendSpam"/],
  ['args that are an object, not an array', job({ args: good('args-object') }), 'InvalidPayloadError', /"args" must be an array/],
  ['args that are a string', job({ args: 'hello' }), 'InvalidPayloadError', /"args" must be an array/],
  ['no argument at all', job({ args: [] }), 'Error', /exactly one argument/],
  ['two arguments', job({ args: [good('two-1'), good('two-2')] }), 'Error', /exactly one argument/],
  ['null as the email', job({ args: [null] }), 'Error', /must be an object/],
  ['a string as the email', job({ args: ['someone@example.com'] }), 'Error', /must be an object/],
  ['an email without an id', job({ args: [{ to: 'a@example.com', subject: 's', text: 't' }] }), 'Error', /id must be/],
  ['an id that injects a header', job({ args: [{ ...good('x'), id: 'x\r\nBcc: victim@example.com' }] }), 'Error', /id must be/],
  ['a recipient that injects a header', job({ args: [{ ...good('inject'), to: 'a@example.com\r\nBcc: victim@example.com' }] }), 'Error', /to must not contain control characters/],
  ['two recipients', job({ args: [{ ...good('two-rcpt'), to: 'a@example.com, b@example.com' }] }), 'Error', /exactly one email address/],
  ['a subject that is a number', job({ args: [{ ...good('subject-number'), subject: 7 }] }), 'Error', /subject must be a string/],
  ['an unknown field in the email', job({ args: [{ ...good('extra'), bcc: 'victim@example.com' }] }), 'Error', /unknown field.*bcc/],
  ['5 MB of text', job({ args: [{ ...good('huge-text'), text: 'x'.repeat(HUGE) }] }), 'Error', /text is too long: 5242880 characters/],
  ['5 MB in an extra field', job({ args: [{ ...good('huge-field'), junk: 'x'.repeat(HUGE) }] }), 'Error', /unknown field.*junk/],
  ['5 MB of arguments', job({ args: [good('huge-args'), ...Array.from({ length: 100_000 }, () => 'x'.repeat(50))] }), 'InvalidPayloadError', /payload has 100001 args, more than a job may take \(1000\)/],
];

const { sink, redis, env } = await startServices({ redis: true });
const queue = new Queue({ redis });

describe.each([
  ['4-redis-queue', 'strategies/4-redis-queue/worker.ts', 'worker ready'],
  ['5-multi-worker', 'strategies/5-multi-worker/worker.ts', 'multiWorker ready'],
])('strategy %s: hostile payloads in Redis', (_name, entry, ready) => {
  it('each goes to resque:failed at its first attempt with a clear error, nothing is sent, and a valid email after them is delivered', async () => {
    // Retries allowed and quick: a payload that was retried instead of failed at once would show as a second attempt.
    const worker = spawnEntry(entry, env({ MAX_ATTEMPTS: '3', RETRY_BASE_MS: '100' }));
    await worker.waitForLog((l) => l.msg === ready, 30_000, `"${ready}"`);
    for (const [, payload] of hostile) await redis.rpush(`resque:queue:${QUEUE}`, payload);
    await queue.enqueue(QUEUE, 'sendEmail', [good('valid-after')], { id: 'valid-after' });

    await sink.waitFor((s) => s.unique >= 1, 60_000, 'the valid email');
    const failed = await eventually(() => queue.failed(), (f) => f.length >= hostile.length, 60_000, `${hostile.length} failed records`);
    expect(failed).toHaveLength(hostile.length);

    // Which record is which: the payload pushed, as parsed (the raw string when it was not JSON).
    const isFrom = (r: FailureRecord, payload: string) => r.payload === payload || JSON.stringify(r.payload) === payload;
    for (const [name, payload, exception, error] of hostile) {
      const record = failed.find((r) => isFrom(r, payload));
      expect(record, `${name}: a failed record with the payload as pushed (so never retried: a retry raises "attempt")`).toBeDefined();
      expect(record!.queue, name).toBe(QUEUE);
      expect(record!.exception, name).toBe(exception);
      expect(record!.error, name).toMatch(error);
      expect(record!.error.length, `${name}: the error quotes at most a little of the payload`).toBeLessThan(1000);
    }
    expect(Object.fromEntries(sink.deliveries())).toEqual({ 'valid-after': 1 });
    expect(sink.stats()).toMatchObject({ accepted: 1, rejectedTemporary: 0, rejectedPermanent: 0 });
    expect(await redis.get('resque:stat:failed')).toBe(String(hostile.length));
    expect(await queue.status('valid-after')).toMatchObject({ state: 'succeeded', attempts: 1 });
    expect(worker.lines.filter((l) => /retry in/.test(l.msg ?? ''))).toEqual([]);
    expect(await worker.stop('SIGTERM')).toBe(0);
  }, 120_000);
});
