// Strategies 4 and 6 behind Sentinel: real redis-server processes (a primary,
// a replica, three sentinels; test/helpers/sentinel.ts), the strategies'
// real processes connecting through REDIS_SENTINELS, and this file's sink
// counting deliveries per id. A failover is a SIGKILL of the primary; the
// sentinels promote the replica, and nobody restarts anything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createRedis, formatAddress } from '../../shared/redis.ts';
import { email, getJson, postEmail, postTracked, settledStats } from '../helpers/http.ts';
import { SENTINEL_STEP_MS, startSentinelTopology, type SentinelTopology } from '../helpers/sentinel.ts';
import { startServices } from '../helpers/services.ts';
import { startEntry, type LogLine } from '../helpers/spawn.ts';
import { eventually } from '../helpers/wait.ts';

const { sink } = await startServices();
const STRATEGY_4 = 'strategies/4-redis-queue/main.ts';
const STRATEGY_6 = 'strategies/6-event-bus/main.ts';
// A failover and a rejoin, each bounded by SENTINEL_STEP_MS, and the load and deliveries around them.
const FAILOVER_TEST_MS = 4 * SENTINEL_STEP_MS;

const workerOnline = (l: LogLine) => l.msg === 'child online' && l.child === 'worker';
const recoveredLine = (l: LogLine) => /^recovered/.test(l.msg ?? '');

async function withTopology(test: (t: SentinelTopology) => Promise<void>): Promise<void> {
  const topology = await startSentinelTopology();
  try {
    await test(topology);
  } finally {
    await topology.stop();
  }
}

const env = (t: SentinelTopology, extra: Record<string, string> = {}) => ({
  PORT: '0',
  SMTP_URL: sink.url.href,
  REDIS_URL: '',
  ...t.env,
  ENQUEUE_REPLICAS: '1',
  ENQUEUE_REPLICA_TIMEOUT_MS: '500',
  ...extra,
});

/** A client through the same sentinels, as the strategies' processes have. */
function sentinelClient(t: SentinelTopology): Redis {
  const redis = createRedis(formatAddress({ kind: 'sentinel', sentinels: t.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })), master: t.env.REDIS_SENTINEL_MASTER }));
  redis.on('error', () => {});
  return redis;
}

/** Resolves when `client` reaches `status` (ioredis emits each as an event), bounded; errors on the way are expected. */
const statusEvent = (client: Redis, status: 'end' | 'ready', timeoutMs = 10_000) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${status}" within ${timeoutMs} ms; status ${client.status}`)), timeoutMs);
    client.once(status, () => (clearTimeout(timer), resolve()));
  });

