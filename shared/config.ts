// The only place the environment is read. Every setting has a type, a default
// and one line of documentation; `npm run config:doc` writes the table in
// docs/configuration.md from this list, and test/shared/config.test.ts fails
// when that table is not current, so the two cannot drift.
//
// A bad value fails at start with a message naming the variable: a typo in
// SINK_LATENCY_MS should stop the workshop demo, not silently mean "0".

export class ConfigError extends Error {
  override name = 'ConfigError';
}

interface Setting<T> {
  doc: string;
  /** The default as a person would type it; empty when unset means "off"/"embedded". */
  fallback: string;
  parse(raw: string, name: string): T;
}

function integer(min: number, max: number) {
  return (raw: string, name: string): number => {
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    }
    return n;
  };
}

function rate(raw: string, name: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new ConfigError(`${name} must be a number from 0 to 1 (a fraction of messages), got "${raw}"`);
  }
  return n;
}

function boolean(raw: string, name: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function oneOf<const T extends string>(...values: T[]) {
  return (raw: string, name: string): T => {
    if ((values as string[]).includes(raw)) return raw as T;
    throw new ConfigError(`${name} must be one of ${values.join(', ')}, got "${raw}"`);
  };
}

function url(protocols: string[]) {
  return (raw: string, name: string): URL | undefined => {
    if (raw.trim() === '') return undefined;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError(`${name} must be a URL such as ${protocols[0]}//127.0.0.1:1234, got "${raw}"`);
    }
    if (!protocols.includes(parsed.protocol) || parsed.hostname === '' || parsed.port === '') {
      throw new ConfigError(`${name} must look like ${protocols[0]}//host:port, got "${raw}"`);
    }
    return parsed;
  };
}

function text(maxLength: number) {
  return (raw: string, name: string): string => {
    // eslint-disable-next-line no-control-regex
    if (raw.length > maxLength || /[\u0000-\u001f\u007f]/.test(raw)) {
      throw new ConfigError(`${name} must be at most ${maxLength} printable characters`);
    }
    return raw;
  };
}

// A mail header's name (RFC 5322 allows more; letters, digits and hyphens are
// what every provider documents), or empty for none. Not one the mailer writes
// itself: the key would replace the sender, the subject or the tracking id.
function headerName(raw: string, name: string): string {
  const v = raw.trim();
  if (v === '') return v;
  if (!/^[A-Za-z0-9-]{1,100}$/.test(v) || ['from', 'to', 'subject', 'x-request-id', 'date', 'message-id'].includes(v.toLowerCase())) {
    throw new ConfigError(`${name} must be a header name of letters, digits and hyphens (not one the mailer writes), or empty for none; got "${raw}"`);
  }
  return v;
}

/** Where a consumer group starts: 0, $, or an entry id (milliseconds, optionally -sequence). */
function streamId(raw: string, name: string): string {
  if (raw === '0' || raw === '$' || /^\d{1,20}(-\d{1,20})?$/.test(raw)) return raw;
  throw new ConfigError(`${name} must be 0, $ or a stream entry id like 1700000000000-0, got "${raw.slice(0, 50)}"`);
}

