// The MultiWorker against a real private Redis, in this process: it scales up
// for jobs that wait on timers, stays at its minimum for jobs that hog the
// CPU (while its heartbeat keeps it alive), lets a removed processor finish
// its job, holds two Redis connections however many processors it runs, and
// drains on stop() like the plain Worker. Crashes and signals are in
// strategy-5-multi-worker.test.ts, against real processes.
import { describe, expect, it } from 'vitest';
import { createRedis } from '../../shared/redis.ts';
import { MultiWorker, Scheduler, type MultiWorkerAction, type MultiWorkerOptions, type MultiWorkerStatus } from '../../shared/queue/index.ts';
import { busyWait } from '../../strategies/5-multi-worker/demo-jobs.ts';
import { eventually, queueTestbed } from '../helpers/queue.ts';

const { redis, queue, server, client, afterTest } = await queueTestbed();

/** A MultiWorker on its own named connection (so the test can count its connections), every action recorded. */
function multiWorker(jobs: MultiWorkerOptions['jobs'], options: Partial<MultiWorkerOptions> = {}) {
  const own = createRedis(server.url, { connectionName: 'multiworker-under-test' });
  const mw = new MultiWorker({ redis: own, queues: ['q'], jobs, minTaskProcessors: 1, maxTaskProcessors: 20, checkTimeout: 100, ...options });
  const actions: MultiWorkerAction[] = [];
  const errors: Error[] = [];
  mw.on('multiWorkerAction', (a) => actions.push(a));
  mw.on('error', (err) => errors.push(err));
  afterTest(async () => {
    await mw.stop(1000);
    own.disconnect();
  });
  return { mw, actions, errors };
}

