// The sink is the referee of every other test and of the benchmark, so it is
// tested over real SMTP with the real mailer.
import { afterEach, describe, expect, it } from 'vitest';
import type { Email } from '../../shared/email.ts';
import { createMailer, idempotencyKey, isPermanentFailure, MailerConfigError, type Mailer } from '../../shared/mailer.ts';
import { serveSinkStats, startSink, type Sink } from '../../shared/smtp-sink.ts';
import { eventually } from '../helpers/wait.ts';

const email = (id: string, to = 'someone@example.com'): Email => ({ id, to, subject: `subject ${id}`, text: `text ${id}` });

let sink: Sink | undefined;
let mailer: Mailer | undefined;
afterEach(async () => {
  mailer?.close();
  await sink?.close();
  sink = mailer = undefined;
});

async function setUp(options: Parameters<typeof startSink>[0] = {}, pool = false, idempotencyHeader?: string) {
  sink = await startSink(options);
  mailer = createMailer({ smtpUrl: sink.url, from: 'jobs@background-jobs.test', timeoutMs: 10_000, pool, idempotencyHeader });
  return { sink, mailer };
}

describe('the SMTP sink', () => {
  it('counts deliveries per tracking id, read from the message header', async () => {
    const { sink, mailer } = await setUp();
    await mailer.send(email('a'));
    await mailer.send(email('b'));
    await mailer.send(email('a'));
    expect(sink.stats()).toMatchObject({ accepted: 3, unique: 2, duplicates: 1, untracked: 0 });
    expect(Object.fromEntries(sink.deliveries())).toEqual({ a: 2, b: 1 });
    expect(sink.history('b')[0]).toMatchObject({ id: 'b', to: ['someone@example.com'], subject: 'subject b', outcome: 'accept', attempt: 1 });
  });

  it('reads the subject as sent: non-ASCII and folded across lines', async () => {
    const { sink, mailer } = await setUp();
    const subject = `Grüße 😀 ${'a long subject '.repeat(12)}`.trim();
    await mailer.send({ ...email('unicode'), subject });
    expect(sink.history('unicode')[0]).toMatchObject({ id: 'unicode', subject, outcome: 'accept' });
  });

  it('refuses a message over its size limit with 552 and does not count it', async () => {
    const { sink, mailer } = await setUp();
    const err = await mailer.send({ ...email('big'), text: 'x'.repeat(1_100_000) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ responseCode: 552 });
    expect(sink.stats()).toMatchObject({ accepted: 0, unique: 0 });
    await mailer.send(email('after'));
    expect(sink.stats()).toMatchObject({ accepted: 1, unique: 1 });
  });

  it('holds each message for the configured latency before accepting', async () => {
    const { sink, mailer } = await setUp({ latencyMs: 300 });
    const started = Date.now();
    await mailer.send(email('slow'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(sink.stats().accepted).toBe(1);
  });

  it('answers 451 for a temporary failure and 550 for a permanent one, and counts neither as delivered', async () => {
    const { sink, mailer } = await setUp({ decide: ({ id }) => (id === 'temp' ? 'temp' : id === 'perm' ? 'perm' : undefined) });
    const temp = await mailer.send(email('temp')).catch((err: unknown) => err);
    const perm = await mailer.send(email('perm')).catch((err: unknown) => err);
    expect(temp).toMatchObject({ responseCode: 451 });
    expect(perm).toMatchObject({ responseCode: 550 });
    expect(isPermanentFailure(temp)).toBe(false);
    expect(isPermanentFailure(perm)).toBe(true);
    expect(sink.stats()).toMatchObject({ accepted: 0, unique: 0, rejectedTemporary: 1, rejectedPermanent: 1 });
    expect(sink.history('temp').map((a) => a.outcome)).toEqual(['temp']);
  });

  it('failure rates decide each message with the given random source: 550, 451, then accepted', async () => {
    const rolls = [0.05, 0.15, 0.5];
    const { sink, mailer } = await setUp({ permFailRate: 0.1, tempFailRate: 0.1, random: () => rolls.shift() ?? 0.99 });
    const outcomes = [];
    for (const id of ['p', 't', 'ok']) outcomes.push(await mailer.send(email(id)).then(() => 250, (err: { responseCode: number }) => err.responseCode));
    expect(outcomes).toEqual([550, 451, 250]);
    expect(sink.stats()).toMatchObject({ accepted: 1, rejectedTemporary: 1, rejectedPermanent: 1 });
  });

  it('a wait on the sink ends at the message that makes its condition true, or times out quoting the stats', async () => {
    const { sink, mailer } = await setUp({}, true);
    const waiting = sink.waitFor((s) => s.unique === 5, 10_000, '5 ids');
    await Promise.all(['1', '2', '3', '4', '5'].map((id) => mailer.send(email(id))));
    await waiting;
    await expect(sink.waitFor((s) => s.unique === 6, 200, '6 ids')).rejects.toThrow(/timed out after 200 ms waiting for 6 ids.*"unique":5/);
  });

  it('an outage (pause) on the same port: pooled and new connections fail as temporary, a message cut off is not counted, resume() serves again', async () => {
    const { sink, mailer } = await setUp({ latencyMs: 0 }, true);
    await mailer.send(email('before'));
    sink.configure({ latencyMs: 300 });
    const cutOff = mailer.send(email('cut-off')).catch((e: unknown) => e);
    await eventually(() => sink.stats().inProgress, (n) => n === 1, 5000, 'the message waiting out its latency');
    await sink.pause();
    expect(sink.stats().paused).toBe(true);
    const cut = await cutOff;
    expect(cut).toBeInstanceOf(Error);
    expect(isPermanentFailure(cut)).toBe(false);
    const refused = await mailer.send(email('while-down')).catch((e: unknown) => e);
    expect(String((refused as Error).message)).toMatch(/ECONNREFUSED/);
    expect(isPermanentFailure(refused)).toBe(false);
    sink.configure({ latencyMs: 0 });
    await sink.resume();
    expect(sink.stats().paused).toBe(false);
    await mailer.send(email('after'));
    // cut-off's reply never went out: not a delivery (the sender will try again).
    expect(Object.fromEntries(sink.deliveries())).toEqual({ before: 1, after: 1 });
    expect(sink.url.port).toBe(String(sink.port));
  });

  it('serves its counts over HTTP for other processes', async () => {
    const { sink, mailer } = await setUp();
    const http = await serveSinkStats(sink, 0, '127.0.0.1');
    try {
      await mailer.send(email('over-http'));
      const stats = (await (await fetch(`${http.url}/stats`)).json()) as Record<string, unknown>;
      expect(stats).toMatchObject({ accepted: 1, unique: 1 });
      expect(await (await fetch(`${http.url}/deliveries`)).json()).toEqual({ 'over-http': 1 });
      await fetch(`${http.url}/reset`, { method: 'POST' });
      expect(sink.stats().accepted).toBe(0);
    } finally {
      await http.close();
    }
  });
});

describe('the sink honours idempotency keys when asked (SINK_IDEMPOTENCY=on)', () => {
  const DAY = 24 * 60 * 60_000;
  let clock = 0;
  const withKeys = (idempotencyWindowMs = DAY) => setUp({ idempotency: true, idempotencyWindowMs, now: () => clock });

  it('a key accepted within the window: 250 again, not delivered again, counted as suppressed and not as a duplicate', async () => {
    const { sink, mailer } = await withKeys();
    const first = await mailer.send(email('reset-1'));
    clock += DAY - 1;
    const again = await mailer.send(email('reset-1'));
    expect(first.response).toMatch(/^250/);
    expect(again.response).toMatch(/^250/);
    expect(sink.stats()).toMatchObject({ accepted: 1, unique: 1, duplicates: 0, suppressed: 1, idempotency: true });
    expect(Object.fromEntries(sink.deliveries())).toEqual({ 'reset-1': 1 });
    expect(sink.history('reset-1').map((a) => [a.outcome, a.attempt])).toEqual([['accept', 1], ['suppressed', 2]]);
  });

  it('after the window the same key is delivered again', async () => {
    const { sink, mailer } = await withKeys(60_000);
    await mailer.send(email('late'));
    clock += 60_000;
    await mailer.send(email('late'));
    expect(sink.stats()).toMatchObject({ accepted: 2, duplicates: 1, suppressed: 0 });
  });

  it('different keys are both delivered: other ids, and the same id reused for a different email', async () => {
    const { sink, mailer } = await withKeys();
    await mailer.send(email('a'));
    await mailer.send(email('b'));
    await mailer.send({ ...email('a'), text: 'a new reset link' });
    expect(sink.stats()).toMatchObject({ accepted: 3, unique: 2, duplicates: 1, suppressed: 0 });
  });

  it('a refused message leaves no key behind: its retry is delivered', async () => {
    const { sink, mailer } = await setUp({ idempotency: true, decide: ({ attempt }) => (attempt === 1 ? 'temp' : undefined) });
    await expect(mailer.send(email('retried'))).rejects.toMatchObject({ responseCode: 451 });
    await mailer.send(email('retried'));
    await mailer.send(email('retried'));
    expect(sink.history('retried').map((a) => a.outcome)).toEqual(['temp', 'accept', 'suppressed']);
  });

  it('off (the default), and on but forgotten by reset(), every message is delivered', async () => {
    const { sink, mailer } = await setUp();
    await mailer.send(email('x'));
    await mailer.send(email('x'));
    expect(sink.stats()).toMatchObject({ accepted: 2, duplicates: 1, suppressed: 0, idempotency: false });
    sink.configure({ idempotency: true });
    sink.reset();
    await mailer.send(email('x'));
    sink.reset();
    await mailer.send(email('x'));
    expect(sink.stats()).toMatchObject({ accepted: 1, suppressed: 0 });
  });
});

describe('the mailer', () => {
  it('sends every email with an idempotency key from its tracking id, the same for the same email, in Resend-Idempotency-Key', async () => {
    const { sink, mailer } = await setUp();
    await mailer.send(email('key-1'));
    await mailer.send(email('key-1'));
    const keys = sink.history('key-1').map((a) => a.key);
    expect(keys).toEqual([idempotencyKey(email('key-1')), idempotencyKey(email('key-1'))]);
    expect(keys[0]).toMatch(/^key-1\.[0-9a-f]{16}$/);
  });

  it('the key is a plain header value for any id: an id outside the rule is hashed, the longest one fits', () => {
    expect(idempotencyKey(email('x'.repeat(128))).length).toBeLessThanOrEqual(145);
    const odd = idempotencyKey(email('two\r\nBcc: someone@evil.example'));
    expect(odd).toMatch(/^id-[0-9a-f]{32}\.[0-9a-f]{16}$/);
    expect(idempotencyKey({ ...email('a'), subject: 'other' })).not.toBe(idempotencyKey(email('a')));
  });

  it('writes the key into the header it is told to, or sends none when that is empty', async () => {
    const { sink, mailer } = await setUp({ idempotencyHeader: 'Idempotency-Key' }, false, 'Idempotency-Key');
    await mailer.send(email('custom'));
    expect(sink.history('custom')[0]!.key).toBe(idempotencyKey(email('custom')));
    mailer.close();
    const none = createMailer({ smtpUrl: sink.url, from: 'jobs@background-jobs.test', timeoutMs: 10_000, idempotencyHeader: '' });
    try {
      await none.send(email('no-key'));
      expect(sink.history('no-key')[0]!.key).toBeUndefined();
    } finally {
      none.close();
    }
  });


  it('refuses to be pointed anywhere but a loopback SMTP host unless told to', () => {
    const options = { from: 'jobs@background-jobs.test', timeoutMs: 1000 };
    expect(() => createMailer({ ...options, smtpUrl: new URL('smtp://smtp.gmail.com:587') })).toThrow(MailerConfigError);
    expect(() => createMailer({ ...options, smtpUrl: new URL('smtp://smtp.gmail.com:587') })).toThrow(/SMTP_ALLOW_REMOTE/);
    expect(() => createMailer({ ...options, smtpUrl: new URL('smtp://smtp.example.com:25'), allowRemote: true }).close()).not.toThrow();
  });

  it('gives up after its timeout when the server is too slow', async () => {
    sink = await startSink({ latencyMs: 5_000 });
    mailer = createMailer({ smtpUrl: sink.url, from: 'jobs@background-jobs.test', timeoutMs: 300 });
    const started = Date.now();
    const err = await mailer.send(email('too-slow')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(isPermanentFailure(err)).toBe(false);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('a refused connection counts as a temporary failure', async () => {
    sink = await startSink();
    const url = sink.url;
    await sink.close();
    sink = undefined;
    mailer = createMailer({ smtpUrl: url, from: 'jobs@background-jobs.test', timeoutMs: 2000 });
    const err = await mailer.send(email('nobody-home')).catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/ECONNREFUSED/);
    expect(isPermanentFailure(err)).toBe(false);
  });
});
