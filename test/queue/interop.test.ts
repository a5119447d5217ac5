// Interop with the real node-resque package (a dev dependency), both ways, on
// one Redis: what our Queue enqueues a node-resque Worker performs; what
// node-resque's Queue enqueues our Worker performs; node-resque's Queue reads
// our queue lengths, failed jobs and workers. This is what "resque data
// layout" buys: the two libraries can share a Redis during a migration.
import { describe, expect, it } from 'vitest';
import * as NR from 'node-resque';
import { Scheduler, Worker, type Jobs, type Job, type WorkerOptions } from '../../shared/queue/index.ts';
import { nextEvent, queueTestbed, until } from '../helpers/queue.ts';

const testbed = await queueTestbed();
const { redis, queue, server, client, afterTest } = testbed;
const connection = { host: '127.0.0.1', port: server.port, namespace: 'resque' };

async function resqueQueue(): Promise<NR.Queue> {
  const q = new NR.Queue({ connection });
  q.on('error', () => {});
  await q.connect();
  afterTest(() => q.end());
  return q;
}

/** A node-resque Worker on the emails queue, connected (start it when the test is ready). */
async function resqueWorker(jobs: NR.Jobs): Promise<NR.Worker> {
  const worker = new NR.Worker({ connection, queues: ['emails'], timeout: 20 }, jobs);
  worker.on('error', () => {});
  await worker.connect();
  afterTest(() => worker.end());
  return worker;
}

/** Our Worker on the emails queue. */
function ourWorker(jobs: Jobs, options: Partial<WorkerOptions> = {}): Worker {
  return testbed.worker(jobs, { queues: ['emails'], ...options }, () => {});
}

describe('ours -> node-resque', () => {
  it('a job enqueued by our Queue is performed by a node-resque Worker, with its arguments', async () => {
    const performed: unknown[][] = [];
    const worker = await resqueWorker({ sendEmail: { perform: async (...args: unknown[]) => void performed.push(args) } });
    const done = nextEvent(worker, 'success', 10_000);
    await worker.start();
    await queue.enqueue('emails', 'sendEmail', [{ to: 'a@example.com' }, 2]);
    await done;
    expect(performed).toEqual([[{ to: 'a@example.com' }, 2]]);
    expect(await redis.get('resque:stat:processed')).toBe('1');
  });

  it("our delayed job is moved by node-resque's Scheduler (same delayed layout)", async () => {
    const scheduler = new NR.Scheduler({ connection, timeout: 50 });
    scheduler.on('error', () => {});
    await scheduler.connect();
    afterTest(() => scheduler.end());
    await scheduler.start();
    await queue.enqueueIn(200, 'emails', 'sendEmail', ['later']);
    const nrQueue = await resqueQueue();
    await until(async () => (await nrQueue.length('emails')) === 1, 10_000, 'node-resque to move the delayed job');
    expect(await redis.keys('resque:timestamps:*')).toEqual([]);
  });
});

describe('node-resque -> ours', () => {
  it("a job enqueued by node-resque's Queue is performed by our Worker", async () => {
    const nrQueue = await resqueQueue();
    const w = ourWorker({ sendEmail: (email: unknown, n: unknown) => ({ email, n }) });
    const done = nextEvent<[Job, unknown]>(w, 'success', 10_000);
    await w.start();
    await nrQueue.enqueue('emails', 'sendEmail', [{ to: 'b@example.com' }, 3]);
    const [job, result] = await done;
    expect(result).toEqual({ email: { to: 'b@example.com' }, n: 3 });
    expect(job).toMatchObject({ class: 'sendEmail', queue: 'emails', id: undefined, attempt: 1 });
  });

  it("node-resque's delayed job is moved by our Scheduler and performed by our Worker", async () => {
    const nrQueue = await resqueQueue();
    const w = ourWorker({ sendEmail: () => 'ok' });
    const s = new Scheduler({ redis: client() });
    s.on('error', () => {});
    afterTest(() => s.stop());
    const done = nextEvent(w, 'success', 10_000);
    await w.start();
    await s.start();
    await nrQueue.enqueueIn(300, 'emails', 'sendEmail', ['later']);
    await done;
    expect(await redis.keys('resque:timestamps:*')).toEqual([]);
  });
});

describe('node-resque reads what we write', () => {
  it('our queue lengths, our workers and what they are working on', async () => {
    let release!: () => void;
    const w = ourWorker({ slow: () => new Promise<void>((r) => (release = r)) }, { name: 'host-a:4242' });
    await queue.enqueueMany('emails', 'slow', [[1], [2], [3]]);
    const started = nextEvent(w, 'job');
    await w.start();
    await started;
    const nrQueue = await resqueQueue();
    expect(await nrQueue.queues()).toEqual(['emails']);
    expect(await nrQueue.length('emails')).toBe(2);
    expect(await nrQueue.workers()).toEqual({ 'host-a:4242': 'emails' });
    await until(async () => typeof (await nrQueue.allWorkingOn())['host-a:4242'] === 'object', 5000, 'a working-on record');
    const working = (await nrQueue.allWorkingOn())['host-a:4242'] as unknown as { queue: string; payload: { class: string; args: unknown[] } };
    expect(working).toMatchObject({ queue: 'emails', worker: 'host-a:4242', payload: { class: 'slow', args: [1] } });
    const done = nextEvent(w, 'success');
    release();
    await done;
  });

  it('our failed jobs: listed, counted, removed and retried by node-resque', async () => {
    const w = ourWorker({ boom: () => Promise.reject(new RangeError('out of range')) }, { maxAttempts: 1 });
    const failures = new Promise<void>((resolve) => {
      let n = 0;
      w.on('failure', () => ++n === 2 && resolve());
    });
    await w.start();
    await queue.enqueueMany('emails', 'boom', [['first'], ['second']]);
    await failures;
    await w.stop(500);
    const nrQueue = await resqueQueue();
    expect(await nrQueue.failedCount()).toBe(2);
    const failed = await nrQueue.failed(0, -1);
    expect(failed[0]).toMatchObject({ queue: 'emails', exception: 'RangeError', error: 'out of range', payload: { class: 'boom', args: ['first'] } });
    expect(await nrQueue.removeFailed(failed[0]!)).toBe(1);
    await nrQueue.retryAndRemoveFailed(failed[1]!);
    expect(await nrQueue.failedCount()).toBe(0);
    expect(await nrQueue.length('emails')).toBe(1);
    expect((await nrQueue.stats()).failed).toBe('2');
  });

  it('and we read theirs: a node-resque failure shows in our failed() and stats()', async () => {
    const worker = await resqueWorker({ boom: { perform: async () => { throw new Error('node-resque failure'); } } });
    const failed = nextEvent(worker, 'failure', 10_000);
    await worker.start();
    const nrQueue = await resqueQueue();
    await nrQueue.enqueue('emails', 'boom', ['x']);
    await failed;
    const [record] = await queue.failed();
    expect(record).toMatchObject({ queue: 'emails', error: 'node-resque failure', payload: { class: 'boom', args: ['x'] } });
    const stats = await queue.stats();
    expect(stats).toMatchObject({ failed: 1, failedListed: 1 });
    expect(stats.workers.map((x) => [x.queues, x.heartbeat])).toEqual([[['emails'], false]]);
  });
});
