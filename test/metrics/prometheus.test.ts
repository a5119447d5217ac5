// Strategy 4 scraped by a real Prometheus, as an SRE would wire it: the web
// process's /metrics and the worker's METRICS_PORT, every second. Then its
// HTTP API must answer the talk's questions with the true figures: the queue
// length is Redis's LLEN, the sent counter is what the sink received, and the
// rate of sending is above zero while the load runs.
import { afterEach, describe, expect, it } from 'vitest';
import { EMAIL_QUEUE } from '../../shared/email.ts';
import { keys } from '../../shared/queue/index.ts';
import { email, postEmail } from '../helpers/http.ts';
import { startServices } from '../helpers/services.ts';
import { spawnEntry, startEntry } from '../helpers/spawn.ts';
import { freePort, startPrometheus, type Prometheus, type Sample } from './prometheus.ts';

const { sink, redis, env } = await startServices({ redis: true, sink: { latencyMs: 10 } });
const value = (samples: Sample[]) => samples[0]?.value;
let prometheus: Prometheus | undefined;
afterEach(async () => {
  await prometheus?.stop();
  prometheus = undefined;
});

describe('strategy 4 under Prometheus', () => {
  it('reports the queue length Redis holds, as many sent as the sink received, and a non-zero send rate during the load', async () => {
    const workerPort = await freePort();
    const web = await startEntry('strategies/4-redis-queue/web.ts', env());
    prometheus = await startPrometheus({ web: [new URL(web.url).host], worker: [`127.0.0.1:${workerPort}`] });
    const job = (name: string) => `${name}{job="web",queue="${EMAIL_QUEUE}"}`;

    // No worker yet: what is accepted stays queued, and the gauge must say exactly how much.
    const queued = 40;
    for (let i = 0; i < queued; i++) expect((await postEmail(web.url, email(i), { 'x-request-id': `prom-q${i}` })).status).toBe(202);
    const llen = await redis.llen(keys('resque').queue(EMAIL_QUEUE));
    expect(llen).toBe(queued);
    await prometheus.until(job('queue_length'), (s) => value(s) === llen);
    expect(value(await prometheus.query('redis_up{job="web"}'))).toBe(1);
    expect(value(await prometheus.until(job('queue_latency_seconds'), (s) => (value(s) ?? 0) > 0))).toBeGreaterThan(0);

    // A worker, and a steady load of 25 emails a second for 4 seconds.
    const worker = spawnEntry('strategies/4-redis-queue/worker.ts', env({ METRICS_PORT: String(workerPort) }));
    await worker.waitForLog((l) => l.msg === 'worker ready', 30_000, 'worker ready');
    let loading = true;
    let posted = queued;
    const load = (async () => {
      const until = Date.now() + 4_000;
      while (Date.now() < until) {
        await Promise.all(Array.from({ length: 5 }, () => postEmail(web.url, email(posted), { 'x-request-id': `prom-l${posted++}` })));
        await new Promise((r) => setTimeout(r, 200));
      }
      loading = false;
    })();
    const rate = await prometheus.until('sum(rate(emails_sent_total{job="worker"}[3s]))', (s) => (value(s) ?? 0) > 0 || !loading, 10_000);
    expect(loading, 'the rate was read while the load still ran').toBe(true);
    expect(value(rate)).toBeGreaterThan(0);
    await load;

    // Drained: the queue gauge at 0 again and the counter equal to the sink's deliveries.
    await sink.waitFor((s) => s.unique === posted, 30_000, `${posted} emails`);
    expect(sink.stats().duplicates).toBe(0);
    await prometheus.until('sum(emails_sent_total{job="worker"})', (s) => value(s) === sink.stats().unique);
    await prometheus.until(job('queue_length'), (s) => value(s) === 0);
    expect(await redis.llen(keys('resque').queue(EMAIL_QUEUE))).toBe(0);
    expect(value(await prometheus.query('sum(emails_accepted_total{job="web"})'))).toBe(posted);
    expect(value(await prometheus.query('sum(emails_queue_wait_seconds_count{job="worker"})'))).toBe(posted);
    // The 40 that waited for the worker to start waited longer than any email of the load.
    const p99 = await prometheus.query('histogram_quantile(0.99, sum by (le) (emails_queue_wait_seconds_bucket{job="worker"}))');
    expect(value(p99)).toBeGreaterThan(0.5);
    expect(value(await prometheus.query('queue_workers{job="web",state="alive"}'))).toBe(1);

    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(await web.child.stop('SIGTERM')).toBe(0);
  });
});
