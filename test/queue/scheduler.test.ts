// The scheduler and everything that happens when things go wrong: delayed jobs
// on time, retries with backoff then the failed list, a worker SIGKILLed
// mid-job (recovered within seconds, in order), leader election, a Redis
// restart, and a worker declared dead while it was alive.
import { afterAll, describe, expect, it } from 'vitest';
import { backoffMs, Scheduler, type Job, type Jobs, type Recovery, type WorkerOptions } from '../../shared/queue/index.ts';
import { nextEvent, queueTestbed, until } from '../helpers/queue.ts';
import { killAll, spawnEntry } from '../helpers/spawn.ts';

const testbed = await queueTestbed();
const { redis, queue, server, client, afterTest } = testbed;
// Registered after the testbed's, so it runs first: the spawned workers go before their Redis.
afterAll(() => killAll());

// Errors are asserted where they matter.
const worker = (jobs: Jobs, options: Partial<WorkerOptions> = {}) => testbed.worker(jobs, options, () => {});
function scheduler(): Scheduler {
  const s = new Scheduler({ redis: client() });
  s.on('error', () => {});
  afterTest(() => s.stop());
  return s;
}

describe('delayed jobs', () => {
  it('run at their second, not before, and within 1 s of it', async () => {
    const ran = new Map<string, number>();
    const w = worker({ work: function (this: Job) { ran.set(this.id!, Date.now()); } });
    await w.start();
    await scheduler().start();
    const dueAt = Math.ceil(Date.now() / 1000) * 1000 + 1000; // a whole second, 1-2 s ahead
    const inMs = 1_300;
    const a = await queue.enqueueAt(dueAt, 'q', 'work');
    const bDue = Date.now() + inMs;
    const b = await queue.enqueueIn(inMs, 'q', 'work');
    expect(await queue.status(a)).toMatchObject({ state: 'delayed' });
    await until(() => ran.size === 2, 10_000, 'both delayed jobs to run');
    expect(ran.get(a)!).toBeGreaterThanOrEqual(dueAt);
    expect(ran.get(a)! - dueAt).toBeLessThan(1000);
    // enqueueIn: resque schedules by the second, so the job waits for the next whole second.
    expect(ran.get(b)!).toBeGreaterThanOrEqual(bDue);
    expect(ran.get(b)! - Math.ceil(bDue / 1000) * 1000).toBeLessThan(1000);
    expect(await redis.exists('resque:delayed_queue_schedule')).toBe(0);
    expect(await redis.keys('resque:timestamps:*')).toEqual([]);
  });
});

describe('retries', () => {
  it('backoff is exponential with jitter, and capped', () => {
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffMs(3, 1000, 60_000, () => 0)).toBe(2000);
    expect(backoffMs(3, 1000, 60_000, () => 1)).toBe(4000);
    expect(backoffMs(20, 1000, 60_000, () => 1)).toBe(60_000);
  });

  it('a job that fails twice then succeeds is retried via the delayed schedule and succeeds on attempt 3', async () => {
    const attempts: number[] = [];
    const w = worker(
      {
        flaky: function (this: Job) {
          attempts.push(this.attempt);
          if (this.attempt < 3) throw new Error(`flake ${this.attempt}`);
        },
      },
      { backoff: () => 0 },
    );
    const retries: [Job, Error, number][] = [];
    w.on('retry', (...args) => retries.push(args));
    await w.start();
    await scheduler().start();
    const id = await queue.enqueue('q', 'flaky');
    await nextEvent(w, 'success', 10_000);
    expect(attempts).toEqual([1, 2, 3]);
    expect(retries.map(([job, err]) => [job.attempt, err.message])).toEqual([[1, 'flake 1'], [2, 'flake 2']]);
    expect(await queue.status(id)).toMatchObject({ state: 'succeeded', attempts: 3, error: 'flake 2' });
    expect(await queue.failedCount()).toBe(0);
  });

  it('after maxAttempts the job goes to resque:failed with error and backtrace, in node-resque shape', async () => {
    const w = worker({ broken: () => Promise.reject(new TypeError('always broken')) }, { maxAttempts: 2, backoff: () => 0 });
    await w.start();
    await scheduler().start();
    const id = await queue.enqueue('q', 'broken', ['arg']);
    const [job, err] = await nextEvent<[Job, Error]>(w, 'failure', 10_000);
    expect([job.attempt, err.message]).toEqual([2, 'always broken']);
    const [record] = await queue.failed();
    expect(record).toMatchObject({
      worker: w.name,
      queue: 'q',
      payload: { class: 'broken', queue: 'q', args: ['arg'], id, attempt: 2 },
      exception: 'TypeError',
      error: 'always broken',
    });
    expect(record!.backtrace.length).toBeGreaterThan(0);
    expect(Date.parse(record!.failed_at)).not.toBeNaN();
    expect(await queue.status(id)).toMatchObject({ state: 'failed', attempts: 2, error: 'always broken' });
    expect(await redis.get('resque:stat:failed')).toBe('1');
    // retryFailed puts it back with a fresh attempt count, atomically (no worker running, to look at it)
    await w.stop();
    expect(await queue.retryFailed(record!)).toBe(true);
    expect(await queue.length('q')).toBe(1);
    expect(await queue.failedCount()).toBe(0);
    expect(await queue.status(id)).toMatchObject({ state: 'queued', attempts: 0 });
  });

  it('a permanent error skips the retries', async () => {
    const permanent = Object.assign(new Error('550 mailbox unavailable'), { permanent: true });
    const w = worker({ send: () => Promise.reject(permanent) }, { maxAttempts: 5 });
    const failure = nextEvent<[Job, Error]>(w, 'failure', 10_000);
    await w.start();
    await queue.enqueue('q', 'send');
    expect((await failure)[0].attempt).toBe(1);
    expect(await redis.zcard('resque:delayed_queue_schedule')).toBe(0);
  });
});

