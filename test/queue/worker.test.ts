// The queue library's core against a real private Redis: the resque layout it
// writes, reliable fetch, acks, priorities, pickup latency, poison payloads,
// concurrency and prefetch, graceful stop, status and stats.
import { describe, expect, it } from 'vitest';
import type { Job } from '../../shared/queue/index.ts';
import { nextEvent, queueTestbed, until } from '../helpers/queue.ts';

const { redis, queue, worker } = await queueTestbed();

describe('enqueue: the resque data layout', () => {
  it('pushes {"class","queue","args",...} JSON, registers the queue and returns the job id', async () => {
    const id = await queue.enqueue('q', 'sendEmail', [{ to: 'a@example.com' }]);
    expect(await redis.smembers('resque:queues')).toEqual(['q']);
    const [raw] = await redis.lrange('resque:queue:q', 0, -1);
    expect(Object.keys(JSON.parse(raw!))).toEqual(['class', 'queue', 'args', 'id', 'enqueued_at']);
    expect(JSON.parse(raw!)).toMatchObject({ class: 'sendEmail', queue: 'q', args: [{ to: 'a@example.com' }], id });
    expect(await queue.status(id)).toMatchObject({ id, state: 'queued', attempts: 0, queue: 'q', class: 'sendEmail' });
  });

  it('enqueues an id once: a repeated id (a client retrying) adds no second job', async () => {
    await queue.enqueue('q', 'x', [], { id: 'same' });
    await queue.enqueue('q', 'x', [], { id: 'same' });
    expect(await queue.length('q')).toBe(1);
  });

  it('enqueueAt writes resque:delayed:<second>, the schedule zset and node-resque timestamps index', async () => {
    const at = Date.now() + 60_000;
    const id = await queue.enqueueAt(at, 'q', 'x', [1]);
    const second = Math.ceil(at / 1000);
    expect(await redis.zrange('resque:delayed_queue_schedule', '0', '-1')).toEqual([String(second)]);
    const [raw] = await redis.lrange(`resque:delayed:${second}`, 0, -1);
    expect(await redis.smembers(`resque:timestamps:${raw}`)).toEqual([`delayed:${second}`]);
    expect(await queue.status(id)).toMatchObject({ state: 'delayed', runAt: Math.round(at) });
  });
});

describe('a worker reserves, performs and acks', () => {
  it('performs jobs in order, acks each (processing list empty, counted, status succeeded)', async () => {
    const seen: number[] = [];
    const ids = await queue.enqueueMany('q', 'add', [[1], [2], [3], [4], [5]]);
    const w = worker({ add: (n: number) => void seen.push(n) });
    const last = nextEvent<[Job]>(w, 'success', 10_000, (job) => job.id === ids[4]);
    await w.start();
    await last;
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(await redis.llen(`resque:processing:${w.name}`)).toBe(0);
    expect(await redis.get('resque:stat:processed')).toBe('5');
    expect(await redis.get(`resque:stat:processed:${w.name}`)).toBe('5');
    expect(await queue.status(ids[0]!)).toMatchObject({ state: 'succeeded', attempts: 1 });
  });

  it('a reserved job sits in the worker processing list and resque working-on record while it runs', async () => {
    let release!: () => void;
    const w = worker({ slow: () => new Promise<void>((r) => (release = r)) });
    await w.start();
    const started = nextEvent(w, 'job');
    const id = await queue.enqueue('q', 'slow', ['x']);
    await started;
    await until(async () => (await queue.status(id))?.state === 'working', 5000, 'status "working"');
    expect(await redis.lrange(`resque:processing:${w.name}`, 0, -1)).toHaveLength(1);
    expect(await redis.llen('resque:queue:q')).toBe(0);
    const record = JSON.parse((await redis.get(`resque:worker:${w.name}:q`))!);
    expect(record).toMatchObject({ queue: 'q', worker: w.name, payload: { class: 'slow', id } });
    expect(Date.parse(record.run_at)).not.toBeNaN();
    const done = nextEvent(w, 'success');
    release();
    await done;
    await until(async () => (await redis.exists(`resque:worker:${w.name}:q`)) === 0, 5000, 'working-on record removed');
  });

  it('takes the queues in priority order', async () => {
    const order: string[] = [];
    await queue.enqueueMany('low', 'run', [['low1'], ['low2']]);
    await queue.enqueueMany('high', 'run', [['high1'], ['high2']]);
    const w = worker({ run: (s: string) => void order.push(s) }, { queues: ['high', 'low'] });
    const all = new Promise<void>((resolve) => w.on('success', () => order.length === 4 && resolve()));
    await w.start();
    await all;
    expect(order).toEqual(['high1', 'high2', 'low1', 'low2']);
  });

  it.each([
    ['one queue (BLMOVE)', ['q']],
    ['several queues (wake-up marker)', ['other', 'q']],
  ])('an idle worker on %s picks a new job up within milliseconds, not a poll interval', async (_, queues) => {
    const w = worker({ noop: () => {} }, { queues });
    await w.start();
    const latencies: number[] = [];
    for (let i = 0; i < 15; i++) {
      // Both listeners first: the worker can get the job before enqueue's own reply arrives.
      const sent = performance.now();
      const picked = nextEvent(w, 'job').then(() => latencies.push(performance.now() - sent));
      const done = nextEvent(w, 'success');
      await queue.enqueue('q', 'noop', [i]);
      await picked;
      await done;
    }
    latencies.sort((a, b) => a - b);
    // Typically ~1 ms here; node-resque's default poll averages 2,500 ms. Generous for a noisy machine.
    expect(latencies[7]).toBeLessThan(50);
  });

  it('picks up a job pushed by another resque client (plain RPUSH) on a single queue at once', async () => {
    const w = worker({ hello: () => 'hi' });
    const done = nextEvent<[Job, unknown]>(w, 'success', 5000);
    await w.start();
    await redis.rpush('resque:queue:q', JSON.stringify({ class: 'hello', queue: 'q', args: [] }));
    const [job, result] = await done;
    expect(job.id).toBeUndefined();
    expect(result).toBe('hi');
  });
});

