// Strategy 6 as people run it: real processes (the supervisor, or web.ts and
// consumer.ts alone), a private Redis and the sink in this test process, so
// the test can count deliveries per id, kill -9 a consumer, add a group
// later, trim the stream and compare the stream with pub/sub.
// test/scaling/cluster-strategy-6.test.ts runs this file on a Redis Cluster.
import { describe, expect, it } from 'vitest';
import { settings } from '../../shared/config.ts';
import type { StreamInfo } from '../../shared/streams/stream.ts';
import { getJson, postEmail, settledStats } from '../helpers/http.ts';
import { startServices } from '../helpers/services.ts';
import { childOnline, spawnEntry, startEntry, type Child } from '../helpers/spawn.ts';
import { eventually } from '../helpers/wait.ts';
import { asObject, deadLetters } from '../streams/dead-letters.ts';

const MAIN = 'strategies/6-event-bus/main.ts';
const WEB = 'strategies/6-event-bus/web.ts';
const CONSUMER = 'strategies/6-event-bus/consumer.ts';

export const { sink, server, redis, env } = await startServices({ redis: true });
// The stream the processes use: the default, unless the services name another (the Cluster run's hash-tagged one).
const STREAM = env().EVENT_STREAM ?? settings.EVENT_STREAM.fallback;
const onCluster = env().REDIS_CLUSTER_NODES !== undefined;

type Stats = StreamInfo & { strategy: string; transport: string; pending: number; sent: number; failed: number };
const stats = async (url: string) => (await getJson(`${url}/stats`)).body as unknown as Stats;
const group = (s: Stats, name: string) => s.groups.find((g) => g.name === name);

/** POSTs an email to <id>@<domain> with `id` as its tracking id. */
const post = (url: string, id: string, domain = 'example.com') => postEmail(url, { to: `${id}@${domain}`, subject: `subject ${id}`, text: `text ${id}` }, { 'x-request-id': id });
const postAll = async (url: string, ids: string[], domain?: (i: number) => string) => {
  const replies = await Promise.all(ids.map((id, i) => post(url, id, domain?.(i))));
  for (const r of replies) expect(r.status, JSON.stringify(r.body)).toBe(202);
  return replies.map((r) => r.body);
};
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** A consumer.ts of its own, once it is reading. */
async function consumer(extra: Record<string, string>): Promise<Child> {
  const child = spawnEntry(CONSUMER, env(extra));
  await child.waitForLog((l) => l.msg === 'consumer ready' || /^subscriber ready/.test(l.msg ?? ''), 30_000, 'the consumer to be ready');
  return child;
}

/** The entries `name` has read and not acknowledged: [entry id, consumer, idle ms, deliveries]. */
const pendingOf = (name: string) => redis.xpending(STREAM, 'mailer', '-', '+', 1_000, name) as Promise<[string, string, number, number][]>;
const trackingId = async (entry: string) => asObject((await redis.xrange(STREAM, entry, entry))[0]![1]).id!;
const logged = (child: Child, msg: string) => child.lines.filter((l) => l.msg === msg);

describe('strategy 6: fan-out', () => {
  it('every event reaches both groups: the mailer sends each email once, signups counts each per domain, and /stats shows both caught up', async () => {
    const { child, url } = await startEntry(MAIN, env());
    expect(['mailer', 'signups'].map((role) => child.lines.some((l) => l.msg === 'child online' && l.child === role))).toEqual([true, true]);
    const sent = ids('fan', 20);
    const replies = await postAll(url, sent, (i) => (i % 4 === 0 ? 'example.org' : 'example.com'));
    expect(replies[0]).toEqual({ id: sent[0], status: 'published', eventId: expect.stringMatching(/^\d+-\d+$/) });

    await sink.waitFor((s) => s.unique === sent.length, 20_000, 'every id');
    const s = await eventually(() => stats(url), (b) => b.groups.every((g) => g.processed === sent.length), 10_000, 'both groups to process every event');
    expect(s).toMatchObject({ strategy: '6-event-bus', transport: 'stream', pending: 0, sent: 20, failed: 0, length: 20, deadLetters: 0 });
    for (const name of ['mailer', 'signups']) expect(group(s, name), name).toMatchObject({ lag: 0, pending: 0, processed: 20, dead: 0, trimmed: 0 });
    expect(group(s, 'mailer')!.consumers).toEqual([{ name: 'mailer-1', pending: 0, idleMs: expect.any(Number) }]);
    expect(sink.stats().duplicates).toBe(0);
    expect(await redis.hgetall(`${STREAM}:domains:signups`)).toEqual({ 'example.com': '15', 'example.org': '5' });
    expect(await redis.exists(`${STREAM}:domains:mailer`)).toBe(0);

    expect(await child.stop('SIGTERM')).toBe(0);
    expect(child.lines.filter((l) => l.msg === 'child exited').map((l) => `${l.child} ${l.code}`).sort()).toEqual(['mailer 0', 'signups 0', 'web 0']);
  });
});