describe('behind Sentinel, with ENQUEUE_REPLICAS=1', () => {
  it('strategy 4: a SIGKILL of the primary under steady load loses no accepted email, the workers carry on without a restart, and a worker killed afterwards is still recovered', async () => {
    await withTopology(async (t) => {
      const { child, url } = await startEntry(STRATEGY_4, env(t, { WORKERS: '2' }));
      const workers = child.lines.filter(workerOnline).map((l) => l.childPid);
      expect(workers).toHaveLength(2);

      const accepted: string[] = [];
      const refused: string[] = [];
      let next = 0;
      let loading = true;
      const client = async () => {
        while (loading) {
          const id = `failover-${next++}`;
          const r = await postTracked(url, id).catch(() => undefined);
          if (r?.status === 202) accepted.push(id);
          else refused.push(id);
          await new Promise((resolve) => setTimeout(resolve, 20)); // steady, not flat out: about 4 x 40 requests/s
        }
      };
      const load = Promise.all(Array.from({ length: 4 }, client));
      await eventually(() => accepted.length, (n) => n >= 30, 20_000, '30 accepted before the kill');
      const { killedAt, switchedAt, old, promoted } = await t.killPrimary();
      expect(promoted).not.toBe(old);
      // The operator brings the old primary back; the sentinels make it the new primary's replica.
      await old.start();
      await t.replicasOnline(1);
      const before = accepted.length;
      await eventually(() => accepted.length, (n) => n >= before + 20, 30_000, '20 more accepted once a replica is back');
      loading = false;
      await load;

      // Every 202 reaches the sink: the replica had each one before it was promoted.
      await sink.waitFor((_, s) => accepted.every((id) => s.deliveries().has(id)), 60_000, 'every accepted id');
      const firstAfter = Math.min(...[...sink.deliveries().keys()].flatMap((id) => sink.history(id).map((a) => a.at)).filter((at) => at > switchedAt));
      expect(firstAfter - killedAt).toBeLessThan(20_000);
      // Nobody was declared dead for the gap, no worker restarted.
      expect(child.lines.filter(recoveredLine)).toEqual([]);
      expect(child.lines.filter(workerOnline).map((l) => l.childPid)).toEqual(workers);
      expect(child.lines.filter((l) => l.msg === 'child exited')).toEqual([]);
      // At least once: only what was in flight when the primary died may arrive twice (2 workers, one job each).
      expect(sink.stats().duplicates).toBeLessThanOrEqual(2);
      expect(accepted.length + refused.length).toBe(next);

      // A worker SIGKILLed on the new primary still has its job handed back.
      sink.configure({ latencyMs: 1_500 });
      const redis = sentinelClient(t);
      try {
        expect((await postTracked(url, 'after-failover')).status).toBe(202);
        await eventually(() => getJson(`${url}/emails/after-failover`), (r) => r.body.status === 'working', 10_000, 'the email to be sending');
        const holder = await eventually(
          async () => {
            const lists = await redis.keys('resque:processing:*');
            for (const key of lists) if ((await redis.lrange(key, 0, -1)).some((p) => p.includes('after-failover'))) return key;
            return undefined;
          },
          (key) => key !== undefined,
          10_000,
          'the processing list holding the email',
        );
        const victim = Number(/:(\d+)-[0-9a-f]+$/.exec(holder!)?.[1]);
        expect(workers).toContain(victim);
        process.kill(victim, 'SIGKILL');
        const recovered = await child.waitForLog((l) => recoveredLine(l) && l.jobs === 1, 20_000, 'the recovery line');
        expect(recovered.worker).toMatch(new RegExp(`:${victim}-`));
        await sink.waitFor((_, s) => s.deliveries().has('after-failover'), 20_000, 'the recovered email');
      } finally {
        redis.disconnect();
      }
      await settledStats(url, 20_000);
      expect(await child.stop('SIGTERM')).toBe(0);
    });
  }, FAILOVER_TEST_MS);

  it('strategy 6: a SIGKILL of the primary under steady load loses no accepted email, and the mailer and signups groups carry on without a restart', async () => {
    await withTopology(async (t) => {
      const { child, url } = await startEntry(STRATEGY_6, env(t));
      const accepted: string[] = [];
      let next = 0;
      let loading = true;
      const client = async () => {
        while (loading) {
          const id = `six-failover-${next++}`;
          const r = await postTracked(url, id).catch(() => undefined);
          if (r?.status === 202) accepted.push(id);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      const load = Promise.all(Array.from({ length: 4 }, client));
      await eventually(() => accepted.length, (n) => n >= 30, 20_000, '30 accepted before the kill');
      await t.killPrimary();
      const before = accepted.length;
      const { old } = { old: t.servers.find((s) => s.pid() === undefined)! };
      await old.start();
      await t.replicasOnline(1);
      await eventually(() => accepted.length, (n) => n >= before + 20, 30_000, '20 more accepted once a replica is back');
      loading = false;
      await load;

      await sink.waitFor((_, s) => accepted.every((id) => s.deliveries().has(id)), 60_000, 'every accepted id').catch((err: Error) => {
        throw new Error(`${err.message}\n${child.lines.filter((l) => l.level !== undefined && Number(l.level) >= 40).map((l) => JSON.stringify(l)).slice(-30).join('\n')}`);
      });
      expect(child.lines.filter((l) => l.msg === 'child exited')).toEqual([]);
      expect(sink.stats().duplicates).toBeLessThanOrEqual(2);
      await settledStats(url, 30_000);
      expect(await child.stop('SIGTERM')).toBe(0);
    });
  }, FAILOVER_TEST_MS);

  describe('on one topology that each test leaves whole', () => {
    // A fresh topology takes some 10 s.
    let t: SentinelTopology;
    beforeAll(async () => void (t = await startSentinelTopology()), 2 * SENTINEL_STEP_MS);
    afterAll(() => t?.stop());

    it('a client that a +switch-master ended while it was reconnecting connects again', async () => {
      const client = sentinelClient(t);
      try {
        expect(await client.ping()).toBe('PONG');
        // The race on demand: ioredis's failover detector disconnects the connector while the client is
        // mid-connect (asking a sentinel), which aborts that connect and ends the client.
        const connector = (client as unknown as { connector: { disconnect(): void } }).connector;
        client.once('connecting', () => queueMicrotask(() => connector.disconnect()));
        const ended = statusEvent(client, 'end');
        client.disconnect(true);
        await ended;
        await statusEvent(client, 'ready');
        expect(await client.ping()).toBe('PONG');
      } finally {
        client.disconnect();
      }
    });

    for (const [strategy, entry] of [['4', STRATEGY_4], ['6', STRATEGY_6]] as const) {
      it(`strategy ${strategy}: it answers 503 with Retry-After; a retry with the same id once it is back answers 202, and the email arrives once`, async () => {
        await t.replicasOnline(1);
        const { child, url } = await startEntry(entry, env(t));
        expect((await postTracked(url, 'durable-first')).status).toBe(202);
        const primary = await t.primary();
        const replica = t.servers.find((s) => s !== primary)!;
        await replica.kill();

        const refused = await postEmail(url, email('durable'), { 'x-request-id': 'durable' });
        expect(refused.status).toBe(503);
        expect(refused.headers.get('retry-after')).toBe('1');
        expect(refused.body).toMatchObject({ id: 'durable', error: expect.stringMatching(/not confirmed by 1 replica.*X-Request-Id: durable/) });

        await replica.start();
        await t.replicasOnline(1);
        // As the 503 says: retry with the same id after Retry-After. The replica is back and acknowledging,
        // but on a loaded machine one WAIT may still miss the 500 ms: a few retries are what a client does.
        const retries: number[] = [];
        for (let attempt = 0; attempt < 5; attempt++) {
          const retried = await postEmail(url, email('durable'), { 'x-request-id': 'durable' });
          retries.push(retried.status);
          if (retried.status !== 503) {
            expect(retried.body).toMatchObject({ id: 'durable' });
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, Number(retried.headers.get('retry-after')) * 1_000));
        }
        expect(retries.at(-1)).toBe(202);

        await sink.waitFor((_, s) => s.deliveries().has('durable') && s.deliveries().has('durable-first'), 20_000, 'both emails');
        await settledStats(url, 20_000);
        expect(sink.deliveries().get('durable')).toBe(1);
        expect(sink.stats().duplicates).toBe(0);
        expect(await child.stop('SIGTERM')).toBe(0);
      }, 3 * SENTINEL_STEP_MS);
    }
  });
});