describe('poison payloads go straight to failed, and the worker carries on', () => {
  it.each([
    ['not JSON', 'this is {not json', 'InvalidPayloadError', /not valid JSON/],
    ['JSON without a class', JSON.stringify({ queue: 'q', args: [] }), 'InvalidPayloadError', /no "class"/],
    ['an unknown class', JSON.stringify({ class: 'nope', queue: 'q', args: [] }), 'UnknownJobError', /no job named "nope"/],
  ])('%s: in the failed list at once, with its reason, and the next job still runs', async (_, payload, exception, error) => {
    const w = worker({ ok: () => 'fine' }, { maxAttempts: 5 });
    await w.start();
    const failure = nextEvent<[Job, Error]>(w, 'failure');
    await redis.rpush('resque:queue:q', payload);
    const [, err] = await failure;
    expect(err.message).toMatch(error);
    const [record] = await queue.failed();
    expect(record).toMatchObject({ worker: w.name, queue: 'q', exception, error: expect.stringMatching(error) });
    expect(Object.keys(record!)).toEqual(['worker', 'queue', 'payload', 'exception', 'error', 'backtrace', 'failed_at']);
    expect(await redis.get('resque:stat:failed')).toBe('1');
    // ...and the next job runs normally
    const ok = nextEvent<[Job, unknown]>(w, 'success');
    await queue.enqueue('q', 'ok');
    expect((await ok)[1]).toBe('fine');
    expect(await redis.llen(`resque:processing:${w.name}`)).toBe(0);
  });
});

describe('concurrency and prefetch', () => {
  it('runs at most `concurrency` jobs at once, prefetches `prefetch` more, and can change concurrency at runtime', async () => {
    let active = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    const w = worker(
      {
        wait: () =>
          new Promise<void>((resolve) => {
            active++;
            peak = Math.max(peak, active);
            releases.push(() => {
              active--;
              resolve();
            });
          }),
      },
      { concurrency: 3, prefetch: 4 },
    );
    await queue.enqueueMany('q', 'wait', Array.from({ length: 20 }, (_, i) => [i]));
    await w.start();
    await until(() => active === 3 && w.prefetched === 4, 5000, '3 running and 4 prefetched');
    expect(await redis.llen(`resque:processing:${w.name}`)).toBe(7);
    expect(await queue.length('q')).toBe(13);

    w.setConcurrency(6);
    await until(() => active === 6, 5000, '6 running after setConcurrency(6)');
    w.setConcurrency(2);
    // Lowering lets running jobs finish; no new one starts until fewer than 2 run.
    let finished = 0;
    w.on('success', () => finished++);
    while (releases.length > 0) releases.shift()!();
    await until(() => finished >= 6 && active === 2, 5000, 'back to 2 running');
    expect(peak).toBe(6);
    while (active > 0 || finished < 20) {
      while (releases.length > 0) releases.shift()!();
      await nextEvent(w, 'success', 5000);
    }
    expect(await redis.get('resque:stat:processed')).toBe('20');
  });
});

