// The queue dashboard: "how long is the queue, how long does a job wait, what
// failed and why?" - resque-web's questions, answered over the same Redis keys
// without Ruby. One page (public/: plain HTML, CSS and a script, no build
// step) polls a JSON API (api.ts) and redraws without a reload. Given an
// event stream (strategy 6), it shows that too: each consumer group's lag and
// pending entries, its consumers' idle time, the dead letters (streams.ts).
//
// Two ways to run it:
//   npm run dashboard                    standalone, over REDIS_URL, on DASHBOARD_HOST:DASHBOARD_PORT
//   dashboardRoutes({ redis, logger })   mounted in a strategy's web process at /dashboard:
//       const dashboard = dashboardRoutes({ redis: redisUrl, logger, host: config.HOST });
//       startHttp({ accept, stats, routes: [...dashboard.routes] }, httpOptions(config, logger));
//       logger.info({ dashboard: `${url}/dashboard` }, ...);  ...  await dashboard.close();
//
// It binds to loopback unless told otherwise, and everything that changes
// Redis is a POST carrying a token (see security.ts for the whole list).
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { requestPath, routeRequest, startServer, type Reply, type Route } from '../http.ts';
import type { Logger } from '../logger.ts';
import { configOrExit, isMain, processLogger } from '../main.ts';
import { isLoopback } from '../net.ts';
import { configuredAddress } from '../redis.ts';
import { Queue } from '../queue/queue.ts';
import { onShutdown } from '../shutdown.ts';
import { EventStream } from '../streams/stream.ts';
import { apiRoutes } from './api.ts';
import { connectDashboardRedis } from './connection.ts';
import { newToken, refuseHost, securityHeaders, TOKEN_HEADER } from './security.ts';
import { ThroughputSampler } from './throughput.ts';

export interface DashboardOptions {
  /** A redis:// URL (the dashboard opens its own client that fails fast: preferred), or a client to share. */
  redis: Redis | string;
  logger: Logger;
  /** The interface the server listens on; while it is loopback, only loopback Host names are served. */
  host?: string;
  /** Where the page and API live; default /dashboard. */
  basePath?: string;
  /** Strategy 6's event stream (EVENT_STREAM, STREAM_MAXLEN); without it the page shows no stream. */
  stream?: { name: string; maxlen: number };
  /** resque key prefix; default the queue library's. */
  namespace?: string;
  /** Required on every POST; default a fresh random one. */
  token?: string;
  /** For jobs the dashboard re-enqueues (retry); default the queue library's. */
  statusTtlMs?: number;
  /** An API call gives up on Redis after this long and answers 503. */
  redisTimeoutMs?: number;
}

export interface Dashboard {
  routes: Route[];
  basePath: string;
  token: string;
  /** Stops the sampler and the dashboard's own Redis client (a shared client stays open). */
  close(): Promise<void>;
}

const PUBLIC = path.join(import.meta.dirname, 'public');
const asset = (name: string) => readFileSync(path.join(PUBLIC, name), 'utf8');
const assets = { page: asset('index.html'), script: asset('app.js'), style: asset('style.css') };

