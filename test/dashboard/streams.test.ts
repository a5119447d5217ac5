// The dashboard's view of an event stream (strategy 6), spoken to as a
// client: the real `npm run dashboard` process over a private Redis holding a
// stream with real consumer groups - one read by the stream library's own
// consumer, which dead-letters what is not an event, one left with entries
// delivered and not acknowledged. The page over the same API is in
// streams.browser.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupConsumer } from '../../shared/streams/consumer.ts';
import { EventStream } from '../../shared/streams/stream.ts';
import { eventually } from '../helpers/wait.ts';
import { dashboardTestbed } from './testbed.ts';

const STREAM = 'test:events';
const d = dashboardTestbed({ EVENT_STREAM: STREAM, STREAM_MAXLEN: '1000' });
let stream: EventStream;
let counter: GroupConsumer | undefined;
/** The entry that is not an event: the signups group dead-letters it. */
let junk: string;

beforeAll(() => {
  stream = new EventStream(d.redis, STREAM, 1_000);
});
afterAll(async () => {
  await counter?.stop(2_000);
});

interface StreamsReply {
  stream: { stream: string; length: number; firstId: string | null; lastId: string | null; maxlen: number; deadLetters: number; groups: { name: string; lag: number; pending: number; processed: number; dead: number; consumers: { name: string; pending: number; idleMs: number }[] }[] };
  deadLetters: { id: string; entry: string; group: string; consumer: string; deliveries: number; error: string; fields: Record<string, string> | null; fieldCount: number }[];
}
const streams = async (query = '') => (await (await fetch(`${d.api}/streams${query}`)).json()) as StreamsReply;
const retry = (id: unknown, headers: Record<string, string> = { 'x-dashboard-token': d.token }) =>
  fetch(`${d.api}/streams/dead/retry`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ id }) });
const event = (n: number) => ({ type: 'email.requested', id: `ev-${n}`, to: `user${n}@example.com`, subject: `hello ${n}`, text: `message ${n}` });

describe('before the stream exists', () => {
  it('answers the stream as empty, with no groups, and the queue panels without error', async () => {
    expect(await streams()).toEqual({ stream: { stream: STREAM, length: 0, firstId: null, lastId: null, maxlen: 1000, groups: [], deadLetters: 0 }, deadLetters: [] });
    for (const path of ['/overview', '/queues', '/workers', '/failed', '/delayed']) expect((await fetch(`${d.api}${path}`)).status).toBe(200);
  });
});

