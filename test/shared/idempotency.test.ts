// At least once, delivered once: a real strategy-4 worker is SIGKILLed while
// the sink holds its email before the 250. The sink keeps the message (as a
// provider would: the end of the data was in), the worker never heard, and the
// job is recovered and sent again. Whether the inbox gets it twice is up to the
// provider: the same idempotency key both times, honoured or not.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config.ts';
import { EMAIL_QUEUE, SEND_EMAIL, type Email } from '../../shared/email.ts';
import { idempotencyKey } from '../../shared/mailer.ts';
import { Queue } from '../../shared/queue/index.ts';
import { sinkOptionsFromConfig } from '../../shared/smtp-sink.ts';
import { startServices } from '../helpers/services.ts';
import { spawnEntry } from '../helpers/spawn.ts';
import { eventually } from '../helpers/wait.ts';

const WORKER = 'strategies/4-redis-queue/worker.ts';
const { sink, redis, env } = await startServices({ redis: true });
const queue = new Queue({ redis });

async function killMidSendThenRecover(id: string) {
  const email: Email = { id, to: 'reader@example.com', subject: 'Reset your password', text: 'https://example.com/reset/abc' };
  sink.configure({ latencyMs: 1_500 });
  await queue.enqueue(EMAIL_QUEUE, SEND_EMAIL, [email], { id });
  const victim = spawnEntry(WORKER, env());
  await eventually(() => sink.stats().inProgress, (n) => n === 1, 20_000, 'the sink to hold the email before its 250');
  expect(await victim.stop('SIGKILL')).toBe('SIGKILL');
  await sink.waitFor((s) => s.accepted + s.suppressed === 1, 5_000, 'the held email to be taken in');

  // A second worker: its scheduler takes the lead and hands the dead worker's job back; it sends it again.
  const rescuer = spawnEntry(WORKER, env());
  const recovered = await rescuer.waitForLog((l) => /^recovered/.test(l.msg ?? ''), 30_000, 'the recovery line');
  expect(recovered).toMatchObject({ jobs: 1, worker: expect.stringMatching(new RegExp(`:${victim.pid}-`)) });
  await sink.waitFor((_, s) => s.history(id).length === 2, 20_000, 'the second offer');
  await eventually(() => queue.status(id), (s) => s?.state === 'succeeded', 5_000, 'the job to be acked');
  expect(await rescuer.stop('SIGTERM')).toBe(0);
  expect(sink.history(id).map((a) => a.key)).toEqual([idempotencyKey(email), idempotencyKey(email)]);
  return sink.stats();
}

describe('a worker killed while the provider holds its email before the 250', () => {
  it('with the sink honouring keys: recovered, sent again, in the inbox once and suppressed once', async () => {
    sink.configure({ idempotency: true });
    const stats = await killMidSendThenRecover('killed-with-keys');
    expect(stats).toMatchObject({ accepted: 1, duplicates: 0, suppressed: 1 });
    expect(sink.deliveries().get('killed-with-keys')).toBe(1);
  });

  it('with keys ignored (the default): recovered, sent again, in the inbox twice', async () => {
    sink.configure({ idempotency: false });
    const stats = await killMidSendThenRecover('killed-without-keys');
    expect(stats).toMatchObject({ accepted: 2, duplicates: 1, suppressed: 0 });
    expect(sink.deliveries().get('killed-without-keys')).toBe(2);
  });
});

describe('the settings', () => {
  it("send Resend's header by default, with the sink's honouring off and a 24 h window; SINK_IDEMPOTENCY=on turns it on", () => {
    expect(sinkOptionsFromConfig(loadConfig({}))).toMatchObject({ idempotency: false, idempotencyWindowMs: 86_400_000, idempotencyHeader: 'Resend-Idempotency-Key' });
    expect(sinkOptionsFromConfig(loadConfig({ SINK_IDEMPOTENCY: 'on', IDEMPOTENCY_HEADER: '' }))).toMatchObject({ idempotency: true, idempotencyHeader: '' });
  });

  it.each(['Bcc: someone@example.com', 'X-Request-Id', 'Subject', 'Key With Spaces'])('refuse IDEMPOTENCY_HEADER=%j: not a header name, or one the mailer writes', (value) => {
    expect(() => loadConfig({ IDEMPOTENCY_HEADER: value })).toThrow(ConfigError);
    expect(() => loadConfig({ IDEMPOTENCY_HEADER: value })).toThrow(/IDEMPOTENCY_HEADER must/);
  });
});
