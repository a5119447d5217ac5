// Where a job's status lives against a real private Redis: a waiting job's is
// one field of <ns>:queued, which becomes a hash of its own (with a TTL) once
// anything happens to the job; the scheduler's sweep drops the fields of jobs
// that waited longer than the TTL; and what that layout costs a waiting job.
import { describe, expect, it } from 'vitest';
import { newJobId, Queue, Scheduler, type Job } from '../../shared/queue/index.ts';
import { nextEvent, queueTestbed } from '../helpers/queue.ts';

const { redis, queue, worker } = await queueTestbed();

/** Writes Redis has counted since its last save: a script that wrote nothing adds none. */
const writes = async () => Number(/rdb_changes_since_last_save:(\d+)/.exec(await redis.info('persistence'))![1]);

describe('a waiting job', () => {
  it('has its status as one field of resque:queued and no key of its own', async () => {
    const id = await queue.enqueue('q', 'sendEmail', [{ to: 'a@example.com' }]);
    expect(await redis.exists(`resque:job:${id}`)).toBe(0);
    const [at, rest] = (await redis.hget('resque:queued', id))!.split(/\|(.*)/s);
    expect(rest).toBe('q|sendEmail');
    expect(await queue.status(id)).toEqual({
      id, state: 'queued', queue: 'q', class: 'sendEmail', attempts: 0, error: undefined, enqueuedAt: Number(at), updatedAt: Number(at), runAt: undefined,
    });
  });

  it('enqueued again with its id, adds no job but still writes, so that a WAIT after it waits for the first copy', async () => {
    await queue.enqueue('q', 'x', [], { id: 'again' });
    const before = await writes();
    await queue.enqueue('q', 'x', [], { id: 'again' });
    expect(await queue.length('q')).toBe(1);
    expect(await writes()).toBeGreaterThan(before);
  });

  it('keeps a class with "|" in it whole, and a queue name with "|" is refused with nothing written', async () => {
    const id = await queue.enqueue('q', 'a|b', []);
    expect(await queue.status(id)).toMatchObject({ queue: 'q', class: 'a|b' });
    await expect(queue.enqueue('q|r', 'x', [])).rejects.toThrow(/queue name must be non-empty and without "\|"/);
    await expect(queue.enqueueAt(Date.now(), '', 'x', [])).rejects.toThrow(/queue name/);
    expect(await redis.keys('*')).toEqual(expect.not.arrayContaining([expect.stringContaining('q|r')]));
    expect(await queue.length('q')).toBe(1);
  });

  it('gets an id of 25 characters in [0-9a-z], a new one each time', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newJobId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-z]{25}$/);
  });
});

describe('once anything happens to it, the job has its own status hash with a TTL', () => {
  it('working while it runs, succeeded after, and the field in resque:queued is gone', async () => {
    let release!: () => void;
    const running = new Promise<void>((r) => (release = r));
    const id = await queue.enqueue('q', 'hold', []);
    const w = worker({ hold: () => running });
    const started = nextEvent<[Job]>(w, 'job', 10_000);
    await w.start();
    await started;
    // start() is recorded in a batch after the job is under way: wait for it.
    await expect.poll(() => queue.status(id), { timeout: 10_000 }).toMatchObject({ state: 'working', attempts: 1 });
    expect(await redis.hexists('resque:queued', id)).toBe(0);
    const done = nextEvent<[Job]>(w, 'success', 10_000);
    release();
    await done;
    await expect.poll(() => queue.status(id), { timeout: 10_000 }).toMatchObject({ state: 'succeeded', attempts: 1, queue: 'q', class: 'hold' });
    expect(await redis.pttl(`resque:job:${id}`)).toBeGreaterThan(0);
  });

  it('failed, with its error, when it fails for good; delayed, with when it runs again, when it will be retried', async () => {
    const [once, twice] = await queue.enqueueMany('q', 'boom', [['once'], ['twice']]);
    const w = worker({ boom: (which: string) => Promise.reject(new Error(`boom ${which}`)) }, { maxAttempts: 1 });
    const failed = nextEvent<[Job]>(w, 'failure', 10_000, (job) => job.id === twice);
    await w.start();
    await failed;
    expect(await queue.status(once!)).toMatchObject({ state: 'failed', attempts: 1, error: 'boom once', class: 'boom' });
    expect(await redis.hlen('resque:queued')).toBe(0);

    await w.stop(500);
    const later = await queue.enqueue('q', 'flaky', []);
    const r = worker({ flaky: () => Promise.reject(new Error('not yet')) }, { maxAttempts: 2, backoff: () => 60_000 });
    const retried = nextEvent<[Job]>(r, 'retry', 10_000);
    await r.start();
    await retried;
    const status = await queue.status(later);
    expect(status).toMatchObject({ state: 'delayed', attempts: 1, error: 'not yet' });
    expect(status!.runAt! - Date.now()).toBeGreaterThan(50_000);
  });
});

