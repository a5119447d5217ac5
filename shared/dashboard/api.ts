// The dashboard's JSON API, as http.ts Routes. Reads are GETs and change
// nothing; every action is a POST with the token (security.ts). Every handler
// runs through the Redis guard: Redis down is a 503 saying so, within a couple
// of seconds, never a hanging request.
//
//   GET  <base>/api/overview              totals, Redis INFO, jobs/s series
//   GET  <base>/api/queues                each queue's length and latency; delayed count
//   GET  <base>/api/workers               workers, what they hold, dead ones
//   GET  <base>/api/failed?offset&limit   failure records, oldest first
//   GET  <base>/api/delayed?limit         delayed jobs, soonest first
//   GET  <base>/api/jobs/:id              one job's status and history
//   GET  <base>/api/streams?limit         the event stream, its groups and consumers, the newest dead letters
//   POST <base>/api/failed/retry          {index, key}
//   POST <base>/api/failed/remove         {index, key}
//   POST <base>/api/failed/retry-all      {}
//   POST <base>/api/failed/remove-all     {}
//   POST <base>/api/delayed/enqueue-now   {second, key}
//   POST <base>/api/delayed/remove        {second, key}
//   POST <base>/api/streams/dead/retry    {id}: the event appended again, the dead letter deleted
import type http from 'node:http';
import { InvalidRequest } from '../email.ts';
import { readBody, type Reply, type Route } from '../http.ts';
import type { Queue } from '../queue/queue.ts';
import type { EventStream } from '../streams/stream.ts';
import { RedisUnreachable, readRedisInfo, type DashboardRedis } from './connection.ts';
import { enqueueDelayedNow, listDelayed, removeDelayed } from './delayed.ts';
import { Refused } from './entries.ts';
import { findFailed, listFailed, removeAllFailed, removeFailed, retryAllFailed, retryFailed } from './failed.ts';
import { lookupJob } from './lookup.ts';
import { refusePost } from './security.ts';
import { readStream, retryDeadLetter } from './streams.ts';
import type { ThroughputSampler } from './throughput.ts';
import { readWorkers } from './workers.ts';

