// Strategy 6 - event bus, the web process: validate, announce "an email was
// requested" on a Redis stream, answer. It does not know who reacts: the
// mailer group sends the email, the signups group counts it, and a group added
// next year can replay what the stream still holds.
//
// When the response returns: once Redis has the event - 202 {id, status, eventId}.
// What a crash loses: nothing accepted (it is in the stream; across a
//   failover of the primary only with ENQUEUE_REPLICAS, as strategy 4). With
//   EVENT_TRANSPORT=pubsub the event is published instead, at most once, to
//   whoever is subscribed at that instant: a consumer that is down or
//   reconnecting misses it for good, and nobody knows (the reply says how many
//   subscribers heard it; 0 means none).
// Walkthrough: docs/walkthrough.md, "6. Event bus".
//
//   REDIS_URL=redis://127.0.0.1:6379 npm run strategy:6:web   # alone; start consumers with the same REDIS_URL
import { checkEventBusOnCluster } from '../../shared/config.ts';
import type { Email } from '../../shared/email.ts';
import { dashboardRoutes } from '../../shared/dashboard/server.ts';
import { httpOptions, startHttp, type Reply } from '../../shared/http.ts';
import { isMain, runStrategy, type Running, type StrategyContext } from '../../shared/main.ts';
import { NotReplicated, notReplicatedReply, replicaConfirmer } from '../../shared/durable.ts';
import { webRedis } from '../../shared/redis.ts';
import { EventStream } from '../../shared/streams/stream.ts';
import { collectStreamMetrics } from '../../shared/metrics/streams.ts';
import { toEvent } from './events.ts';

const STRATEGY = '6-event-bus';

export async function startWeb({ config, logger, redisUrl }: StrategyContext): Promise<Running> {
  checkEventBusOnCluster(config);
  if (!redisUrl) throw new Error('the web process needs Redis');
  const redis = webRedis(redisUrl, logger);
  const stream = new EventStream(redis, config.EVENT_STREAM, config.STREAM_MAXLEN);
  const pubsub = config.EVENT_TRANSPORT === 'pubsub';
  const replicas = replicaConfirmer(redis, config);
  const published = { events: 0, heardByNobody: 0 };
  if (!pubsub) collectStreamMetrics(() => stream.info()); // lag and pending per group, read when scraped

  async function accept(email: Email): Promise<Reply> {
    try {
      if (pubsub) {
        const subscribers = await redis.publish(stream.name, JSON.stringify(toEvent(email)));
        published.events++;
        if (subscribers === 0) published.heardByNobody++;
        return { status: 202, body: { id: email.id, status: 'published', subscribers } };
      }
      const eventId = await stream.append(toEvent(email));
      await replicas.confirm();
      return { status: 202, body: { id: email.id, status: 'published', eventId } };
    } catch (err) {
      if (err instanceof NotReplicated) {
        logger.warn({ id: email.id, err: err.message }, 'appended, not confirmed by the replicas: 503');
        return notReplicatedReply(email.id, err, config);
      }
      logger.error({ id: email.id, err: (err as Error).message }, 'could not publish');
      return { status: 503, body: { id: email.id, error: 'the event bus is unavailable; try again' }, headers: { 'retry-after': '1' } };
    }
  }

  async function stats() {
    // Pub/sub keeps nothing: there is nothing pending to wait for, and nothing to count but what was published.
    if (pubsub) return { strategy: STRATEGY, transport: 'pubsub', pending: 0, ...published };
    const info = await stream.info();
    const mailer = info.groups.find((g) => g.name === 'mailer');
    // pending: accepted and not yet sent or given up by the mailer group - what the benchmark waits to reach 0.
    // Redis keeps counting in lag the events trimmed before the group read them; those will never come.
    const pending = mailer ? Math.min(mailer.lag, info.length) + mailer.pending : info.length;
    return { strategy: STRATEGY, transport: 'stream', pending, sent: mailer?.processed ?? 0, failed: mailer?.dead ?? 0, ...info };
  }

  // The stream, its groups and dead letters (and the queue panels, empty here) at /dashboard.
  const dashboard = dashboardRoutes({ redis: redisUrl, logger: logger.child({ component: 'dashboard' }), host: config.HOST, stream });
  const http = await startHttp({ accept, stats, routes: dashboard.routes }, httpOptions(config, logger));
  logger.info({ dashboard: `${http.url}${dashboard.basePath}` }, `dashboard at ${http.url}${dashboard.basePath}`);
  return {
    url: http.url,
    async close() {
      await http.close();
      await dashboard.close();
      await redis.quit();
    },
  };
}

if (isMain(import.meta.url)) await runStrategy(STRATEGY, startWeb, { redis: true, smtp: false });
