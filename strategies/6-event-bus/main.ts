// Strategy 6 - event bus: the web process announces each requested email as
// an event on a Redis stream and answers; consumer groups react to it, each
// getting every event. This file starts, on one host: Redis (unless
// REDIS_URL), the sink (unless SMTP_URL), the web process, one consumer of the
// mailer group (it sends) and one of the signups group (it counts per domain,
// and the web process knows nothing of it), restarting any that dies.
// EVENT_TRANSPORT=pubsub runs the same processes on Redis Pub/Sub instead.
//
// When the response returns: once Redis has the event (202).
// What a crash loses: nothing accepted. A killed consumer's entries stay
//   pending in its group; restarted under the same name it reads them at once,
//   or a live consumer claims them after CLAIM_MIN_IDLE_MS. The one being sent
//   at the kill may arrive twice. On pub/sub, every event published while a
//   consumer is down is lost to it.
// Walkthrough: docs/walkthrough.md, "6. Event bus".
import path from 'node:path';
import { checkClaimTime, checkEventBusOnCluster } from '../../shared/config.ts';
import { isMain, runStrategy, type StrategyContext } from '../../shared/main.ts';
import { redisEnvLine } from '../../shared/redis.ts';
import { superviseWebAndWorkers } from '../../shared/supervisor.ts';

export async function start(ctx: StrategyContext) {
  checkClaimTime(ctx.config);
  checkEventBusOnCluster(ctx.config);
  // A supervised consumer starts again after every crash, and a reset would replay its group each time: a reset is a one-off.
  if (ctx.config.GROUP_RESET) throw new Error('GROUP_RESET=true would replay on every restart of a supervised consumer: run it once with npm run strategy:6:consumer');
  const pubsub = ctx.config.EVENT_TRANSPORT === 'pubsub';
  const died = pubsub ? 'what is published until it is back never reaches it' : 'its entries stay pending in the stream: it reads them itself when it is back';
  const consumer = (group: string) => ({ entry: path.join(import.meta.dirname, 'consumer.ts'), role: group, env: { CONSUMER_GROUP: group, CONSUMER_NAME: `${group}-1` }, died });
  const running = await superviseWebAndWorkers(ctx, path.join(import.meta.dirname, 'web.ts'), [consumer('mailer'), consumer('signups')]);
  return { ...running, redisUrl: ctx.redisUrl, pubsub };
}

if (isMain(import.meta.url)) {
  await runStrategy('6-event-bus', start, {
    role: 'supervisor',
    redis: true,
    stopsInTurn: 2,
    hint: ({ url, pids, redisUrl, pubsub }) =>
      pubsub
        ? `watch it lose: kill -9 ${pids().workers[0]} (the mailer subscriber: what is published until it is back never arrives) - curl ${url}/stats counts what nobody heard`
        : `watch a crash: kill -9 ${pids().workers[0]} (the mailer consumer: its entries are sent when it is back) - the stream and its groups: curl ${url}/stats - ` +
          `a new group replays every retained event: CONSUMER_GROUP=audit ${redisEnvLine(redisUrl!)} npm run strategy:6:consumer`,
  });
}
