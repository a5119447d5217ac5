// Strategy 6 - event bus, a consumer process: one consumer of the group
// CONSUMER_GROUP, reacting to every "email requested" event on the stream.
// The mailer group sends the email (WORKER_CONCURRENCY at a time) and
// acknowledges it after the provider's 250. Any other group - signups, by
// default the second one - counts the emails per recipient domain, knowing
// nothing of the mailer; it acknowledges and counts in one Lua script, so a
// redelivered event is never counted twice. A new group starts at GROUP_START
// (0: it replays every retained event); GROUP_RESET=true moves it back there.
// How entries are read, claimed and retried: shared/streams/consumer.ts.
//
// When the response returns: long before this process sees the event.
// What a crash loses: nothing. An entry stays in the group's pending list
//   until acknowledged: restarted under the same CONSUMER_NAME, this consumer
//   reads it at once; otherwise a live one claims it after CLAIM_MIN_IDLE_MS.
//   The email being sent at the kill may be delivered twice. With
//   EVENT_TRANSPORT=pubsub there is no group, no pending list and no retry:
//   what is published while this process is down never reaches it, and what
//   it heard and had not sent yet (it takes each message as it comes) dies
//   with it.
// Walkthrough: docs/walkthrough.md, "6. Event bus".
//
//   REDIS_URL=redis://127.0.0.1:6379 CONSUMER_GROUP=mailer npm run strategy:6:consumer   # as many as you like, on any host
import os from 'node:os';
import { checkClaimTime, checkEventBusOnCluster } from '../../shared/config.ts';
import type { Redis } from 'ioredis';
import type { Email } from '../../shared/email.ts';
import type { Logger } from '../../shared/logger.ts';
import { isMain, runStrategy, type StrategyContext } from '../../shared/main.ts';
import { isPermanentFailure, mailerFromConfig } from '../../shared/mailer.ts';
import { createRedis } from '../../shared/redis.ts';
import { countConsumer } from '../../shared/metrics/workers.ts';
import { GroupConsumer, type Entry } from '../../shared/streams/consumer.ts';
import { EventStream } from '../../shared/streams/stream.ts';
import { emailFromEvent } from './events.ts';

// KEYS: the stream, the group's per-domain counts, its processed counter. ARGV: group, then entry id, domain, ...
// XACK answers 1 only for an entry still pending: the count moves once per event, however often it was delivered.
const ACK_AND_COUNT = `
local acked = 0
for i = 2, #ARGV, 2 do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[i]) == 1 then
    redis.call('HINCRBY', KEYS[2], ARGV[i + 1], 1)
    acked = acked + 1
  end
end
if acked > 0 then redis.call('INCRBY', KEYS[3], acked) end`;