/** A comma-separated list of host:port (Sentinels, Cluster nodes), or empty for none. */
export interface HostPort {
  host: string;
  port: number;
}
function hostPorts(raw: string, name: string): HostPort[] {
  if (raw.trim() === '') return [];
  return raw.split(',').map((item) => {
    const m = /^\s*([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:]+\]):(\d{1,5})\s*$/.exec(item);
    const port = Number(m?.[2]);
    if (!m || port < 1 || port > 65535) throw new ConfigError(`${name} must be host:port,host:port,... such as 127.0.0.1:26379,127.0.0.1:26380; got "${raw.slice(0, 200)}"`);
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

/** A port, or nothing when unset (the feature is off). */
function optionalPort(raw: string, name: string): number | undefined {
  return raw.trim() === '' ? undefined : integer(0, 65535)(raw, name);
}

function setting<T>(fallback: string, parse: (raw: string, name: string) => T, doc: string): Setting<T> {
  return { fallback, parse, doc };
}

export const settings = {
  PORT: setting('8080', integer(0, 65535), 'Every strategy: HTTP port of its web server (0 picks a free port).'),
  HOST: setting('127.0.0.1', text(255), 'Interface the web server binds to. Loopback by default; 0.0.0.0 opens it to the network.'),
  HTTP_HEADERS_TIMEOUT_MS: setting('10000', integer(100, 600_000), 'A client must finish sending its request headers within this time (slowloris protection).'),
  HTTP_REQUEST_TIMEOUT_MS: setting('30000', integer(100, 600_000), 'A client must finish sending its whole request within this time, or gets 408.'),
  SMTP_URL: setting('', url(['smtp:']), 'Every strategy: where mail goes, as smtp://host:port. Unset: the strategy starts its own in-process sink on a free port.'),
  SMTP_ALLOW_REMOTE: setting('false', boolean, 'Allow SMTP_URL to point at a non-loopback host. Off, so a workshop never mails the real world by accident.'),
  SMTP_TIMEOUT_MS: setting('30000', integer(100, 600_000), 'Give up on one SMTP send after this long (connection, greeting and each reply).'),
  MAIL_FROM: setting('jobs@background-jobs.test', text(254), 'Sender address of every email.'),
  SINK_HOST: setting('127.0.0.1', text(255), 'Interface the standalone mock SMTP sink binds to (npm run sink).'),
  SINK_PORT: setting('2525', integer(0, 65535), 'SMTP port of the standalone sink (npm run sink).'),
  SINK_HTTP_PORT: setting('2580', integer(0, 65535), 'Port where the standalone sink serves its counts as JSON (GET /stats).'),
  SINK_LATENCY_MS: setting('0', integer(0, 600_000), 'How long the sink (npm run sink, or a strategy\'s own when SMTP_URL is unset) takes to accept each message: a slow provider (the talk saw about 2000 ms to Gmail).'),
  SINK_TEMP_FAIL_RATE: setting('0', rate, 'Fraction of messages the sink refuses with 451 (temporary: retry later).'),
  SINK_PERM_FAIL_RATE: setting('0', rate, 'Fraction of messages the sink refuses with 550 (permanent: do not retry).'),
  IDEMPOTENCY_HEADER: setting('Resend-Idempotency-Key', headerName, 'Every strategy, and the sink: the mail header that carries each email\'s idempotency key (its tracking id and a digest of what it says), the same on every retry and recovery, so a provider that honours keys delivers it once. The default is Resend\'s over SMTP; empty sends none.'),
  SINK_IDEMPOTENCY: setting('off', boolean, 'The sink (npm run sink, or a strategy\'s own when SMTP_URL is unset): on answers 250 to a message whose IDEMPOTENCY_HEADER key it accepted within SINK_IDEMPOTENCY_WINDOW_MS and does not deliver it again (counted as suppressed); off delivers every message, so a crash\'s duplicates show.'),
  SINK_IDEMPOTENCY_WINDOW_MS: setting('86400000', integer(1, 30 * 86_400_000), 'The sink, with SINK_IDEMPOTENCY=on: how long it remembers a key it accepted (Resend: 24 hours).'),
  REDIS_URL: setting('', url(['redis:']), 'Strategies 4, 5 and 6, and npm run dashboard (which needs it): the Redis of the queue or the event stream, as redis://host:port. Unset: strategies 4, 5 and 6 start a private redis-server from PATH on a free port, append-only, removed on exit.'),
  REDIS_SENTINELS: setting('', hostPorts, 'Strategies 4, 5 and 6, and npm run dashboard: reach Redis through Sentinel instead of REDIS_URL, as host:port,host:port,... of the sentinels (with REDIS_SENTINEL_MASTER). Every process asks them for the primary and follows a failover without a restart.'),
  REDIS_SENTINEL_MASTER: setting('', text(100), 'With REDIS_SENTINELS: the name the sentinels monitor the primary under (sentinel monitor <name> ...).'),
  REDIS_CLUSTER_NODES: setting('', hostPorts, 'Strategies 4, 5 and 6, and npm run dashboard: reach a Redis Cluster instead of REDIS_URL, as host:port,... of some of its nodes (the client finds the rest). QUEUE_NAMESPACE must then hold a hash tag, e.g. {resque}, so every key of the queue lives in one slot; for strategy 6 EVENT_STREAM too, e.g. {events}:email-requested (and EVENT_TRANSPORT=pubsub is refused).'),
  ENQUEUE_REPLICAS: setting('0', integer(0, 16), 'Strategies 4, 5 and 6, the web process: answer 202 only once this many replicas have the job or event (WAIT after the write); otherwise 503 with Retry-After, and a retry with the same X-Request-Id adds it once. 0 answers once the primary has it: a failover can lose what the primary had not yet passed on.'),
  ENQUEUE_REPLICA_TIMEOUT_MS: setting('1000', integer(1, 600_000), 'With ENQUEUE_REPLICAS above 0: how long the web process waits for the replicas before it answers 503.'),
  RECONNECT_GRACE_MS: setting('5000', integer(0, 600_000), 'Strategies 4 and 5: after its Redis connection comes back (a restart, a Sentinel failover), a scheduler declares no worker dead for this long, so the workers cut off by the same gap can beat again; a failover gap counts from the reconnect, not from the last beat. At least the heartbeat TTL (5000).'),
  WORKER_CONCURRENCY: setting('1', integer(1, 1000), 'Strategies 3 and 4: emails one worker sends at the same time (the talk, and a resque worker, send one at a time); strategy 6: entries one mailer consumer sends at the same time. Strategy 5 picks its own number, between MIN_TASK_PROCESSORS and MAX_TASK_PROCESSORS.'),
  MAX_ATTEMPTS: setting('5', integer(1, 100), 'Strategies 3, 4 and 5: attempts per email before it is given up as failed (1 = never retry); strategy 6: deliveries of an entry before it goes to the dead letters. A 5xx reply fails it at once.'),
  RETRY_BASE_MS: setting('1000', integer(0, 3_600_000), 'Strategies 3, 4 and 5: wait before the first retry of a failed send; each further retry waits twice as long (4 and 5 add jitter).'),
  BUFFER_LIMIT: setting('1000', integer(0, 10_000_000), 'Strategy 3: emails the primary holds while the worker is down; when full, the server answers 503.'),
  RESTART_BACKOFF_MS: setting('250', integer(0, 600_000), 'Strategies 3, 4, 5 and 6: wait before re-forking a child that exited; doubles with each crash in a row, back to this after 10 s of health.'),
  RESTART_BACKOFF_MAX_MS: setting('30000', integer(0, 3_600_000), 'Strategies 3, 4, 5 and 6: the longest wait between re-forks of a crash-looping child.'),
  WORKERS: setting('1', integer(0, 64), 'Strategy 4: worker processes the supervisor starts (npm run strategy:4); each runs WORKER_CONCURRENCY jobs at once. Strategy 5 always starts one multiWorker.'),
  QUEUE_NAMESPACE: setting('resque', text(100), 'Strategies 4 and 5 and the dashboard: prefix of every Redis key of the queue. "resque" lets node-resque and resque tools share the data.'),
  EVENT_TRANSPORT: setting('stream', oneOf('stream', 'pubsub'), 'Strategy 6: stream appends each event to a Redis stream that consumer groups read and acknowledge; pubsub publishes it on a channel, at most once, to whoever is subscribed right then (the lossy contrast).'),
  EVENT_STREAM: setting('events:email-requested', text(200), 'Strategy 6: the Redis stream (or, with EVENT_TRANSPORT=pubsub, the channel) the web process announces each email on; its dead letters go to <EVENT_STREAM>:dead, and every other key of strategy 6 is named after it too. With REDIS_CLUSTER_NODES it must hold a hash tag, e.g. {events}:email-requested, so all those keys live in one slot.'),
  STREAM_MAXLEN: setting('100000', integer(1, 1_000_000_000), 'Strategy 6: events the stream keeps (approximate trimming on each append). A group lagging further behind loses the oldest events it has not read; entries it read and has not acknowledged are lost too once trimmed, and counted.'),
  CONSUMER_GROUP: setting('mailer', text(100), 'Strategy 6, a consumer process (npm run strategy:6:consumer): its consumer group. mailer sends the emails; any other group counts the requested emails per recipient domain, knowing nothing of the mailer.'),
  CONSUMER_NAME: setting('', text(100), 'Strategy 6, a consumer process: its name in the group; unset: <hostname>:<pid>. A consumer restarted under the same name reads its own pending entries at once.'),
  GROUP_START: setting('0', streamId, 'Strategy 6, a consumer process: where a group that does not exist yet starts reading: 0 replays every retained event, $ only new ones, or an entry id.'),
  GROUP_RESET: setting('false', boolean, 'Strategy 6, a consumer process: move its group to GROUP_START on start (XGROUP SETID), to replay from there.'),
  CLAIM_MIN_IDLE_MS: setting('60000', integer(100, 3_600_000), 'Strategy 6: an entry delivered and not acknowledged for this long is claimed by a live consumer (XAUTOCLAIM): a dead consumer\'s, or a failed send\'s retry. Must exceed SMTP_TIMEOUT_MS, or a send still under way is claimed and sent twice.'),
  MIN_TASK_PROCESSORS: setting('1', integer(1, 1000), 'Strategy 5 and its demo: the multiWorker never runs fewer jobs at once than this (node-resque: minTaskProcessors).'),
  MAX_TASK_PROCESSORS: setting('20', integer(1, 1000), 'Strategy 5 and its demo: the multiWorker never runs more jobs at once than this (the talk\'s demo: 20); also its number of SMTP connections.'),
  CHECK_TIMEOUT_MS: setting('100', integer(10, 60_000), 'Strategy 5 and its demo: how often the multiWorker measures its event loop and decides how many jobs to run (node-resque: checkTimeout, 500 there).'),
  MAX_EVENT_LOOP_DELAY_MS: setting('10', integer(1, 60_000), 'Strategy 5 and its demo: event-loop delay (ms) above which the multiWorker cuts the jobs it runs at once (node-resque: maxEventLoopDelay).'),
  DASHBOARD_PORT: setting('8081', integer(0, 65535), 'HTTP port of the queue dashboard (npm run dashboard).'),
  DASHBOARD_HOST: setting('127.0.0.1', text(255), 'Interface the dashboard binds to. Loopback by default: it can retry and delete jobs; 0.0.0.0 opens it to the network.'),
  METRICS: setting('on', boolean, 'Every process: count Prometheus metrics (docs/metrics.md) and serve GET /metrics on the web port. off counts nothing and serves no /metrics (the benchmark compares the two).'),
  METRICS_PORT: setting('', optionalPort, 'A worker, a consumer, strategy 3\'s primary: serve GET /metrics on this port (0 picks a free one, logged at start). Unset: none. The supervisors of 4, 5 and 6 give their children this port and the next ones (0: each a free one). Web processes serve /metrics on PORT regardless.'),
  LOG_LEVEL: setting('info', oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'), 'Least severe log level printed.'),
  LOG_FORMAT: setting('', oneOf('', 'pretty', 'json'), 'pretty for people, json for machines. Unset: pretty on a terminal, json otherwise.'),
  SHUTDOWN_TIMEOUT_MS: setting('10000', integer(0, 600_000), 'On SIGINT/SIGTERM, how long to drain in-flight work before a hard stop (exit code 1).'),
} satisfies Record<string, Setting<unknown>>;

type Settings = typeof settings;
export type Config = { [K in keyof Settings]: ReturnType<Settings[K]['parse']> };

/** Reads and validates every setting; throws one ConfigError listing all bad ones. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, s] of Object.entries(settings) as [string, Setting<unknown>][]) {
    const raw = env[name];
    try {
      config[name] = s.parse(raw === undefined ? s.fallback : raw, name);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (problems.length === 0) problems.push(...redisTargetProblems(config as Config));
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  return config as Config;
}

/** The hash tag Redis Cluster hashes a key by: what stands between its first { and the next }, when not empty. */
export function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/** One way to name Redis, given whole: a Sentinel list needs its master's name and the other way round, and never beside REDIS_URL. */
function redisTargetProblems(c: Config): string[] {
  const sentinels = c.REDIS_SENTINELS.length > 0;
  const master = c.REDIS_SENTINEL_MASTER.trim() !== '';
  if (sentinels && !master) return ['REDIS_SENTINELS is set without REDIS_SENTINEL_MASTER: name the primary the sentinels monitor, e.g. REDIS_SENTINEL_MASTER=mymaster'];
  if (master && !sentinels) return ['REDIS_SENTINEL_MASTER is set without REDIS_SENTINELS: list the sentinels, e.g. REDIS_SENTINELS=127.0.0.1:26379,127.0.0.1:26380'];
  if (sentinels && c.REDIS_URL) return ['REDIS_URL and REDIS_SENTINELS both name the Redis to use: set one of them'];
  if (c.REDIS_CLUSTER_NODES.length === 0) return [];
  if (sentinels || c.REDIS_URL) return [`REDIS_CLUSTER_NODES and ${sentinels ? 'REDIS_SENTINELS' : 'REDIS_URL'} both name the Redis to use: set one of them`];
  const problems: string[] = [];
  if (!hashTag(c.QUEUE_NAMESPACE)) {
    problems.push(
      `QUEUE_NAMESPACE "${c.QUEUE_NAMESPACE}" has no hash tag, and on Redis Cluster the queue's scripts touch several keys of it at once (CROSSSLOT): name it with one, e.g. QUEUE_NAMESPACE={${c.QUEUE_NAMESPACE || 'resque'}}, so all its keys live in one slot`,
    );
  }
  // WAIT is a command without a key: on a Cluster it would ask a node at random, not the one that took the write.
  if (c.ENQUEUE_REPLICAS > 0) problems.push('ENQUEUE_REPLICAS is not supported on Redis Cluster (WAIT would ask a random node): set it to 0');
  return problems;
}

/**
 * Strategy 6's processes check this at start (the others do not read
 * CLAIM_MIN_IDLE_MS, so a long SMTP_TIMEOUT_MS is theirs to choose): a claim of
 * an entry whose send is still under way would send it twice.
 */
export function checkClaimTime(config: Config): void {
  if (config.CLAIM_MIN_IDLE_MS > config.SMTP_TIMEOUT_MS) return;
  throw new ConfigError(`Invalid configuration:\n  CLAIM_MIN_IDLE_MS must exceed SMTP_TIMEOUT_MS (${config.SMTP_TIMEOUT_MS} ms), got ${config.CLAIM_MIN_IDLE_MS}`);
}

/** The name with a hash tag, for a message: its part before the first colon becomes the tag ({events}:email-requested). */
function tagged(name: string): string {
  const colon = name.indexOf(':');
  return colon > 0 ? `{${name.slice(0, colon)}}${name.slice(colon)}` : `{${name || 'events'}}`;
}

/**
 * Strategy 6's processes check this at start, beside checkClaimTime (the
 * others do not read EVENT_STREAM). On Redis Cluster every key of the event
 * bus is named after the stream and its scripts touch several at once, so the
 * stream needs a hash tag. Pub/sub is refused there: a PUBLISH reaches the
 * subscribers of every node, but answers how many heard it on the one node it
 * was sent to, so the reply and /stats would miscount who heard an email.
 */
export function checkEventBusOnCluster(config: Config): void {
  if (config.REDIS_CLUSTER_NODES.length === 0) return;
  const problems: string[] = [];
  if (!hashTag(config.EVENT_STREAM)) {
    problems.push(
      `EVENT_STREAM "${config.EVENT_STREAM}" has no hash tag, and on Redis Cluster strategy 6 keeps every key beside its stream (<stream>:dead, <stream>:errors:<group>, ...) and its scripts touch several at once (CROSSSLOT): name it with one, e.g. EVENT_STREAM=${tagged(config.EVENT_STREAM)}, so all its keys live in one slot`,
    );
  }
  if (config.EVENT_TRANSPORT === 'pubsub') {
    problems.push('EVENT_TRANSPORT=pubsub is not supported on Redis Cluster (a PUBLISH there counts only the subscribers of the node it reached): use EVENT_TRANSPORT=stream, or one Redis for the pub/sub contrast');
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
}
