// One consumer of a consumer group (shared/streams/consumer.ts) against a real
// private Redis, in this process: what stop() leaves behind, who reads it next
// (the same name at once, anyone else after minIdleMs), how deliveries are
// counted, when an entry is given up, and what trimming takes.
import { describe, expect, it } from 'vitest';
import { isPermanentFailure } from '../../shared/mailer.ts';
import { GroupConsumer, type ConsumerOptions, type Entry } from '../../shared/streams/consumer.ts';
import { EventStream } from '../../shared/streams/stream.ts';
import { deadLetters } from './dead-letters.ts';
import { nextEvent, queueTestbed, until } from '../helpers/queue.ts';

const { redis, client, afterTest } = await queueTestbed();
const stream = new EventStream(redis, 'events', 1_000);
const GROUP = 'g';

/** Never settles: an entry still being worked on when its consumer stops or dies. */
const forever = () => new Promise<void>(() => {});

function consumer(name: string, handle: (entry: Entry) => Promise<void>, options: Partial<ConsumerOptions> = {}): GroupConsumer {
  const c = new GroupConsumer({
    stream,
    group: GROUP,
    name,
    redis: client(),
    blocking: client(),
    concurrency: 10,
    minIdleMs: 60_000,
    maxDeliveries: 3,
    handle,
    isPermanent: isPermanentFailure,
    blockMs: 200,
    ...options,
  });
  c.on('error', (err) => console.error('consumer error', err));
  c.start();
  afterTest(() => c.stop(0));
  return c;
}

async function appendAll(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await stream.append({ n: String(i) }));
  return ids;
}

/** A consumer that reads every entry there is and then stops with all of them unfinished, as if killed mid-work. */
async function leaveUnfinished(name: string, count: number): Promise<void> {
  const c = consumer(name, forever);
  await until(() => c.inFlight === count, 5_000, `${name} to hold ${count} entries`);
  expect(await c.stop(50)).toEqual({ unfinished: count });
}

const pendingOf = async (name: string) => (await stream.info()).groups[0]!.consumers.find((c) => c.name === name)?.pending ?? 0;

describe('a consumer that stops leaves its entries pending', () => {
  it('stop() resolves with the entries still running, and they stay in the group pending list under its name', async () => {
    await stream.ensureGroup(GROUP, '0');
    await appendAll(3);
    await leaveUnfinished('c1', 3);
    expect(await pendingOf('c1')).toBe(3);
    expect((await stream.info()).groups[0]).toMatchObject({ pending: 3, lag: 0, processed: 0 });
  });

  it('restarted under the same name, it runs its own pending entries first, at once, as their second delivery', async () => {
    await stream.ensureGroup(GROUP, '0');
    const old = await appendAll(3);
    await leaveUnfinished('c1', 3);
    const fresh = await stream.append({ n: 'new' });
    const started: [string, number][] = [];
    const restarted = consumer('c1', async (e) => void started.push([e.id, e.deliveries]));
    // minIdleMs is a minute: only reading its own pending list can explain it being this quick.
    await until(async () => (await stream.info()).groups[0]!.processed === 4, 5_000, 'all four processed');
    expect(started).toEqual([...old.map((id) => [id, 2]), [fresh, 1]]);
    expect(await pendingOf('c1')).toBe(0);
    expect(restarted.inFlight).toBe(0);
  });

  it('another consumer claims them once idle for minIdleMs, says how many, and sees their delivery count', async () => {
    await stream.ensureGroup(GROUP, '0');
    const ids = await appendAll(2);
    // Idle time counts from the dead consumer's read, which comes after this.
    const beforeRead = Date.now();
    await leaveUnfinished('dead', 2);
    const seen: [string, number][] = [];
    const live = consumer('live', async (e) => void seen.push([e.id, e.deliveries]), { minIdleMs: 300 });
    const [count] = await nextEvent<[number]>(live, 'claimed', 5_000);
    expect(count).toBe(2);
    expect(Date.now() - beforeRead).toBeGreaterThanOrEqual(300);
    await until(() => seen.length === 2, 5_000, 'both claimed entries run');
    expect(seen).toEqual(ids.map((id) => [id, 2]));
    expect(await pendingOf('dead')).toBe(0);
  });
});

