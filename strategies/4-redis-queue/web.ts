// Strategy 4 - Redis queue, the web process: validate, enqueue a `sendEmail`
// job in Redis, answer. It never talks SMTP and holds nothing in memory, so
// you can run as many as you like behind a load balancer.
//
// When the response returns: once Redis has the job - 202 {id, status, statusUrl}.
//   GET /emails/:id then says queued / delayed (a retry waits) / working / sent
//   / failed, with attempts and the last error.
// What a crash loses: nothing accepted (it is in Redis); requests cut off
//   mid-way get no 202, so their clients know to retry. Redis down: requests
//   wait for it to come back (ioredis reconnects), then get 202 or a 503.
//   A failover of the primary can lose what it had not yet replicated, unless
//   ENQUEUE_REPLICAS: then the 202 waits until that many replicas have the job,
//   and becomes a 503 the client retries with the same id (added once).
// Walkthrough: docs/walkthrough.md, "4. Redis queue".
//
//   REDIS_URL=redis://127.0.0.1:6379 npm run strategy:4:web   # alone; start workers with the same REDIS_URL
import { EMAIL_QUEUE, SEND_EMAIL, type Email } from '../../shared/email.ts';
import { httpOptions, startHttp, type Reply } from '../../shared/http.ts';
import { isMain, runStrategy, type Running, type StrategyContext } from '../../shared/main.ts';
import { dashboardRoutes } from '../../shared/dashboard/server.ts';
import { Queue, type JobState } from '../../shared/queue/index.ts';
import { collectQueueMetrics } from '../../shared/metrics/queue.ts';
import { NotReplicated, notReplicatedReply, replicaConfirmer } from '../../shared/durable.ts';
import { webRedis } from '../../shared/redis.ts';

// The queue knows jobs; this API speaks of emails.
const emailStatus: Record<JobState, string> = { queued: 'queued', delayed: 'delayed', working: 'working', succeeded: 'sent', failed: 'failed' };

/** Strategy 5 runs this same web process under its own name (strategies/5-multi-worker/web.ts). */
export async function startWeb({ strategy = '4-redis-queue', config, logger, redisUrl }: StrategyContext): Promise<Running> {
  if (!redisUrl) throw new Error('the web process needs Redis');
  const redis = webRedis(redisUrl, logger);
  const queue = new Queue({ redis, namespace: config.QUEUE_NAMESPACE });
  const replicas = replicaConfirmer(redis, config);
  collectQueueMetrics(() => queue.stats()); // read from Redis when scraped, never per request
  let url = '';

  async function accept(email: Email): Promise<Reply> {
    try {
      // The email's tracking id is the job id: one id from the request to the sink.
      const id = await queue.enqueue(EMAIL_QUEUE, SEND_EMAIL, [email], { id: email.id });
      await replicas.confirm();
      return { status: 202, body: { id, status: 'queued', statusUrl: `${url}/emails/${encodeURIComponent(id)}` } };
    } catch (err) {
      if (err instanceof NotReplicated) {
        logger.warn({ id: email.id, err: err.message }, 'enqueued, not confirmed by the replicas: 503');
        return notReplicatedReply(email.id, err, config);
      }
      logger.error({ id: email.id, err: (err as Error).message }, 'could not enqueue');
      return { status: 503, body: { id: email.id, error: 'the queue is unavailable; try again' }, headers: { 'retry-after': '1' } };
    }
  }

  async function status(id: string): Promise<Reply> {
    const s = await queue.status(id);
    if (!s) return { status: 404, body: { id, error: 'no email with this id (or its status expired)' } };
    const { state, attempts, error, enqueuedAt, updatedAt, runAt } = s;
    return { status: 200, body: { id, status: emailStatus[state], attempts, lastError: error ?? null, enqueuedAt, updatedAt, runAt: runAt ?? null } };
  }

  async function stats() {
    const s = await queue.stats();
    // pending: accepted and not finished - what the benchmark waits to reach 0.
    return { strategy, pending: s.queued + s.delayed + s.working, sent: s.processed, ...s };
  }

  // resque-web's questions (how long is the queue? how long do jobs wait?) answered at /dashboard.
  const dashboard = dashboardRoutes({ redis: redisUrl, logger: logger.child({ component: 'dashboard' }), host: config.HOST, namespace: config.QUEUE_NAMESPACE });
  const http = await startHttp(
    {
      accept,
      stats,
      routes: [{ method: 'GET', path: /^\/emails\/([A-Za-z0-9][A-Za-z0-9._:-]{0,127})$/, name: '/emails/:id', handle: (m) => status(m[1]!) }, ...dashboard.routes],
    },
    httpOptions(config, logger),
  );
  url = http.url;
  logger.info({ dashboard: `${url}${dashboard.basePath}` }, `dashboard at ${url}${dashboard.basePath}`);
  return {
    url,
    async close() {
      await http.close();
      await dashboard.close();
      await redis.quit();
    },
  };
}

if (isMain(import.meta.url)) await runStrategy('4-redis-queue', startWeb, { redis: true, smtp: false });