describe('graceful stop', () => {
  it('finishes the running job, hands prefetched jobs back to the head of the queue, deregisters', async () => {
    let release!: () => void;
    const w = worker({ slow: () => new Promise<void>((r) => (release = r)) }, { prefetch: 2 });
    const ids = await queue.enqueueMany('q', 'slow', [[1], [2], [3], [4]]);
    const started = nextEvent(w, 'job');
    await w.start();
    await started;
    await until(() => w.prefetched === 2, 5000, '2 prefetched');
    expect(await redis.sismember('resque:workers', `${w.name}:q`)).toBe(1);
    const stopping = w.stop(5000);
    const succeeded = nextEvent<[Job]>(w, 'success');
    release();
    expect((await succeeded)[0].id).toBe(ids[0]);
    expect(await stopping).toEqual({ unfinished: 0, handedBack: 2 });
    const queued = (await redis.lrange('resque:queue:q', 0, -1)).map((p) => JSON.parse(p).id);
    expect(queued).toEqual([ids[1], ids[2], ids[3]]);
    const left = await redis.keys(`resque:*${w.name}*`);
    expect(left).toEqual([]);
    expect(await redis.smembers('resque:workers')).toEqual([]);
  });

  it('a job still running at the timeout goes back to the queue (it will run again)', async () => {
    const w = worker({ stuck: () => new Promise(() => {}) });
    const id = await queue.enqueue('q', 'stuck');
    const started = nextEvent(w, 'job');
    await w.start();
    await started;
    expect(await w.stop(200)).toEqual({ unfinished: 1, handedBack: 1 });
    expect(JSON.parse((await redis.lindex('resque:queue:q', 0))!).id).toBe(id);
    expect(await queue.status(id)).toMatchObject({ state: 'queued' });
  });
});

describe('a job whose effect must not be repeated (ackAtOnce)', () => {
  it('is acked as its perform resolves; a batched job waits for the rest of the turn, here a 300 ms CPU-bound block', async () => {
    const resolvedAt = new Map<string, number>();
    // Runs a moment, then leaves a busy-wait queued for the rest of this turn, ahead of the batch's flush.
    async function perform(this: Job) {
      await new Promise((r) => setTimeout(r, 20));
      setImmediate(() => {
        for (const end = Date.now() + 300; Date.now() < end; );
      });
      resolvedAt.set(this.id!, Date.now());
    }
    const w = worker({ once: { perform, ackAtOnce: true }, batched: perform });
    await w.start();
    const lag = async (className: string) => {
      const done = nextEvent(w, 'success');
      const id = await queue.enqueue('q', className);
      await done;
      return (await queue.status(id))!.updatedAt - resolvedAt.get(id)!; // the ack writes its own clock as updated_at
    };
    expect(await lag('once')).toBeLessThan(100);
    expect(await lag('batched')).toBeGreaterThanOrEqual(290);
    expect(await redis.get('resque:stat:processed')).toBe('2');
  });
});

describe('what stats() shows', () => {
  it('stats() reports queue length and latency, totals, and what each worker is doing', async () => {
    let release!: () => void;
    const w = worker({ slow: () => new Promise<void>((r) => (release = r)) });
    await queue.enqueueMany('q', 'slow', [[1], [2]]);
    await queue.enqueueIn(60_000, 'q', 'slow', [3]);
    const started = nextEvent(w, 'job');
    await w.start();
    await started;
    await until(async () => (await queue.stats()).workers[0]?.job !== null, 5000, 'a worker with a job');
    const stats = await queue.stats();
    expect(stats.queues).toEqual([{ name: 'q', length: 1, latencyMs: expect.any(Number) }]);
    expect(stats).toMatchObject({ queued: 1, delayed: 1, working: 1, processed: 0, failed: 0 });
    expect(stats.workers).toEqual([
      { name: w.name, queues: ['q'], reserved: 1, heartbeat: true, multiWorker: null, job: { queue: 'q', class: 'slow', id: expect.any(String), runAt: expect.any(String) } },
    ]);
    const done = nextEvent(w, 'success');
    release();
    await done;
  });
});
