// Starting one target the way the strategies' convention says: `node --import
// tsx <entry>` with PORT, HOST, SMTP_URL and JSON logs, ready once it logs a
// "listening" line with its url. The port is chosen here, up front, so that a
// server the harness kills can come back on the same address (as it would
// under systemd), and autocannon's connections find it again.
import { freePort } from '../shared/net.ts';
import { spawnEntry, stopProc, type Proc } from './processes.ts';
import type { Target } from './targets.ts';

export interface TargetRun {
  target: Target;
  url: string;
  port: number;
  /** The process started for the target (for 3-6, the supervisor). Replaced when the harness restarts a server. */
  proc: Proc;
  /** The Redis it uses (its "listening" line names a private one), for reading its stream; undefined without Redis. */
  redisUrl: string | undefined;
  /** ms from spawn to the "listening" line. */
  startupMs: number;
  env: Record<string, string>;
  nodeArgs: string[];
}

// Short, so a strategy still draining a backlog when the run is over does not
// hold the benchmark up; what it had not sent by then is counted already.
const SHUTDOWN_TIMEOUT_MS = 1000;
const READY_TIMEOUT_MS = 60_000;

export interface LaunchOptions {
  smtpUrl: string;
  nodeArgs?: string[];
  /** Settings that override the ones above (the faults pass: its own REDIS_URL, a real SHUTDOWN_TIMEOUT_MS). */
  env?: Record<string, string>;
}

export async function spawnReady(target: Target, env: Record<string, string>, nodeArgs: string[]): Promise<{ proc: Proc; url: string; startupMs: number; redisUrl: string | undefined }> {
  const started = Date.now();
  const proc = spawnEntry({ name: target.name, entry: target.entry, env, nodeArgs });
  try {
    const line = await proc.waitForLine((l) => typeof l.url === 'string' && /^listening/.test(l.msg ?? ''), READY_TIMEOUT_MS, 'its "listening" line');
    const redisUrl = typeof line.redis === 'string' ? line.redis : env.REDIS_URL || undefined;
    return { proc, url: line.url as string, startupMs: Date.now() - started, redisUrl };
  } catch (err) {
    await stopProc(proc, 1000);
    throw err;
  }
}

export async function startTarget(target: Target, { smtpUrl, nodeArgs = [], env: extra = {} }: LaunchOptions): Promise<TargetRun> {
  const port = await freePort();
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    SMTP_URL: smtpUrl,
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    // Each run gets its own private Redis (strategies 4-6), never a shared one.
    REDIS_URL: '',
    ...target.env,
    ...extra,
  };
  const { proc, url, startupMs, redisUrl } = await spawnReady(target, env, nodeArgs);
  return { target, url, port, proc, startupMs, env, nodeArgs, redisUrl };
}

export async function stopTarget(run: TargetRun): Promise<void> {
  await stopProc(run.proc, SHUTDOWN_TIMEOUT_MS + 2000);
}
