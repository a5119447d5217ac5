// Strategy 3 - cluster IPC: a primary process (node:cluster) forks a web
// server and a worker, relays every email from one to the other over IPC,
// re-forks whichever dies, and does all the logging for both.
//
// When the response returns: at once (202), as soon as the primary has taken
//   the email - before the worker has seen it, long before SMTP.
// What a crash loses: a killed worker takes every email in its memory with it,
//   and the primary says how many ("worker died: N emails lost"). A killed
//   server loses nothing it had relayed. A killed primary loses what it held,
//   and its children exit with it.
// Walkthrough: docs/walkthrough.md, "3. Cluster IPC".
import cluster, { type Worker as ChildProcess } from 'node:cluster';
import { EventEmitter, once } from 'node:events';
import path from 'node:path';
import type { Email } from '../../shared/email.ts';
import { createLogger, type Logger } from '../../shared/logger.ts';
import { configOrExit, curlExample, isMain, resolveSmtp, type Running, type StrategyContext } from '../../shared/main.ts';
import { onShutdown } from '../../shared/shutdown.ts';
import { relayLog, relayOutput, whoSpeaks, type ClusterStats, type FromServer, type FromWorker, type Role, type ToServer, type ToWorker, type WorkerLoad } from './protocol.ts';

const STRATEGY = '3-cluster-ipc';
// A child that ran this long was healthy: its next exit starts the backoff over.
const HEALTHY_AFTER_MS = 10_000;
// /stats asks the worker for its live queue; a worker too busy to answer this fast is reported as empty.
const LOAD_QUERY_TIMEOUT_MS = 1_000;
const entries: Record<Role, string> = {
  server: path.join(import.meta.dirname, 'server.ts'),
  worker: path.join(import.meta.dirname, 'worker.ts'),
};

/** The wait before a re-fork: doubles with each exit in a row, back to `baseMs` after a healthy run. */
export function restartBackoff(baseMs: number, maxMs: number, healthyAfterMs = HEALTHY_AFTER_MS) {
  let inARow = 0;
  let startedAt = 0;
  return {
    started(now: number): void {
      startedAt = now;
    },
    exited(now: number): { delayMs: number; inARow: number } {
      inARow = now - startedAt >= healthyAfterMs ? 1 : inARow + 1;
      return { delayMs: Math.min(maxMs, baseMs * 2 ** (inARow - 1)), inARow };
    },
  };
}

interface Slot {
  role: Role;
  child?: ChildProcess;
  /** starting: forked, not ready yet; online: takes work; draining: finishing, takes none. */
  state: 'starting' | 'online' | 'draining' | 'down';
  restarts: number;
  backoff: ReturnType<typeof restartBackoff>;
  refork?: NodeJS.Timeout;
}

export interface RunningCluster extends Running {
  /** Resolves the first time the worker is online (the server is when start() resolves). */
  workerOnline: Promise<void>;
  pids(): ClusterStats['pids'];
  stats(): Promise<ClusterStats>;
}