export interface ApiContext {
  base: string;
  conn: DashboardRedis;
  queue: Queue;
  /** Strategy 6's event stream; null where there is none to show. */
  stream: EventStream | null;
  sampler: ThroughputSampler;
  token: string;
  /** Refuses a request before any handler runs (the Host check), or null. */
  refuse(req: http.IncomingMessage): Reply | null;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const BODY_LIMIT = 4096;

function query(req: http.IncomingMessage, name: string, fallback: number, max: number): number {
  const raw = new URL(req.url ?? '/', 'http://dashboard').searchParams.get(name);
  const n = raw === null ? fallback : Number(raw);
  if (!Number.isSafeInteger(n) || n < 0 || n > max) throw new InvalidRequest(400, `${name} must be a whole number from 0 to ${max}`);
  return n;
}

/** An action's body: a small JSON object (an empty body is {}). */
async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req, BODY_LIMIT);
  let value: unknown;
  try {
    value = JSON.parse(body === '' ? '{}' : body);
  } catch {
    throw new InvalidRequest(400, 'body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidRequest(400, 'body must be a JSON object');
  return value as Record<string, unknown>;
}

function integerField(body: Record<string, unknown>, name: string): number {
  const v = body[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new InvalidRequest(400, `${name} must be a whole number`);
  return v;
}

function keyField(body: Record<string, unknown>): string {
  const v = body.key;
  if (typeof v !== 'string' || !/^[0-9a-f]{16}$/.test(v)) throw new InvalidRequest(400, 'key must be the 16-hex-digit key the list gave');
  return v;
}

function streamIdField(body: Record<string, unknown>): string {
  const v = body.id;
  if (typeof v !== 'string' || !/^\d{1,20}-\d{1,20}$/.test(v)) throw new InvalidRequest(400, 'id must be a stream entry id such as 1700000000000-0');
  return v;
}

export function apiRoutes(ctx: ApiContext): Route[] {
  const { conn, queue, sampler, stream } = ctx;
  const k = queue.keys;
  const path = (p: string) => new RegExp(`^${escape(ctx.base)}/api${p}$`);

  async function answer(req: http.IncomingMessage, work: () => Promise<unknown>): Promise<Reply> {
    const refused = ctx.refuse(req);
    if (refused) return refused;
    try {
      return { status: 200, body: await work(), headers: { 'cache-control': 'no-store' } };
    } catch (err) {
      if (err instanceof RedisUnreachable) {
        return { status: 503, body: { error: err.message, redis: conn.target, redisDownSince: conn.downSince() }, headers: { 'retry-after': '1' } };
      }
      if (err instanceof Refused) return { status: err.status, body: { error: err.message } };
      throw err; // InvalidRequest becomes its status in http.ts; anything else a logged 500
    }
  }

  const get = (p: string, read: (match: RegExpExecArray, req: http.IncomingMessage) => Promise<unknown>): Route => ({
    method: 'GET',
    path: path(p),
    handle: (match, req) => answer(req, () => conn.use(() => read(match, req))),
  });
  const post = (p: string, act: (body: Record<string, unknown>) => Promise<unknown>): Route => ({
    method: 'POST',
    path: path(p),
    handle: (_match, req) =>
      answer(req, async () => {
        const why = refusePost(req, ctx.token);
        if (why) throw new Refused(403, why);
        const body = await readJson(req);
        return conn.use(() => act(body));
      }),
  });

  return [
    get('/overview', async () => {
      const [stats, redis] = await Promise.all([queue.stats(), readRedisInfo(conn.redis)]);
      const { queues: _queues, workers, ...totals } = stats;
      return { ...totals, workers: workers.length, redis, throughput: sampler.series(), now: Date.now() };
    }),
    get('/queues', async () => {
      const { queues, delayed } = await queue.stats();
      return { queues, delayed };
    }),
    get('/workers', async () => {
      const rows = await readWorkers(conn.redis, k, (await queue.stats()).workers);
      return { workers: rows, dead: rows.filter((w) => w.state === 'dead').length };
    }),
    get('/failed', (_m, req) => listFailed(conn.redis, k, query(req, 'offset', 0, 1e9), Math.max(1, query(req, 'limit', 50, 200)))),
    get('/delayed', (_m, req) => listDelayed(queue, Math.max(1, query(req, 'limit', 50, 200)))),
    get('/jobs/([A-Za-z0-9][A-Za-z0-9._:-]{0,127})', async (match) => {
      const found = await lookupJob(queue, conn.redis, k, match[1]!);
      if (!found.status && found.history.length === 0 && found.location === null) {
        throw new Refused(404, `no job ${match[1]} in Redis: the id is wrong, or its status expired (see statusTtlMs)`);
      }
      return found;
    }),
    get('/streams', async (_m, req) => (stream ? readStream(stream, conn.redis, Math.max(1, query(req, 'limit', 20, 200))) : { stream: null, deadLetters: [] })),
    post('/failed/retry', async (body) => {
      await retryFailed(queue, await findFailed(conn.redis, k, integerField(body, 'index'), keyField(body)));
      return { retried: 1 };
    }),
    post('/failed/remove', async (body) => {
      await removeFailed(queue, await findFailed(conn.redis, k, integerField(body, 'index'), keyField(body)));
      return { removed: 1 };
    }),
    post('/failed/retry-all', () => retryAllFailed(queue, conn.redis, k)),
    post('/failed/remove-all', () => removeAllFailed(queue)),
    post('/delayed/enqueue-now', async (body) => {
      await enqueueDelayedNow(queue, integerField(body, 'second'), keyField(body));
      return { enqueued: 1 };
    }),
    post('/delayed/remove', async (body) => {
      await removeDelayed(queue, integerField(body, 'second'), keyField(body));
      return { removed: 1 };
    }),
    post('/streams/dead/retry', async (body) => {
      if (!stream) throw new Refused(404, 'this dashboard shows no event stream');
      return { retried: 1, eventId: await retryDeadLetter(stream, conn.redis, streamIdField(body)) };
    }),
  ];
}