describe('strategy 6: crashes', () => {
  it('SIGKILL of the mailer mid-load: restarted under its name it resends what it held at once, every 202 is delivered, duplicates at most those', async () => {
    sink.configure({ latencyMs: 300 });
    const { child, url } = await startEntry(MAIN, env({ WORKER_CONCURRENCY: '4', RESTART_BACKOFF_MS: '100' }));
    const victim = (await childOnline(child, 'mailer')).childPid;
    const sent = ids('crash', 40);
    await postAll(url, sent);
    await eventually(() => sink.stats().accepted, (n) => n >= 8, 20_000, '8 sent before the kill');
    process.kill(victim as number, 'SIGKILL');
    // Read once it is gone (what it wrote before dying has reached Redis), and before the supervisor's
    // restart (100 ms, then a process start) can acknowledge anything.
    await child.waitForLog((l) => l.child === 'mailer' && l.signal === 'SIGKILL' && l.delayMs !== undefined, 10_000, 'the mailer to be restarted');
    const held = (await pendingOf('mailer-1')).map(([entry]) => entry);
    expect(held.length).toBeGreaterThan(0);
    expect(held.length).toBeLessThanOrEqual(4);
    await childOnline(child, 'mailer', victim);

    await sink.waitFor((s) => s.unique === sent.length, 30_000, 'every id');
    expect(sink.stats().duplicates).toBeLessThanOrEqual(held.length);
    expect(await settledStats(url)).toMatchObject({ pending: 0, sent: 40, failed: 0 });
    // The restarted consumer read its own pending list first: each held entry a second time, none claimed.
    const again = child.lines.filter((l) => l.msg === 'sent' && l.deliveries === 2).map((l) => l.entry);
    expect(again.sort()).toEqual([...held].sort());
    expect(child.lines.filter((l) => /^claimed/.test(l.msg ?? ''))).toEqual([]);
    expect(await child.stop('SIGTERM')).toBe(0);
  });

  it('a consumer that never comes back: another of its group claims what it held and sends it within CLAIM_MIN_IDLE_MS + 1 s', async () => {
    const latencyMs = 600;
    const minIdleMs = 1_500;
    sink.configure({ latencyMs });
    const settings = { CLAIM_MIN_IDLE_MS: String(minIdleMs), SMTP_TIMEOUT_MS: '1000', WORKER_CONCURRENCY: '2' };
    const web = await startEntry(WEB, env(settings));
    const [doomed, survivor] = await Promise.all(['mailer-a', 'mailer-b'].map((name) => consumer({ ...settings, CONSUMER_NAME: name })));
    const sent = ids('orphan', 4);
    await postAll(web.url, sent);
    // Two at a time each: the survivor cannot have taken all four.
    await eventually(() => pendingOf('mailer-a'), (p) => p.length > 0, 10_000, 'mailer-a to hold entries');
    doomed!.process.kill('SIGKILL');
    expect(await doomed!.exited).toBe('SIGKILL');
    const now = Date.now();
    const held = await Promise.all((await pendingOf('mailer-a')).map(async ([entry, , idle]) => ({ entry, id: await trackingId(entry), deliveredAt: now - idle })));
    expect(held.length).toBeGreaterThan(0);

    await survivor!.waitForLog((l) => /^claimed/.test(l.msg ?? ''), 10_000, 'the claim');
    // The provider may also have accepted what the dead consumer was sending when it died: wait for the survivor's own sends.
    let resends = 0;
    await survivor!.waitForLog((l) => l.msg === 'sent' && l.deliveries === 2 && ++resends === held.length, 10_000, 'the claimed entries to be sent');
    expect(sink.stats().unique).toBe(sent.length);
    for (const { id, deliveredAt } of held) {
      const resent = sink.history(id).filter((a) => a.outcome === 'accept').at(-1)!;
      // Claimed no sooner than min-idle, sent within min-idle + 1 s (the sweep) + the send itself; the rest is slack for a busy machine.
      expect(resent.at - deliveredAt, id).toBeGreaterThanOrEqual(minIdleMs);
      expect(resent.at - deliveredAt, id).toBeLessThan(minIdleMs + 1_000 + latencyMs + 1_000);
    }
    expect(survivor!.lines.filter((l) => l.msg === 'sent' && l.deliveries === 2).map((l) => l.id).sort()).toEqual(held.map((h) => h.id).sort());
    const s = await settledStats(web.url);
    expect(group(s as unknown as Stats, 'mailer')!.consumers.find((c) => c.name === 'mailer-a')).toMatchObject({ pending: 0 });
    expect(await survivor!.stop('SIGTERM')).toBe(0);
    expect(await web.child.stop('SIGTERM')).toBe(0);
  });
});