/** Resolves once `count` jobs succeeded; rejects on the first failure or retry. */
function allSucceeded(mw: MultiWorker, count: number, timeoutMs: number): Promise<Map<string, number>> {
  const runs = new Map<string, number>();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${[...runs.values()].reduce((a, b) => a + b, 0)} of ${count} jobs succeeded in ${timeoutMs} ms`)), timeoutMs);
    let done = 0;
    mw.on('success', (job) => {
      runs.set(job.id!, (runs.get(job.id!) ?? 0) + 1);
      if (++done === count) {
        clearTimeout(timer);
        resolve(runs);
      }
    });
    mw.on('failure', (job, err) => reject(new Error(`job ${job.id} failed: ${err.message}`)));
    mw.on('retry', (job, err) => reject(new Error(`job ${job.id} retried: ${err.message}`)));
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('jobs that wait on I/O', () => {
  it('processors rise from 1 towards the max, every job runs exactly once, over two Redis connections', async () => {
    const ids = await queue.enqueueMany('q', 'sleepy', Array.from({ length: 300 }, () => [100]));
    const { mw, actions, errors } = multiWorker({ sleepy: (ms: number) => sleep(ms) });
    const done = allSucceeded(mw, ids.length, 30_000);
    await mw.start();
    expect(mw.processors).toBe(1);
    await eventually(() => mw.processors >= 15, 20_000, 'processors to near the max');
    const clients = (await redis.client('LIST')) as string;
    const connections = clients.split('\n').filter((line) => line.includes('name=multiworker-under-test')).length;
    const runs = await done;

    // 300 jobs of 100 ms: at 1 processor that is 30 s; it reached the max in a few checks.
    const added = actions.filter((a) => a.verb === 'added');
    expect(added.length).toBeGreaterThan(0);
    expect(Math.max(...actions.map((a) => a.processors))).toBe(20);
    expect(connections).toBe(2); // one for commands, one for blocking waits - not one per processor
    expect([...runs.keys()].sort()).toEqual([...ids].sort());
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(await redis.get('resque:stat:processed')).toBe('300');
    expect(await redis.llen(`resque:processing:${mw.name}`)).toBe(0);
    expect(errors).toEqual([]);

    // Its status is in Redis, where /stats and the dashboard read it.
    const status = JSON.parse((await redis.get(`resque:multiworker:${mw.name}`))!) as MultiWorkerStatus;
    expect(status).toMatchObject({ min: 1, max: 20, processors: expect.any(Number), delayMs: expect.any(Number), utilization: expect.any(Number) });
    expect((await queue.stats()).workers[0]?.multiWorker).toMatchObject({ max: 20 });
  });

  it('every action carries the measurements behind it', async () => {
    await queue.enqueueMany('q', 'sleepy', Array.from({ length: 40 }, () => [100]));
    const { mw, actions } = multiWorker({ sleepy: (ms: number) => sleep(ms) });
    const done = allSucceeded(mw, 40, 20_000);
    await mw.start();
    await done;
    const first = actions.find((a) => a.verb === 'added')!;
    expect(first).toMatchObject({ previous: 1, busy: 1, verb: 'added', reason: expect.stringMatching(/loop healthy/) });
    expect(first.processors).toBeGreaterThan(1);
    for (const a of actions) {
      expect(a.delayMs).toBeGreaterThanOrEqual(0);
      expect(a.ownDelayMs).toBeLessThanOrEqual(a.delayMs + 1e-9);
      expect(a.utilization).toBeGreaterThanOrEqual(0);
      expect(a.utilization).toBeLessThanOrEqual(1);
    }
    expect(mw.lastAction).toBe(actions.at(-1));
  });
});

describe('jobs that hog the CPU', () => {
  it('processors stay at or near the minimum, and the heartbeat keeps the worker alive between jobs', async () => {
    // Each job blocks the whole process - heartbeat timer included - for 400 ms.
    // The heartbeat beats every 1 s and is trusted for 5 s (defaults.ts), so a
    // beat is at most ~1.4 s late: 400 ms stays well under the TTL. A 5 s
    // busy-wait would get this worker declared dead and its job run twice.
    const JOB_MS = 400;
    await queue.enqueueMany('q', 'hog', Array.from({ length: 6 }, () => [JOB_MS]));
    const { mw, actions, errors } = multiWorker({ hog: (ms: number) => busyWait(ms) });
    // A scheduler watching for dead workers, as every worker process runs one.
    const scheduler = new Scheduler({ redis: client() });
    const recovered: unknown[] = [];
    scheduler.on('recovered', (r) => recovered.push(r));
    scheduler.on('error', () => {});
    afterTest(() => scheduler.stop());
    const heartbeatLeft: number[] = [];
    mw.on('success', () => {
      // Between two jobs: how long would Redis still trust this worker?
      void Promise.all([redis.zscore('resque:heartbeats', mw.name), redis.time()]).then(([deadline, [s, us]]) =>
        heartbeatLeft.push(Number(deadline) - (Number(s) * 1000 + Math.floor(Number(us) / 1000))),
      );
    });
    const done = allSucceeded(mw, 6, 30_000);
    await scheduler.start();
    await mw.start();
    await done;
    await eventually(() => heartbeatLeft.length === 6, 5_000, 'the heartbeat readings');

    expect(Math.max(...actions.map((a) => a.processors))).toBeLessThanOrEqual(2);
    expect(actions.some((a) => a.reason.includes('blocked') && a.ownDelayMs > 100)).toBe(true);
    expect(Math.min(...heartbeatLeft)).toBeGreaterThan(2_500);
    expect(recovered).toEqual([]);
    expect(errors).toEqual([]);
  });
});

describe('a mix, as in the talk', () => {
  it('cuts processors when a CPU-bound job blocks the loop, and the processors it removes finish their jobs', async () => {
    // Sleeps of 1 s, with a 300 ms busy-wait now and then: when it blocks, most sleeps started before it are still running.
    const names = Array.from({ length: 60 }, (_, i) => ([15, 35, 50].includes(i) ? 'slowCPUJob' : 'slowSleepJob'));
    for (const name of names) await queue.enqueue('q', name, [name === 'slowCPUJob' ? 300 : 1000]);
    let started = 0;
    const { mw, actions, errors } = multiWorker({
      slowSleepJob: (ms: number) => {
        started++;
        return sleep(ms);
      },
      slowCPUJob: (ms: number) => {
        started++;
        busyWait(ms);
      },
    });
    const removedWhileBusy: { processors: number; active: number }[] = [];
    mw.on('multiWorkerAction', (a) => a.verb === 'removed' && a.reason.includes('blocked') && removedWhileBusy.push({ processors: a.processors, active: mw.active }));
    const done = allSucceeded(mw, names.length, 30_000);
    await mw.start();
    const runs = await done;

    expect(removedWhileBusy.length).toBeGreaterThan(0);
    // Cut below the jobs still running: those jobs were not interrupted - every job succeeded, once.
    expect(removedWhileBusy.some((r) => r.active > r.processors)).toBe(true);
    expect(started).toBe(names.length);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(actions.some((a) => a.verb === 'added' && a.previous > 1)).toBe(true);
    expect(errors).toEqual([]);
  });
});

describe('stopping', () => {
  it('drains like Worker.stop(): running jobs finish, nothing is left reserved, the status goes', async () => {
    await queue.enqueueMany('q', 'sleepy', Array.from({ length: 12 }, () => [600]));
    const { mw } = multiWorker({ sleepy: (ms: number) => sleep(ms) });
    let succeeded = 0;
    mw.on('success', () => succeeded++);
    await mw.start();
    await eventually(() => mw.active >= 4, 10_000, 'at least 4 jobs running at once');
    const running = mw.active;
    const result = await mw.stop(5_000);

    expect(result).toEqual({ unfinished: 0, handedBack: 0 });
    expect(succeeded).toBeGreaterThanOrEqual(running);
    expect(await redis.llen(`resque:processing:${mw.name}`)).toBe(0);
    expect(await redis.llen('resque:queue:q')).toBe(12 - succeeded);
    expect(await redis.sismember('resque:workers', `${mw.name}:q`)).toBe(0);
    expect(await redis.exists(`resque:multiworker:${mw.name}`)).toBe(0);
  });
});