describe('a stream with two groups', () => {
  beforeAll(async () => {
    const ids = [];
    for (let n = 1; n <= 5; n++) ids.push(await stream.append(event(n)));
    junk = (await d.redis.xadd(STREAM, '*', 'junk', '1'))!;
    // mailer: two entries delivered to mailer-1 and never acknowledged (it "died"), four not yet delivered.
    await stream.ensureGroup('mailer', '0');
    await d.redis.xreadgroup('GROUP', 'mailer', 'mailer-1', 'COUNT', 2, 'STREAMS', STREAM, '>');
    // signups: the library's consumer counts every event and dead-letters what is not one.
    await stream.ensureGroup('signups', '0');
    const blocking = d.t.client();
    counter = new GroupConsumer({
      stream,
      group: 'signups',
      name: 'signups-1',
      redis: d.t.client(),
      blocking,
      concurrency: 4,
      minIdleMs: 60_000,
      maxDeliveries: 3,
      blockMs: 200,
      handle: async ({ fields }) => {
        if (fields.type !== 'email.requested') throw Object.assign(new Error(`not an email.requested event: ${JSON.stringify(fields)}`), { permanent: true });
      },
      isPermanent: (err) => (err as { permanent?: boolean }).permanent === true,
    });
    counter.start();
    await eventually(() => d.redis.get(stream.keys.stat('signups', 'processed')), (v) => v === '5', 10_000, 'signups to count five events');
    await eventually(() => d.redis.xlen(stream.keys.dead), (n) => n === 1, 10_000, 'the junk entry in the dead letters');
    expect(ids).toHaveLength(5);
  });

  it("shows the stream's length and ends, each group's lag, pending and counters, and its consumers", async () => {
    const { stream: info } = await streams();
    expect(info).toMatchObject({ stream: STREAM, length: 6, maxlen: 1000, deadLetters: 1, lastId: junk });
    expect(info.firstId).toMatch(/^\d+-\d+$/);
    const mailer = info.groups.find((g) => g.name === 'mailer')!;
    expect(mailer).toMatchObject({ lag: 4, pending: 2, processed: 0, dead: 0 });
    expect(mailer.consumers).toEqual([{ name: 'mailer-1', pending: 2, idleMs: expect.any(Number) }]);
    const signups = info.groups.find((g) => g.name === 'signups')!;
    expect(signups).toMatchObject({ lag: 0, pending: 0, processed: 5, dead: 1 });
    expect(signups.consumers.map((c) => c.name)).toEqual(['signups-1']);
  });

  it('lists a dead letter with its group, consumer, error and the fields of the entry it gave up on', async () => {
    const { deadLetters } = await streams();
    expect(deadLetters).toEqual([
      { id: expect.stringMatching(/^\d+-\d+$/), at: expect.any(Number), entry: junk, group: 'signups', consumer: 'signups-1', deliveries: 1, error: 'not an email.requested event: {"junk":"1"}', fields: { junk: '1' }, fieldCount: 1 },
    ]);
  });

  it('cuts a huge dead letter to a readable size, and shows one that is not ours without failing', async () => {
    const huge = await stream.append({ ...event(6), text: 'x'.repeat(1_000_000) });
    // Written straight into Redis, as anyone who can write to it could: the stream library itself keeps dead letters small.
    const record = { entry: huge, group: 'mailer', consumer: 'mailer-1', deliveries: '1', error: 'message too large', fields: JSON.stringify({ ...event(6), text: 'x'.repeat(1_000_000) }) };
    await d.redis.xadd(stream.keys.dead, '*', ...Object.entries(record).flat());
    await d.redis.xadd(stream.keys.dead, '*', 'error', 'written by hand', 'fields', '[not json');
    const res = await fetch(`${d.api}/streams`);
    expect(Number(res.headers.get('content-length'))).toBeLessThan(20_000);
    const { deadLetters } = (await res.json()) as StreamsReply;
    expect(deadLetters[0]).toMatchObject({ error: 'written by hand', fields: null, group: '', entry: '' });
    expect(deadLetters[1]!.fields!.text).toMatch(/^x{1000}… \(1000000 characters\)$/);
    expect((await streams('?limit=1')).deadLetters).toHaveLength(1);
    expect((await fetch(`${d.api}/streams?limit=1000`)).status).toBe(400);
  });
});

describe('retrying a dead letter', () => {
  const deadLetterOf = async (entry: string) => (await streams('?limit=50')).deadLetters.find((d) => d.entry === entry)!;

  it('appends its event again as a new entry and deletes the dead letter, only with the token', async () => {
    const { id } = await deadLetterOf(junk);
    expect((await retry(id, {})).status).toBe(403);
    expect((await retry(id, { 'x-dashboard-token': d.token, origin: 'http://evil.example' })).status).toBe(403);
    expect((await retry('1-0; FLUSHALL')).status).toBe(400);
    const before = await d.redis.xlen(STREAM);

    const ok = await retry(id);
    expect(ok.status).toBe(200);
    const { eventId } = (await ok.json()) as { eventId: string };
    expect(await d.redis.xlen(STREAM)).toBe(before + 1);
    expect(await d.redis.xrange(STREAM, eventId, eventId)).toEqual([[eventId, ['junk', '1']]]);
    expect(await d.redis.xrange(stream.keys.dead, id, id)).toEqual([]);
    // Every group reads it again: signups gives up on it once more.
    await eventually(async () => (await streams()).deadLetters.filter((d) => d.entry === eventId).length, (n) => n === 1, 10_000, 'the retried junk dead-lettered again');

    const again = await retry(id);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: string }).error).toMatch(/no longer there/);
  });

  it('refuses a dead letter with no event to append (422), and leaves it where it is', async () => {
    const { id } = (await streams()).deadLetters.find((d) => d.error === 'written by hand')!;
    const refused = await retry(id);
    expect(refused.status).toBe(422);
    expect(await d.redis.xrange(stream.keys.dead, id, id)).toHaveLength(1);
  });
});