describe('strategy 6: Redis restarted', () => {
  it('mid-load: every email that got a 202 is delivered once, and the consumers carry on after it', async () => {
    const { child, url } = await startEntry(MAIN, env());
    const accepted: string[] = [];
    let next = 0;
    const client = async () => {
      while (next < 120) {
        const id = `restart-${next++}`;
        if ((await post(url, id).catch(() => undefined))?.status === 202) accepted.push(id);
      }
    };
    const load = Promise.all(Array.from({ length: 4 }, client));
    await eventually(() => accepted.length, (n) => n >= 30, 20_000, '30 accepted before the restart');
    await server.restart();
    await load;
    expect(accepted.length).toBeGreaterThan(100);
    // Well under CLAIM_MIN_IDLE_MS (60 s): nothing may wait for a claim.
    await sink.waitFor((_, s) => accepted.every((id) => s.deliveries().has(id)), 15_000, 'every accepted id');
    expect(sink.stats().duplicates).toBe(0);
    await postAll(url, ['after-restart']);
    await sink.waitFor((_, s) => s.deliveries().has('after-restart'), 10_000, 'an email sent after the restart');
    // One event per email (a 503'd request may have got one too), each processed once by each group.
    const s = await eventually(() => stats(url), (b) => b.pending === 0 && group(b, 'signups')?.processed === b.length, 10_000, 'both groups caught up');
    expect(s.length).toBeGreaterThanOrEqual(accepted.length + 1);
    expect(group(s, 'mailer')).toMatchObject({ processed: s.length, dead: 0 });
    expect(await child.stop('SIGTERM')).toBe(0);
  });
});

describe('strategy 6: retries and dead letters', () => {
  it('a 451 is retried after min-idle and delivered, a 550 is a dead letter at once, an always-451 one after MAX_ATTEMPTS; others are sent meanwhile', async () => {
    const minIdleMs = 1_500;
    sink.configure({ decide: ({ id, attempt }) => (id === 'perm' ? 'perm' : id === 'always' || (id === 'once' && attempt === 1) ? 'temp' : undefined) });
    const settings = { CLAIM_MIN_IDLE_MS: String(minIdleMs), SMTP_TIMEOUT_MS: '1000', MAX_ATTEMPTS: '3' };
    const web = await startEntry(WEB, env(settings));
    const mailer = await consumer({ ...settings, CONSUMER_NAME: 'mailer-1' });
    const [, perm, always] = await postAll(web.url, ['once', 'perm', 'always']);
    await mailer.waitForLog((l) => /^failed: left pending/.test(l.msg ?? '') && l.id === 'always', 10_000, 'the first 451');
    const others = ids('other', 5);
    await postAll(web.url, others);

    await mailer.waitForLog((l) => l.msg === 'dead letter: given up' && l.entry === always!.eventId, 20_000, 'the always-451 email to be given up');
    expect(sink.history('once').map((a) => a.outcome)).toEqual(['temp', 'accept']);
    const [first, second] = sink.history('once');
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(minIdleMs - 300); // idle since it was delivered, a little before the 451
    expect(sink.history('perm').map((a) => a.outcome)).toEqual(['perm']);
    expect(sink.history('always').map((a) => a.outcome)).toEqual(['temp', 'temp', 'temp']);
    const lastTry = sink.history('always').at(-1)!.at;
    for (const id of others) expect(sink.history(id)[0]!.at, `${id} is not held up by the retries`).toBeLessThan(lastTry);

    expect(await deadLetters(redis, STREAM)).toEqual([
      { entry: perm!.eventId, group: 'mailer', consumer: 'mailer-1', deliveries: '1', error: expect.stringMatching(/550 mailbox unavailable/), fields: expect.stringContaining('"id":"perm"') },
      { entry: always!.eventId, group: 'mailer', consumer: 'mailer-1', deliveries: '4', error: expect.stringMatching(/^gave up after 3 deliveries; the last failed with: .*451 try again later/), fields: expect.stringContaining('"id":"always"') },
    ]);
    expect(await redis.exists(`${STREAM}:errors:mailer`), 'no failure is remembered once its entry is done').toBe(0);
    expect(logged(mailer, `failed: left pending, retried in ${minIdleMs} ms`).map((l) => l.id)).toEqual(['once', 'always', 'always', 'always']);
    expect(await settledStats(web.url)).toMatchObject({ pending: 0, sent: 6, failed: 2, deadLetters: 2 });
    expect(await mailer.stop('SIGTERM')).toBe(0);
    expect(await web.child.stop('SIGTERM')).toBe(0);
  });
});