export function dashboardRoutes(options: DashboardOptions): Dashboard {
  const basePath = options.basePath ?? '/dashboard';
  if (!/^(\/[A-Za-z0-9._-]+)+$/.test(basePath)) throw new Error(`basePath must look like /dashboard, got "${basePath}"`);
  const token = options.token ?? newToken();
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(token)) throw new Error('token must be 16-128 letters, digits, _ or -');
  const loopbackOnly = isLoopback(options.host ?? '127.0.0.1');
  const conn = connectDashboardRedis(options.redis, options.logger, options.redisTimeoutMs ?? 2_000);
  const queue = new Queue({ redis: conn.redis, namespace: options.namespace, statusTtlMs: options.statusTtlMs });
  const stream = options.stream ? new EventStream(conn.redis, options.stream.name, options.stream.maxlen) : null;
  const sampler = new ThroughputSampler(() =>
    conn.use(async (redis) => {
      const [processed, failed] = await redis.mget(queue.keys.processed, queue.keys.failedCount);
      return { processed: Number(processed ?? 0), failed: Number(failed ?? 0) };
    }),
  );
  sampler.start();

  const refuse = (req: http.IncomingMessage): Reply | null => {
    const why = refuseHost(req, loopbackOnly);
    return why ? { status: 403, body: { error: why } } : null;
  };
  const file = (type: string, content: string): Route['handle'] => (_m, req) =>
    refuse(req) ?? { status: 200, body: null, raw: content, headers: { ...securityHeaders, 'content-type': `${type}; charset=utf-8` } };
  // The token and base path are the only things put into the page, and both are checked above to be plain characters.
  const page = assets.page.replaceAll('{{BASE}}', basePath).replaceAll('{{TOKEN}}', token).replaceAll('{{TOKEN_HEADER}}', TOKEN_HEADER);
  const at = (p: string) => new RegExp(`^${basePath.replaceAll('.', '\\.')}${p}$`);

  const routes: Route[] = [
    { method: 'GET', path: at('/?'), handle: file('text/html', page) },
    { method: 'GET', path: at('/app\\.js'), handle: file('text/javascript', assets.script) },
    { method: 'GET', path: at('/style\\.css'), handle: file('text/css', assets.style) },
    ...apiRoutes({ base: basePath, conn, queue, stream, sampler, token, refuse }),
  ];
  return {
    routes,
    basePath,
    token,
    async close() {
      sampler.stop();
      await conn.close();
    },
  };
}

export interface RunningDashboard {
  /** The server's root; the page is at url + basePath. */
  url: string;
  pageUrl: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

/** The dashboard on its own HTTP server (npm run dashboard; tests), the same server as the email API's. */
export async function startDashboard(options: DashboardOptions & { port: number; host: string }): Promise<RunningDashboard> {
  const dashboard = dashboardRoutes(options);
  const http = await startServer(async (req) => (await routeRequest(dashboard.routes, req)) ?? elsewhere(dashboard, req), options);
  return {
    url: http.url,
    pageUrl: `${http.url}${dashboard.basePath}`,
    port: http.port,
    token: dashboard.token,
    async close() {
      await http.close();
      await dashboard.close();
    },
  };
}

/** A request no route took: the root sends the browser to the page, a known path with the wrong method is a 405. */
function elsewhere(dashboard: Dashboard, req: http.IncomingMessage): Reply {
  const method = req.method ?? 'GET';
  const p = requestPath(req);
  if (p === '/' && (method === 'GET' || method === 'HEAD')) return { status: 302, body: null, raw: '', headers: { location: dashboard.basePath } };
  const known = dashboard.routes.some((r) => r.path.test(p));
  return known
    ? { status: 405, body: { error: `method not allowed: ${method}` } }
    : { status: 404, body: { error: `no route for ${method} ${p.slice(0, 200)}; the dashboard is at ${dashboard.basePath}` } };
}

if (isMain(import.meta.url)) {
  const config = configOrExit();
  const logger = processLogger(config, 'dashboard', 'dashboard');
  const redis = configuredAddress(config);
  if (!redis) {
    process.stderr.write(
      'npm run dashboard shows an existing Redis: set REDIS_URL, e.g. REDIS_URL=redis://127.0.0.1:6379 npm run dashboard (or REDIS_SENTINELS and REDIS_SENTINEL_MASTER)\n' +
        '(strategies 4, 5 and 6 print the URL of the Redis they use)\n',
    );
    process.exit(2);
  }
  const running = await startDashboard({
    redis,
    namespace: config.QUEUE_NAMESPACE,
    stream: { name: config.EVENT_STREAM, maxlen: config.STREAM_MAXLEN },
    logger,
    host: config.DASHBOARD_HOST,
    port: config.DASHBOARD_PORT,
  });
  logger.info(
    { url: running.url, page: running.pageUrl, token: running.token },
    `listening on ${running.pageUrl}  (API POSTs need the header ${TOKEN_HEADER}: ${running.token})`,
  );
  if (!isLoopback(config.DASHBOARD_HOST)) {
    logger.warn({ host: config.DASHBOARD_HOST }, 'the dashboard is open to the network: anyone who can reach it can read job contents');
  }
  onShutdown(logger, () => running.close(), config.SHUTDOWN_TIMEOUT_MS);
}