describe('reading the own pending list while entries are running', () => {
  it('after a reconnect: an entry in the reply that finished before the reply was read is not run again', async () => {
    await stream.ensureGroup(GROUP, '0');
    const [id] = await appendAll(1);
    await leaveUnfinished('c1', 1);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const runs: string[] = [];
    // The reply of one read of the pending list is held back, as a slow network would, until the entry in it is done.
    const blocking = client();
    const read = blocking.xreadgroup.bind(blocking) as (...args: unknown[]) => Promise<[string, [string, string[]][]][] | null>;
    let holdBack = false;
    let heldBack: string[] | undefined;
    let readsAfter = 0;
    blocking.xreadgroup = (async (...args: unknown[]) => {
      if (heldBack) readsAfter++;
      const reply = await read(...args);
      if (holdBack && args.at(-1) !== '>') {
        holdBack = false;
        const finished = nextEvent(c, 'handled', 5_000);
        release();
        await finished;
        await new Promise((resolve) => setImmediate(resolve)); // its slot is freed after 'handled'
        heldBack = (reply?.[0]?.[1] ?? []).map(([entry]) => entry);
      }
      return reply;
    }) as typeof blocking.xreadgroup;
    const c = consumer('c1', async (e) => {
      runs.push(`${e.id}#${e.deliveries}`);
      await released;
    }, { blocking });
    await until(() => runs.length === 1, 5_000, 'the pending entry to run');
    holdBack = true;
    blocking.disconnect(true); // a dropped connection: the consumer reads its pending list again once reconnected
    await until(() => readsAfter > 0, 5_000, 'the read after the held-back one');
    expect(heldBack).toEqual([id]);
    expect(runs).toEqual([`${id}#2`]);
    expect((await stream.info()).groups[0]).toMatchObject({ pending: 0, processed: 1 });
  });
});

describe('acknowledging', () => {
  it('entries handled in the same turn are acknowledged in one call, and stay pending until it lands', async () => {
    await stream.ensureGroup(GROUP, '0');
    const ids = await appendAll(5);
    const calls: string[][] = [];
    let pendingDuringAck = -1;
    consumer('c1', async () => {}, {
      ack: async (entries) => {
        calls.push(entries.map((e) => e.id));
        pendingDuringAck = (await stream.info()).groups[0]!.pending;
        await stream.ack(GROUP, entries.map((e) => e.id));
      },
    });
    await until(async () => (await stream.info()).groups[0]!.processed === 5, 5_000, 'all five processed');
    // One read of five entries, five handlers that finish at once: one ack.
    expect(calls).toEqual([ids]);
    expect(pendingDuringAck).toBe(5);
    expect((await stream.info()).groups[0]).toMatchObject({ pending: 0, processed: 5 });
  });
});

describe('retries and dead letters', () => {
  it('a temporary failure is retried after minIdleMs, a permanent one is dead-lettered at once, one that always fails after maxDeliveries', async () => {
    await stream.ensureGroup(GROUP, '0');
    const fail = (code: number) => Object.assign(new Error(`${code} refused`), { responseCode: code });
    const runs: string[] = [];
    const c = consumer(
      'c1',
      async ({ fields, deliveries }) => {
        runs.push(`${fields.n}#${deliveries}`);
        if (fields.n === 'perm') throw fail(550);
        if (fields.n === 'always' || (fields.n === 'once' && deliveries === 1)) throw fail(451);
      },
      { minIdleMs: 200 },
    );
    await stream.append({ n: 'once' });
    const [perm, always] = [await stream.append({ n: 'perm' }), await stream.append({ n: 'always' })];
    const dead: string[] = [];
    c.on('dead', (entry) => void dead.push(entry.id));
    await until(() => dead.length === 2, 10_000, 'two dead letters');
    expect(dead).toEqual([perm, always]);
    expect(runs.filter((r) => r.startsWith('once'))).toEqual(['once#1', 'once#2']);
    expect(runs.filter((r) => r.startsWith('perm'))).toEqual(['perm#1']);
    expect(runs.filter((r) => r.startsWith('always'))).toEqual(['always#1', 'always#2', 'always#3']);

    expect(await deadLetters(redis, stream.name)).toMatchObject([
      { entry: perm, group: GROUP, consumer: 'c1', deliveries: '1', error: '550 refused', fields: JSON.stringify({ n: 'perm' }) },
      { entry: always, group: GROUP, deliveries: '4', error: 'gave up after 3 deliveries; the last failed with: 451 refused' },
    ]);
    // 'once' failed, then succeeded; the others were given up: nothing is remembered.
    expect(await redis.exists(stream.keys.errors(GROUP))).toBe(0);
    expect((await stream.info()).groups[0]).toMatchObject({ pending: 0, lag: 0, processed: 1, dead: 2 });
    expect(await redis.xpending(stream.name, GROUP, '-', '+', 10)).toEqual([]);
  });
});

describe('trimming', () => {
  it.each([
    ['restarted under the same name', 'c1', 60_000],
    ['claiming them as another consumer', 'c2', 200],
  ])('pending entries trimmed away before they were done are counted as trimmed and acknowledged, %s', async (_how, name, minIdleMs) => {
    await stream.ensureGroup(GROUP, '0');
    await appendAll(3);
    await leaveUnfinished('c1', 3);
    await redis.xtrim(stream.name, 'MAXLEN', 0);
    const ran: Entry[] = [];
    const c = consumer(name, async (e) => void ran.push(e), { minIdleMs });
    const [ids] = await nextEvent<[string[]]>(c, 'trimmed', 5_000);
    expect(ids).toHaveLength(3);
    expect(ran).toEqual([]);
    expect((await stream.info()).groups[0]).toMatchObject({ pending: 0, trimmed: 3, processed: 0 });
  });
});
