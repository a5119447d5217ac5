// What every runnable entry does before its own idea: read config, make a
// logger, find (or start) the SMTP sink and Redis, run only when executed
// directly, and stop gracefully.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { Queue } from './queue/index.ts';
import { createRedis, resolveRedis, type RedisTarget } from './redis.ts';
import { onShutdown } from './shutdown.ts';
import { superviseMe } from './supervisor.ts';
import { processMetrics } from './metrics/registry.ts';
import { serveMetrics } from './metrics/server.ts';
import { serveSinkStats, sinkOptionsFromConfig, startSink } from './smtp-sink.ts';

/** True when this module is the program being run (not imported by a test or the benchmark). */
export function isMain(importMetaUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  const self = fileURLToPath(importMetaUrl);
  return path.resolve(entry) === self || path.resolve(entry) === self.replace(/\.ts$/, '');
}

/** Config or a readable exit: a bad variable stops the program with its name, not a stack trace. */
export function configOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

export function processLogger(config: Config, strategy: string, role: string): Logger {
  return createLogger({ strategy, role, level: config.LOG_LEVEL, format: config.LOG_FORMAT });
}

export interface SmtpTarget {
  url: URL;
  /** Stops the embedded sink, if this process started one. */
  close(): Promise<void>;
}

/**
 * SMTP_URL when set; otherwise an embedded sink on a free port, configured by
 * the SINK_* variables and logging every email it receives, so a strategy run
 * alone shows its deliveries in its own terminal.
 */
export async function resolveSmtp(config: Config, logger: Logger): Promise<SmtpTarget> {
  if (config.SMTP_URL) return { url: config.SMTP_URL, close: async () => {} };
  const sinkLogger = logger.child({ component: 'sink' });
  const sink = await startSink({ ...sinkOptionsFromConfig(config), logger: sinkLogger });
  const stats = await serveSinkStats(sink, 0, '127.0.0.1');
  sinkLogger.info({ smtp: sink.url.href, stats: `${stats.url}/stats`, latencyMs: config.SINK_LATENCY_MS }, 'embedded SMTP sink ready');
  return {
    url: sink.url,
    close: async () => {
      await stats.close();
      await sink.close();
    },
  };
}

/** The line the workshop pastes into a second terminal. */
export function curlExample(url: string): string {
  return `curl -s -X POST ${url}/emails -H 'content-type: application/json' -d '{"to":"you@example.com","subject":"hello","text":"from a background job"}'`;
}

export interface Running {
  url: string;
  /** Stops intake, drains what the strategy promises to finish, releases connections. */
  close(): Promise<void>;
  /** The processes a workshop reader may kill, for strategies that run several. */
  pids?(): object;
}

export interface StrategyContext {
  /** The strategy being run, for code that serves several (strategy 4's web process runs for 5 too). */
  strategy?: string;
  config: Config;
  logger: Logger;
  /** SMTP_URL, or the embedded sink's; a process run with `smtp: false` has none and throws if asked. */
  readonly smtpUrl: URL;
  /** Set when the strategy asked for Redis: its address (shared/redis.ts: Sentinel, REDIS_URL, or a private redis-server). */
  redisUrl?: string;
}

/** What runStrategy runs: a strategy (Running), or a process with no URL of its own (a consumer). */
export type Runnable = Omit<Running, 'url'> & { url?: string };

export interface RunOptions<R extends Runnable> {
  /** This process's role in the log: 'web' for a single-process strategy. */
  role?: string;
  /** Resolve REDIS_URL, or start a private Redis, before start(). */
  redis?: boolean;
  /** False for a process that never sends: no sink is started for it. */
  smtp?: boolean | ((config: Config) => boolean);
  /** Several children stop one after another, each with its own SHUTDOWN_TIMEOUT_MS: give them that long. */
  stopsInTurn?: number;
  /** A second line after "listening": what to try, what to kill. */
  hint?(running: R): string;
}

/**
 * Runs a strategy from the command line: config, logger, the sink (and Redis,
 * if asked), start, a ready line with a curl to paste, and graceful shutdown -
 * installed before start() resolves, so a SIGTERM during start-up still stops
 * what was started, in order.
 */
export async function runStrategy<R extends Runnable>(strategy: string, start: (ctx: StrategyContext) => Promise<R>, options: RunOptions<R> = {}): Promise<void> {
  const { role = 'web', redis: wantsRedis = false, smtp: wantsSmtp = true, stopsInTurn = 1, hint } = options;
  const config = configOrExit();
  const logger = processLogger(config, strategy, role);
  processMetrics(config, strategy);
  // A web process serves /metrics on its own port; a supervisor of 4, 5 or 6 hands METRICS_PORT on to its children.
  const metrics = role === 'web' || role === 'supervisor' ? undefined : await serveMetrics(config, logger);
  const redis = wantsRedis ? await resolveRedis(config, logger) : undefined;
  if (redis?.private) logger.warn({ redis: redis.url }, `no REDIS_URL: started a private Redis; other processes join it with REDIS_URL=${redis.url}`);
  const smtp = (typeof wantsSmtp === 'function' ? wantsSmtp(config) : wantsSmtp) ? await resolveSmtp(config, logger) : undefined;
  const ctx: StrategyContext = {
    strategy,
    config,
    logger,
    redisUrl: redis?.url,
    get smtpUrl() {
      if (!smtp) throw new Error(`the ${role} process of ${strategy} sends no email: it has no SMTP server`);
      return smtp.url;
    },
  };
  const starting = start(ctx).catch((err: unknown) => {
    // A setting only this process checks, refused like any other: its message, exit 2.
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  });
  onShutdown(
    logger,
    async () => {
      await (await starting).close();
      await metrics?.close();
      await smtp?.close();
      if (redis) await closeRedis(redis, config, logger);
    },
    config.SHUTDOWN_TIMEOUT_MS * stopsInTurn + (stopsInTurn > 1 ? 2_000 : 0),
  );
  const running = await starting;
  const supervisor = superviseMe();
  if (supervisor.supervised) return supervisor.ready(running.url ? { url: running.url } : {});
  const pids = running.pids?.();
  if (running.url) logger.info({ url: running.url, ...(redis && { redis: redis.url }), ...(pids && { pids }) }, `listening on ${running.url}  try: ${curlExample(running.url)}`);
  if (hint) logger.info(hint(running));
}

/**
 * Stops the Redis this process started, if it started one. That private Redis
 * goes away with the process, and so do jobs still queued in it: say how many,
 * rather than drop them silently. With REDIS_URL (or Sentinel) they wait for the next run.
 */
async function closeRedis(redis: RedisTarget, config: Config, logger: Logger): Promise<void> {
  if (redis.private) {
    const client = createRedis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      const s = await new Queue({ redis: client, namespace: config.QUEUE_NAMESPACE }).stats();
      const left = s.queued + s.delayed + s.working;
      if (left > 0) {
        logger.warn({ left }, `${left} accepted job(s) still queued in the private Redis are discarded with it: set REDIS_URL for a queue that outlives this process`);
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not count what the private Redis still holds');
    } finally {
      client.disconnect();
    }
  }
  await redis.close();
}