describe("the scheduler's sweep", () => {
  it('walks resque:queued a step at a time and drops only the statuses of jobs that waited longer than the TTL', async () => {
    const ttlMs = 60_000;
    // More fields than Redis keeps in a packed hash (hash-max-listpack-entries, 512 here), so that HSCAN walks it in steps.
    const fresh = await queue.enqueueMany('q', 'x', Array.from({ length: 600 }, () => []));
    // What a job a foreign worker took long ago leaves behind: its field, never turned into a hash.
    const stale = Array.from({ length: 40 }, (_, i) => `stale-${i}`);
    for (const id of stale) await redis.hset('resque:queued', id, `${Date.now() - ttlMs - 1_000}|q|x`);
    const scheduler = new Scheduler({ redis, statusTtlMs: ttlMs, sweepBatch: 100 });
    let dropped = 0;
    let steps = 0;
    do {
      dropped += await scheduler.sweepQueuedStatuses();
      steps += 1;
    } while ((await redis.hlen('resque:queued')) > fresh.length && steps < 100);
    expect(dropped).toBe(stale.length);
    expect(steps).toBeGreaterThan(1);
    expect((await redis.hkeys('resque:queued')).sort()).toEqual([...fresh].sort());
    expect(await queue.status(stale[0]!)).toBeNull();
    expect(await queue.status(fresh[0]!)).toMatchObject({ state: 'queued' });
  });

  it('takes bigger steps on a bigger hash, so a walk ends within sweepPassSteps or so', async () => {
    const stale = `${Date.now() - 120_000}|q|x`;
    const fields = Object.fromEntries(Array.from({ length: 1200 }, (_, i) => [`left-${i}`, stale]));
    await redis.hset('resque:queued', fields);
    const scheduler = new Scheduler({ redis, statusTtlMs: 60_000, sweepBatch: 1, sweepPassSteps: 3 });
    let steps = 0;
    while ((await redis.hlen('resque:queued')) > 0 && steps < 100) {
      await scheduler.sweepQueuedStatuses();
      steps += 1;
    }
    // One field a step (sweepBatch) would take 1,200; HSCAN's COUNT is a hint, so allow a few more than 3.
    expect(steps).toBeLessThanOrEqual(8);
  });

  it('drops nothing when the queue keeps no status', async () => {
    await redis.hset('resque:queued', 'old', '1|q|x');
    expect(await new Scheduler({ redis, statusTtlMs: 0 }).sweepQueuedStatuses()).toBe(0);
    expect(await redis.hexists('resque:queued', 'old')).toBe(1);
  });
});

describe('what a waiting job costs', () => {
  it('about 215 bytes of Redis memory with its status (a hash of its own cost about 400), about 120 without', async () => {
    const perJob = async (q: Queue, n: number) => {
      const before = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
      for (let i = 0; i < n; i += 1000) await q.enqueueMany('q', 'noop', Array.from({ length: 1000 }, () => []));
      const after = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
      await redis.flushall();
      return (after - before) / n;
    };
    await perJob(queue, 1000); // loads the script, grows the client buffers once
    const withStatus = await perJob(queue, 20_000);
    const without = await perJob(new Queue({ redis, statusTtlMs: 0 }), 20_000);
    expect(withStatus).toBeLessThan(250);
    expect(without).toBeLessThan(150);
    expect(withStatus - without).toBeGreaterThan(50); // the status is there
  });
});