export async function startConsumer(ctx: StrategyContext) {
  const { config, logger, redisUrl } = ctx;
  checkClaimTime(config);
  checkEventBusOnCluster(config);
  const group = config.CONSUMER_GROUP;
  const sends = group === 'mailer';
  const log = logger.child({ group });
  const redis = createRedis(redisUrl!);
  redis.on('error', () => {}); // a blocked read reports the outage
  const stream = new EventStream(redis, config.EVENT_STREAM, config.STREAM_MAXLEN);
  const mailer = sends ? mailerFromConfig(config, ctx.smtpUrl, { pool: config.WORKER_CONCURRENCY }) : undefined;
  const react = async (fields: Record<string, unknown>) => {
    const email = emailFromEvent(fields);
    if (mailer) await mailer.send(email);
    return email;
  };
  if (config.EVENT_TRANSPORT === 'pubsub') return subscribe({ redis, channel: stream.name, react, log, close: () => mailer?.close() });

  const created = await stream.ensureGroup(group, config.GROUP_START, config.GROUP_RESET);
  log.info({ stream: stream.name, start: config.GROUP_START, created, reset: config.GROUP_RESET }, created ? `group ${group} created at ${config.GROUP_START}` : `group ${group} joined`);
  redis.defineCommand('ackAndCount', { numberOfKeys: 3, lua: ACK_AND_COUNT });
  const countByDomain = async (entries: Entry[]) => {
    const pairs = entries.flatMap((entry) => [entry.id, String(entry.fields.to).split('@').pop()!]);
    await (redis as Redis & { ackAndCount(...args: string[]): Promise<void> }).ackAndCount(stream.name, `${stream.name}:domains:${group}`, stream.keys.stat(group, 'processed'), group, ...pairs);
  };
  const blocking = createRedis(redisUrl!);
  blocking.on('error', () => {});
  const name = config.CONSUMER_NAME || `${os.hostname()}:${process.pid}`;
  // Counting is a share of one script call per read: 50 at once keep up with everything the web process takes.
  const concurrency = sends ? config.WORKER_CONCURRENCY : 50;
  const consumer = new GroupConsumer({
    stream,
    group,
    name,
    redis,
    blocking,
    concurrency,
    minIdleMs: config.CLAIM_MIN_IDLE_MS,
    maxDeliveries: config.MAX_ATTEMPTS,
    handle: async (entry) => void (await react(entry.fields)),
    ...(sends ? {} : { ack: countByDomain }),
    isPermanent: isPermanentFailure,
  });
  let lastError = '';
  consumer.on('error', (err) => err.message !== lastError && ((lastError = err.message), log.warn({ err: err.message }, 'stream error')));
  // A counting group keeps up with every event the web process takes: one line each is for debugging, not for reading.
  consumer.on('handled', (entry, ms) => ((lastError = ''), log[sends ? 'info' : 'debug']({ id: entry.fields.id, entry: entry.id, deliveries: entry.deliveries, ms: Math.round(ms) }, sends ? 'sent' : 'counted')));
  consumer.on('failed', (entry, err) => log.warn({ id: entry.fields.id, entry: entry.id, deliveries: entry.deliveries, error: err.message }, `failed: left pending, retried in ${config.CLAIM_MIN_IDLE_MS} ms`));
  consumer.on('dead', (entry, error) => log.error({ entry: entry.id, error }, 'dead letter: given up'));
  consumer.on('claimed', (count) => log.warn({ count }, `claimed ${count} entr${count === 1 ? 'y' : 'ies'} idle over ${config.CLAIM_MIN_IDLE_MS} ms`));
  consumer.on('trimmed', (ids) => log.error({ count: ids.length }, `${ids.length} pending entries were trimmed from the stream before they were done: lost`));
  countConsumer(consumer, sends);
  consumer.start();
  log.info({ consumer: name, concurrency }, 'consumer ready');
  return {
    async close() {
      const { unfinished } = await consumer.stop(Math.max(0, config.SHUTDOWN_TIMEOUT_MS - 1_000));
      mailer?.close();
      await redis.quit();
      if (unfinished > 0) throw new Error(`${unfinished} entries did not finish in time; they stay pending and are claimed later`);
    },
  };
}

/** The lossy contrast: a subscriber hears what is published while it is connected, once, and nothing else. */
async function subscribe({ redis, channel, react, log, close }: { redis: Redis; channel: string; react(fields: Record<string, unknown>): Promise<Email>; log: Logger; close(): void }) {
  const reacting = new Set<Promise<void>>();
  redis.on('message', (_channel: string, message: string) => {
    let fields: Record<string, unknown> = {};
    const p = (async () => react((fields = JSON.parse(message))))()
      .then((email) => log.info({ id: email.id }, 'done'))
      // No pending list, no retry: a failure is a log line and the email is gone.
      .catch((err: Error) => log.error({ id: typeof fields.id === 'string' ? fields.id.slice(0, 128) : undefined, err: err.message }, 'failed: lost (pub/sub keeps nothing to retry)'))
      .finally(() => reacting.delete(p));
    reacting.add(p);
  });
  await redis.subscribe(channel);
  log.info({ channel }, 'subscriber ready: hears only what is published from now on, while connected');
  return {
    async close() {
      await redis.unsubscribe(channel);
      await Promise.allSettled(reacting);
      close();
      redis.disconnect();
    },
  };
}

// Only the mailer group sends email: the others get no SMTP server at all.
if (isMain(import.meta.url)) await runStrategy('6-event-bus', startConsumer, { role: 'consumer', redis: true, smtp: (config) => config.CONSUMER_GROUP === 'mailer' });