describe('a worker killed with SIGKILL mid-job', () => {
  it('is found dead by its heartbeat and its jobs go back to the head of the queue, in order, within seconds', async () => {
    const ids = await queue.enqueueMany('q', 'work', [[1], [2], [3]]);
    const dying = spawnEntry('test/fixtures/queue-worker.ts', { REDIS_URL: server.url, HANG: '1', PREFETCH: '2', SCHEDULER: 'off' });
    const { name } = (await dying.waitForLog((l) => l.msg === 'worker ready')) as unknown as { name: string };
    await dying.waitForLog((l) => l.msg === 'job started');
    await until(async () => (await redis.llen(`resque:processing:${name}`)) === 3, 10_000, 'the worker to hold 3 jobs');
    const later = await queue.enqueue('q', 'work', [4]);

    const s = scheduler();
    const recovered = nextEvent<[Recovery]>(s, 'recovered', 20_000);
    await s.start();
    const killedAt = Date.now();
    expect(await dying.stop('SIGKILL')).toBe('SIGKILL');
    const [recovery] = await recovered;
    const took = Date.now() - killedAt;
    expect(recovery).toEqual({ worker: name, jobs: 3 });
    expect(took).toBeLessThan(10_000); // heartbeat TTL 5 s + a recovery pass every 1 s
    const queued = (await redis.lrange('resque:queue:q', 0, -1)).map((p) => JSON.parse(p).id);
    expect(queued).toEqual([...ids, later]);
    expect(await queue.status(ids[0]!)).toMatchObject({ state: 'queued' });
    // nothing of the dead worker is left: registration, ping, working-on, processing list
    expect(await redis.keys(`resque:*${name}*`)).toEqual([]);
    expect(await redis.smembers('resque:workers')).toEqual([]);

    const seen: number[] = [];
    const w = worker({ work: (n: number) => void seen.push(n) });
    const all = new Promise<void>((resolve) => w.on('success', () => seen.length === 4 && resolve()));
    await w.start();
    await all;
    expect(seen).toEqual([1, 2, 3, 4]);
  });
});

describe('leader election', () => {
  it('exactly one scheduler leads; when it stops, another takes over', async () => {
    const a = scheduler();
    const b = scheduler();
    await a.start();
    await b.start();
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    const takeover = nextEvent<[boolean]>(b, 'leader', 5000);
    await a.stop();
    expect(await takeover).toEqual([true]);
    expect(await redis.get('resque:scheduler:leader')).toBe(b.token);
  });
});

describe('Redis restarts', () => {
  it('a worker finishes its job, reconnects and carries on; nobody is declared dead', async () => {
    let release!: () => void;
    const w = worker({ slow: () => new Promise<void>((r) => (release = r)), fast: () => 'ok' });
    const s = scheduler();
    const recoveries: Recovery[] = [];
    s.on('recovered', (r) => recoveries.push(r));
    await w.start();
    await s.start();
    const started = nextEvent(w, 'job');
    const slow = await queue.enqueue('q', 'slow');
    await started;

    await server.restart(); // SIGTERM: the append-only file keeps every acknowledged write
    const slowDone = nextEvent<[Job]>(w, 'success', 20_000);
    release();
    expect((await slowDone)[0].id).toBe(slow);
    const fastDone = nextEvent<[Job, unknown]>(w, 'success', 20_000);
    const fast = await queue.enqueue('q', 'fast');
    expect((await fastDone)[0].id).toBe(fast);
    expect(await redis.get('resque:stat:processed')).toBe('2');
    expect(await redis.llen(`resque:processing:${w.name}`)).toBe(0);
    expect(recoveries).toEqual([]);
    expect(await redis.sismember('resque:workers', `${w.name}:q`)).toBe(1);
  });
});