describe('strategy 6: replay', () => {
  it('a group created at 0 counts every retained event, one at $ only new ones, and a reset to an id replays what follows it', async () => {
    const web = await startEntry(WEB, env());
    const old = ids('old', 10);
    // One at a time, so that the stream holds them in this order.
    const replies = [];
    for (const [i, id] of old.entries()) replies.push(...(await postAll(web.url, [id], () => (i < 3 ? 'example.org' : 'example.com'))));
    const countedBy = (child: Child) => logged(child, 'counted').map((l) => l.id);
    const processed = (name: string, n: number) => eventually(() => stats(web.url), (s) => group(s, name)?.processed === n, 10_000, `${name} to count ${n}`);

    const audit = await consumer({ CONSUMER_GROUP: 'audit', CONSUMER_NAME: 'audit-1', GROUP_START: '0' });
    expect(logged(audit, 'group audit created at 0')).toHaveLength(1);
    await processed('audit', 10);
    expect(await redis.hgetall(`${STREAM}:domains:audit`)).toEqual({ 'example.org': '3', 'example.com': '7' });
    expect(await audit.stop('SIGTERM')).toBe(0);

    // A counting group logs each event at debug level: at this level, to read which ones it counted.
    const late = await consumer({ CONSUMER_GROUP: 'late', CONSUMER_NAME: 'late-1', GROUP_START: '$', LOG_LEVEL: 'debug' });
    expect(logged(late, 'group late created at $')).toHaveLength(1);
    await postAll(web.url, ['new']);
    await processed('late', 1);
    expect(countedBy(late)).toEqual(['new']);
    expect(await late.stop('SIGTERM')).toBe(0);

    const from = replies[4]!.eventId as string;
    const replay = await consumer({ CONSUMER_GROUP: 'audit', CONSUMER_NAME: 'audit-1', GROUP_START: from, GROUP_RESET: 'true', LOG_LEVEL: 'debug' });
    expect(logged(replay, 'group audit joined')[0]).toMatchObject({ start: from, reset: true, created: false });
    await processed('audit', 10 + 6);
    // Every entry after the id, once (counted concurrently, so in any order).
    expect(countedBy(replay).sort()).toEqual([...old.slice(5), 'new'].sort());
    expect(await replay.stop('SIGTERM')).toBe(0);
    expect(await web.child.stop('SIGTERM')).toBe(0);
  });
});

