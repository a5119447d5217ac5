// What every runnable entry does before its own idea: read config, make a
// logger, find (or start) the SMTP sink, and run only when executed directly.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { onShutdown } from './shutdown.ts';
import { serveSinkStats, startSink } from './smtp-sink.ts';

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
  const sink = await startSink({
    latencyMs: config.SINK_LATENCY_MS,
    tempFailRate: config.SINK_TEMP_FAIL_RATE,
    permFailRate: config.SINK_PERM_FAIL_RATE,
    logger: sinkLogger,
  });
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
}

export interface StrategyContext {
  config: Config;
  logger: Logger;
  smtpUrl: URL;
}

/**
 * Runs a single-process strategy from the command line: config, logger, sink,
 * start, a ready line with a curl to paste, and graceful shutdown.
 */
export async function runStrategy(strategy: string, start: (ctx: StrategyContext) => Promise<Running>): Promise<void> {
  const config = configOrExit();
  const logger = processLogger(config, strategy, 'web');
  const smtp = await resolveSmtp(config, logger);
  const running = await start({ config, logger, smtpUrl: smtp.url });
  logger.info({ url: running.url }, `listening on ${running.url}  try: ${curlExample(running.url)}`);
  onShutdown(
    logger,
    async () => {
      await running.close();
      await smtp.close();
    },
    config.SHUTDOWN_TIMEOUT_MS,
  );
}