describe('dropped connections', () => {
  it('CLIENT KILL mid-load: the worker reconnects, reconciles its processing list, and every job runs exactly once', async () => {
    const performed = new Map<number, number>();
    const w = worker({ work: async (n: number) => void performed.set(n, (performed.get(n) ?? 0) + 1) }, { prefetch: 10 });
    const total = 300;
    let succeeded = 0;
    const half = new Promise<void>((resolve) => w.on('success', () => ++succeeded === total / 3 && resolve()));
    await queue.enqueueMany('q', 'work', Array.from({ length: total }, (_, i) => [i]));
    await w.start();
    await half;
    // Every client connection but this one drops: commands in flight may have run with their replies lost.
    await client().call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await until(async () => (await redis.get('resque:stat:processed')) === String(total), 20_000, 'every job acked');
    expect(performed.size).toBe(total);
    expect([...performed.values()].every((n) => n === 1)).toBe(true);
    expect(await redis.llen(`resque:processing:${w.name}`)).toBe(0);
    expect(await queue.length('q')).toBe(0);
  });
});

describe('a worker declared dead while it was alive (cut off longer than its heartbeat TTL)', () => {
  it('drops the jobs it had prefetched (they went back to the queue) instead of running them twice', async () => {
    let release!: () => void;
    const performed: number[] = [];
    const w = worker(
      {
        work: (n: number) => {
          performed.push(n);
          // The first run of job 1 waits for the test; any later run finishes at once.
          return n === 1 && performed.filter((p) => p === 1).length === 1 ? new Promise<void>((r) => (release = r)) : undefined;
        },
      },
      { prefetch: 3 },
    );
    const errors: Error[] = [];
    w.on('error', (err) => errors.push(err));
    await queue.enqueueMany('q', 'work', [[1], [2], [3], [4]]);
    const started = nextEvent(w, 'job');
    await w.start();
    await started;
    await until(() => w.prefetched === 3, 5000, '3 prefetched');

    // Pretend its heartbeat expired: the leader hands its 4 jobs back.
    await redis.zadd('resque:heartbeats', 0, w.name);
    const [recovery] = await scheduler().recoverDeadWorkers();
    expect(recovery).toEqual({ worker: w.name, jobs: 4 });
    await until(() => errors.some((e) => /declared dead/.test(e.message)), 5000, 'the worker to notice');

    let succeeded = 0;
    w.on('success', () => succeeded++);
    release();
    await until(async () => (await redis.get('resque:stat:processed')) === '4' && succeeded >= 4, 10_000, 'all 4 jobs to succeed');
    // Job 1 was running when it was handed back, so it runs again (at least once);
    // jobs 2-4 were only prefetched and run exactly once.
    expect(performed.filter((n) => n !== 1).sort()).toEqual([2, 3, 4]);
    expect(await redis.sismember('resque:workers', `${w.name}:q`)).toBe(1);
  });
});

describe('payloads that name no queue', () => {
  it('a due one and one held by a dead worker end in the failed list, counted, instead of vanishing', async () => {
    const s = new Scheduler({ redis: client() }); // not started: the test runs one pass of each
    await redis.zadd('resque:delayed_queue_schedule', 100, '100');
    await redis.rpush('resque:delayed:100', '{"class":"x","args":[],"id":"due"}');
    await redis.zadd('resque:heartbeats', 0, 'ghost'); // dead, and never registered: no queue to fall back on
    await redis.rpush('resque:processing:ghost', '{"class":"x","args":[],"id":"held"}');

    expect(await s.moveDueJobs()).toBe(1);
    expect(await s.recoverDeadWorkers()).toEqual([{ worker: 'ghost', jobs: 1 }]);
    const records = (await redis.lrange('resque:failed', 0, -1)).map((r) => JSON.parse(r));
    expect(records).toMatchObject([
      { worker: 'scheduler', queue: '', exception: 'InvalidPayload', error: 'delayed payload names no queue', payload: '{"class":"x","args":[],"id":"due"}' },
      { worker: 'ghost', queue: '', exception: 'RecoveryError', error: 'payload of a dead worker names no queue', payload: '{"class":"x","args":[],"id":"held"}' },
    ]);
    expect(await redis.get('resque:stat:failed')).toBe('2');
    expect(await redis.exists('resque:delayed_queue_schedule', 'resque:processing:ghost')).toBe(0);
  });
});