describe('strategy 6: what a stream keeps, and what pub/sub does not', () => {
  // Refused on Redis Cluster, where a PUBLISH counts one node's subscribers: test/scaling/cluster-strategy-6.test.ts checks that.
  if (!onCluster) it('EVENT_TRANSPORT=pubsub: emails published while the subscriber is down never arrive, and /stats counts them as heard by nobody', async () => {
    const pubsub = { EVENT_TRANSPORT: 'pubsub' };
    const web = await startEntry(WEB, env(pubsub));
    const first = await consumer(pubsub);
    const heard = await postAll(web.url, ids('heard', 3));
    expect(heard[0]).toEqual({ id: 'heard-0', status: 'published', subscribers: 1 });
    await sink.waitFor((s) => s.unique === 3, 10_000, 'the three heard');

    first.process.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    await eventually(() => redis.pubsub('NUMSUB', STREAM), (r) => r[1] === 0, 5_000, 'Redis to see the subscriber gone');
    const missed = ids('missed', 5);
    expect((await postAll(web.url, missed)).map((b) => b.subscribers)).toEqual([0, 0, 0, 0, 0]);

    const second = await consumer(pubsub);
    await postAll(web.url, ['after']);
    await second.waitForLog((l) => l.msg === 'done' && l.id === 'after', 10_000, 'the email published after the restart');
    // Nothing kept them: the new subscriber heard only what came after it.
    expect([...sink.deliveries().keys()].sort()).toEqual(['after', 'heard-0', 'heard-1', 'heard-2']);
    expect(logged(second, 'done').map((l) => l.id)).toEqual(['after']);
    expect(await stats(web.url)).toEqual({ strategy: '6-event-bus', transport: 'pubsub', pending: 0, events: 9, heardByNobody: 5 });
    expect(await redis.exists(STREAM)).toBe(0);
    expect(await second.stop('SIGTERM')).toBe(0);
    expect(await web.child.stop('SIGTERM')).toBe(0);
  });

  it('STREAM_MAXLEN: events trimmed before the mailer read them are counted in its lag, the ones it held in trimmed, and it sends what was retained', async () => {
    // Approximate trimming (MAXLEN ~) drops whole nodes of 100 entries: with 253 events and a MAXLEN of 10, between 10 and 110 remain.
    const retention = { STREAM_MAXLEN: '10', WORKER_CONCURRENCY: '2', CONSUMER_NAME: 'mailer-1' };
    sink.configure({ latencyMs: 5_000 });
    const web = await startEntry(WEB, env(retention));
    const first = await consumer(retention);
    await postAll(web.url, ids('early', 3));
    await eventually(() => pendingOf('mailer-1'), (p) => p.length === 2, 10_000, 'the mailer to hold two');
    first.process.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    const later = ids('later', 250);
    const posted: Record<string, unknown>[] = [];
    for (let i = 0; i < later.length; i += 50) posted.push(...(await postAll(web.url, later.slice(i, i + 50))));
    const retained = await redis.xlen(STREAM);
    expect(retained).toBeGreaterThanOrEqual(10);
    expect(retained).toBeLessThanOrEqual(110);
    const { firstId } = await stats(web.url);
    const kept = posted.filter((b) => compareIds(b.eventId as string, firstId!) >= 0).map((b) => b.id as string);
    expect(kept).toHaveLength(retained);

    sink.configure({ latencyMs: 0 });
    const second = await consumer(retention);
    await second.waitForLog((l) => /trimmed from the stream/.test(l.msg ?? '') && l.count === 2, 10_000, 'the two it held to be reported trimmed');
    const s = await eventually(() => stats(web.url), (b) => group(b, 'mailer')?.processed === retained, 15_000, 'the mailer to send what was retained');
    // Every event is accounted for: sent, lost while held (trimmed), or lost unread (the lag Redis keeps counting).
    expect(group(s, 'mailer')).toMatchObject({ processed: retained, trimmed: 2, pending: 0, lag: 253 - 2 - retained });
    expect(logged(second, 'sent').map((l) => l.id).sort()).toEqual(kept.sort());
    expect(later.filter((id) => !kept.includes(id)).some((id) => sink.deliveries().has(id))).toBe(false);
    expect(await second.stop('SIGTERM')).toBe(0);
    expect(await web.child.stop('SIGTERM')).toBe(0);
  });
});

describe('strategy 6: configuration', () => {
  it.each([CONSUMER, MAIN])('%s exits 2 naming both settings when CLAIM_MIN_IDLE_MS does not exceed SMTP_TIMEOUT_MS', async (entry) => {
    const child = spawnEntry(entry, env({ CLAIM_MIN_IDLE_MS: '1000', SMTP_TIMEOUT_MS: '1000' }));
    expect(await child.exited).toBe(2);
    expect(child.text.join('\n')).toMatch(/CLAIM_MIN_IDLE_MS must exceed SMTP_TIMEOUT_MS \(1000 ms\), got 1000/);
  });

  it('the supervisor refuses GROUP_RESET=true: every restart after a crash would replay the group again', async () => {
    const child = spawnEntry(MAIN, env({ GROUP_RESET: 'true' }));
    expect(await child.exited).not.toBe(0);
    expect(child.text.join('\n')).toMatch(/GROUP_RESET=true would replay on every restart.*npm run strategy:6:consumer/);
    expect(child.lines.filter((l) => l.msg === 'child online')).toEqual([]);
  });
});

/** Stream ids compare as (milliseconds, sequence). */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
}