/** Forks the children and resolves once the server listens. One cluster per process: node:cluster is global. */
export async function start({ config, logger, smtpUrl }: StrategyContext): Promise<RunningCluster> {
  // Children run TypeScript too: make sure the tsx loader is among their node flags.
  const execArgv = process.execArgv.some((arg) => arg.includes('tsx')) ? process.execArgv : [...process.execArgv, '--import', import.meta.resolve('tsx')];
  const slot = (role: Role): Slot => ({ role, state: 'down', restarts: 0, backoff: restartBackoff(config.RESTART_BACKOFF_MS, config.RESTART_BACKOFF_MAX_MS) });
  const slots = { server: slot('server'), worker: slot('worker') };
  const events = new EventEmitter(); // '<role>:online', '<role>:exit'
  const counts = { sent: 0, failed: 0, lost: 0, retries: 0, refused: 0 };
  // Every email the primary has taken and not seen finished is in exactly one
  // of these: held while the worker is down (bounded), or handed to the worker.
  const buffer: { email: Email; acceptedAt: number }[] = [];
  const handedOver = new Map<number, { id: string; acceptedAt: number }>();
  const recentFailures: ClusterStats['recentFailures'] = [];
  const loadQueries = new Map<number, (load: WorkerLoad | undefined) => void>();
  let nextJob = 0;
  let nextRef = 0;
  let serverPort = config.PORT; // pinned to the real port once a server listens, so a re-forked one comes back on it
  let url = '';
  let stopping = false;
  let refusing = false;

  function fork(s: Slot): void {
    s.refork = undefined;
    cluster.setupPrimary({ exec: entries[s.role], execArgv, silent: true });
    // Env, not messages: a re-forked child finds the same sink and port on its own.
    const child = cluster.fork({ SMTP_URL: smtpUrl.href, PORT: String(serverPort) });
    const log = logger.child({ child: s.role, childPid: child.process.pid });
    s.child = child;
    s.state = 'starting';
    s.backoff.started(Date.now());
    relayOutput(child, log);
    child.on('message', (m: FromServer | FromWorker) => (s.role === 'server' ? onServerMessage(child, log, m as FromServer) : onWorkerMessage(child, log, m as FromWorker)));
    child.on('error', (err) => log.warn({ err: err.message }, 'IPC error'));
    // Dead once the process exited *and* the primary has read every message it
    // wrote (disconnect): a report sent just before a SIGKILL still counts.
    let exit: [number | null, string | null] | undefined;
    let disconnected = false;
    const settle = () => exit && disconnected && onExit(s, child, log, ...exit);
    child.once('exit', (code: number | null, signal: string | null) => ((exit = [code, signal]), settle()));
    child.once('disconnect', () => ((disconnected = true), settle()));
  }

  function onExit(s: Slot, child: ChildProcess, log: Logger, code: number | null, signal: string | null): void {
    if (s.child === child) {
      s.child = undefined;
      s.state = 'down';
    }
    const clean = code === 0 && signal === null;
    if (s.role === 'worker') {
      const lost = [...handedOver.values()].map((e) => e.id);
      counts.lost += lost.length;
      handedOver.clear();
      for (const answer of loadQueries.values()) answer(undefined);
      loadQueries.clear();
      if (lost.length > 0 || !clean) {
        log[lost.length > 0 ? 'error' : 'warn']({ lost: lost.length, lostIds: lost.slice(0, 20), code, signal }, `worker died: ${lost.length} emails lost`);
      } else log.info({ lost: 0, code }, 'worker exited: nothing lost');
    } else {
      log[clean ? 'info' : 'warn']({ code, signal }, clean ? 'server exited' : 'server died: what it relayed is safe');
    }
    events.emit(`${s.role}:exit`);
    // When stopping, only a worker still owed emails comes back.
    if (stopping && !(s.role === 'worker' && buffer.length > 0)) return;
    const { delayMs, inARow } = s.backoff.exited(Date.now());
    log.warn({ delayMs, inARow }, `re-forking the ${s.role} in ${delayMs} ms`);
    s.refork = setTimeout(() => refork(s), delayMs);
  }

  function refork(s: Slot): void {
    s.restarts++;
    fork(s);
  }

  function send(child: ChildProcess, log: Logger, message: ToServer | ToWorker): void {
    // The callback turns "the child just died" into a debug line instead of an 'error' event.
    child.send(message, (err) => err && log.debug({ err: err.message, type: message.type }, 'message not delivered: child gone'));
  }

  function onServerMessage(child: ChildProcess, log: Logger, m: FromServer): void {
    if (m.type === 'ready') {
      slots.server.state = 'online';
      serverPort = m.port;
      url = m.url;
      log.info({ url }, 'child online');
      events.emit('server:online');
    } else if (m.type === 'email') send(child, log, { type: 'taken', ref: m.ref, accepted: take(m.email) });
    else if (m.type === 'stats') void stats().then((s) => send(child, log, { type: 'stats', ref: m.ref, stats: s }));
    else relayLog(log, m.line);
  }

  /** The server's question "will you take it?": yes if a worker is online or the buffer has room. */
  function take(email: Email): boolean {
    const acceptedAt = Date.now();
    if (slots.worker.state === 'online') {
      handOver(email, acceptedAt);
      return true;
    }
    if (buffer.length >= config.BUFFER_LIMIT) {
      counts.refused++;
      if (!refusing) logger.error({ bufferLimit: config.BUFFER_LIMIT }, 'buffer full while the worker is down: answering 503');
      refusing = true;
      return false;
    }
    buffer.push({ email, acceptedAt });
    if (buffer.length === 1) logger.warn('no worker online: holding emails until one is');
    return true;
  }

  function handOver(email: Email, acceptedAt: number): void {
    const job = ++nextJob;
    handedOver.set(job, { id: email.id, acceptedAt });
    slots.worker.child!.send({ type: 'email', job, email } satisfies ToWorker, (err) => {
      // It never left this process: hold it for the next worker rather than call it lost.
      if (err && handedOver.delete(job)) buffer.unshift({ email, acceptedAt });
    });
  }

  function onWorkerMessage(child: ChildProcess, log: Logger, m: FromWorker): void {
    const entry = 'job' in m ? handedOver.get(m.job) : undefined;
    const id = entry?.id;
    switch (m.type) {
      case 'ready': {
        slots.worker.state = 'online';
        log.info('child online');
        const held = buffer.splice(0);
        for (const h of held) handOver(h.email, h.acceptedAt);
        if (held.length > 0) log.info({ count: held.length }, `handed ${held.length} held emails to the new worker`);
        refusing = false;
        events.emit('worker:online');
        return;
      }
      case 'sent':
        handedOver.delete(m.job);
        counts.sent++;
        log.info({ id, attempt: m.attempt, sendMs: m.ms, ageMs: entry && Date.now() - entry.acceptedAt, queue: m.queue, inFlight: m.inFlight }, 'sent');
        return;
      case 'retry':
        counts.retries++;
        log.warn({ id, attempt: m.attempt, delayMs: m.delayMs, error: m.error }, `send failed, retry in ${m.delayMs} ms`);
        return;
      case 'failed':
        handedOver.delete(m.job);
        counts.failed++;
        recentFailures.push({ id: id ?? '?', attempts: m.attempt, error: m.error });
        if (recentFailures.length > 10) recentFailures.shift();
        log.error({ id, attempts: m.attempt, permanent: m.permanent, error: m.error }, 'failed: giving up on this email');
        return;
      case 'load':
        loadQueries.get(m.ref)?.(m);
        loadQueries.delete(m.ref);
        return;
      case 'stop-requested':
        // Emails sent before this "drain" reach the worker first: IPC keeps order.
        slots.worker.state = 'draining';
        log.info('worker asked to stop: holding new emails for the next one');
        send(child, log, { type: 'drain' });
        return;
      case 'log':
        relayLog(log, m.line);
    }
  }

  function workerLoad(): Promise<WorkerLoad> {
    const empty = { queue: 0, inFlight: 0, retrying: 0 };
    const { child, state } = slots.worker;
    if (!child || (state !== 'online' && state !== 'draining')) return Promise.resolve(empty);
    return new Promise((resolve) => {
      const ref = ++nextRef;
      const timer = setTimeout(() => loadQueries.delete(ref) && resolve(empty), LOAD_QUERY_TIMEOUT_MS);
      loadQueries.set(ref, (load) => {
        clearTimeout(timer);
        resolve(load ? { queue: load.queue, inFlight: load.inFlight, retrying: load.retrying } : empty);
      });
      send(child, logger, { type: 'load?', ref });
    });
  }

  const pids = (): ClusterStats['pids'] => ({
    primary: process.pid,
    server: slots.server.child?.process.pid ?? null,
    worker: slots.worker.child?.process.pid ?? null,
  });

  async function stats(): Promise<ClusterStats> {
    const load = await workerLoad();
    return {
      strategy: STRATEGY,
      pending: buffer.length + handedOver.size,
      ...counts,
      ...load,
      buffered: buffer.length,
      bufferLimit: config.BUFFER_LIMIT,
      handedOver: handedOver.size,
      workerConcurrency: config.WORKER_CONCURRENCY,
      restarts: { server: slots.server.restarts, worker: slots.worker.restarts },
      pids: pids(),
      recentFailures: [...recentFailures],
    };
  }

  const nextEvent = (...names: string[]) => Promise.race(names.map((name) => once(events, name)));

  async function close(): Promise<void> {
    stopping = true;
    const lostBefore = counts.lost;
    // 1. Intake: the server finishes its open requests (still answered here) and exits.
    const server = slots.server;
    clearTimeout(server.refork);
    if (server.state === 'starting') await nextEvent('server:online', 'server:exit');
    if (server.child && server.state !== 'down') {
      const exited = once(events, 'server:exit');
      send(server.child, logger, { type: 'stop' });
      await exited;
    }
    // 2. The work: everything taken is finished by a worker, re-forked if one is still owed emails.
    for (;;) {
      const worker = slots.worker;
      if (worker.state === 'down' && buffer.length === 0) break;
      if (worker.state === 'down' || worker.state === 'starting') {
        if (worker.state === 'down' && !worker.refork) refork(worker);
        await nextEvent('worker:online', 'worker:exit');
        continue;
      }
      const exited = once(events, 'worker:exit');
      send(worker.child!, logger, { type: 'drain' });
      await exited;
    }
    clearTimeout(slots.worker.refork);
    if (counts.lost > lostBefore) throw new Error(`${counts.lost - lostBefore} emails lost while stopping`);
  }

  const workerOnline = once(events, 'worker:online').then(() => {});
  const serverOnline = once(events, 'server:online');
  fork(slots.server);
  fork(slots.worker);
  await serverOnline;
  return { url, workerOnline, pids, stats, close };
}

if (isMain(import.meta.url)) {
  const config = configOrExit();
  const logger = createLogger({ strategy: STRATEGY, role: 'primary', level: config.LOG_LEVEL, format: config.LOG_FORMAT, pretty: whoSpeaks });
  const smtp = await resolveSmtp(config, logger);
  const starting = start({ config, logger, smtpUrl: smtp.url });
  let stopping = false;
  // Installed before the children are up: a SIGTERM during start-up still stops them in order.
  onShutdown(
    logger,
    async () => {
      stopping = true;
      await (await starting).close();
      await smtp.close();
    },
    config.SHUTDOWN_TIMEOUT_MS,
  );
  const running = await starting;
  await running.workerOnline;
  const pids = running.pids();
  if (!stopping) {
    logger.info(
      { url: running.url, pids },
      `listening on ${running.url} (primary ${pids.primary}, server ${pids.server}, worker ${pids.worker})  try: ${curlExample(running.url)}`,
    );
    logger.info(`watch a crash: kill -9 ${pids.worker} (the worker: its queue is lost) or kill -9 ${pids.server} (the server: nothing is lost)`);
  }
}
