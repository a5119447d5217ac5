// Strategy 3 - cluster IPC: a primary process forks a web server and a worker
// (shared/supervisor.ts, which forks again whichever dies; node:cluster would
// only add a port shared by several servers), relays every email from one to
// the other over IPC, and counts what the worker finished.
//
// When the response returns: at once (202), as soon as the primary has taken
//   the email - before the worker has seen it, long before SMTP.
// What a crash loses: a killed worker takes every email in its memory with it,
//   and the primary says how many ("worker died: N emails lost"). A killed
//   server loses nothing it had relayed. A killed primary loses what it held,
//   and its children exit with it.
// Walkthrough: docs/walkthrough.md, "3. Cluster IPC".
import path from 'node:path';
import type { Email } from '../../shared/email.ts';
import { isMain, runStrategy, type Running, type StrategyContext } from '../../shared/main.ts';
import { lostSome } from '../../shared/metrics/emails.ts';
import { collectPrimaryMetrics, countWorkerReport } from '../../shared/metrics/workers.ts';
import { superviseChild } from '../../shared/supervisor.ts';
import { STRATEGY, type FromServer, type FromWorker, type ToServer, type ToWorker, type WorkerLoad } from './protocol.ts';

/** Forks the children and resolves once both are online. */
export async function start({ config, logger, smtpUrl }: StrategyContext) {
  const counts = { sent: 0, failed: 0, lost: 0, retries: 0, refused: 0 };
  // Every email the primary has taken and not seen finished is in exactly one
  // of these: held while the worker is down (bounded), or handed to the worker.
  const buffer: { email: Email; acceptedAt: number }[] = [];
  const handedOver = new Map<number, { id: string; acceptedAt: number }>();
  const recentFailures: { id: string; attempts: number; error: string }[] = [];
  const idle: WorkerLoad = { queue: 0, inFlight: 0, retrying: 0 };
  let load = idle; // as the worker last reported it
  let workerState: 'down' | 'online' | 'draining' = 'down';
  let refusing = false; // say "buffer full" once per outage
  let nextJob = 0;

  const env = { SMTP_URL: smtpUrl.href };
  const server = superviseChild<FromServer>({ config, logger }, {
    role: 'server',
    entry: path.join(import.meta.dirname, 'server.ts'),
    env,
    onMessage(m) {
      if (m.type === 'email') server.send({ type: 'taken', ref: m.ref, accepted: take(m.email) } satisfies ToServer);
      else if (m.type === 'stats') server.send({ type: 'stats', ref: m.ref, stats: stats() } satisfies ToServer);
    },
    onExit: (code, signal, log) => (code === 0 ? log.info({ code }, 'server exited') : log.warn({ code, signal }, 'server died: what it relayed is safe')),
    restartLine: (delayMs) => `re-forking the server in ${delayMs} ms`,
  });
  const worker = superviseChild<FromWorker>({ config, logger }, {
    role: 'worker',
    entry: path.join(import.meta.dirname, 'worker.ts'),
    env,
    onMessage: onWorkerMessage,
    onExit(code, signal, log) {
      workerState = 'down';
      load = idle;
      const lost = [...handedOver.values()].map((e) => e.id);
      counts.lost += lost.length;
      lostSome(lost.length);
      handedOver.clear();
      if (lost.length > 0) log.error({ lost: lost.length, lostIds: lost.slice(0, 20), code, signal }, `worker died: ${lost.length} emails lost`);
      else if (code !== 0) log.warn({ lost: 0, lostIds: [], code, signal }, 'worker died: 0 emails lost');
      else log.info({ lost: 0, code }, 'worker exited: nothing lost');
    },
    restartLine: (delayMs) => `re-forking the worker in ${delayMs} ms`,
    // While stopping, a worker comes back only for emails still held for it.
    neededWhileStopping: () => buffer.length > 0,
  });

  /** The server's question "will you take it?": yes if a worker is online or the buffer has room. */
  function take(email: Email): boolean {
    const acceptedAt = Date.now();
    if (workerState === 'online') {
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
    // Not delivered (the worker just died): it never left this process, so hold it for the next worker rather than call it lost.
    worker.send({ type: 'email', job, email } satisfies ToWorker, () => handedOver.delete(job) && buffer.unshift({ email, acceptedAt }));
  }

  function onWorkerMessage(m: FromWorker): void {
    const entry = 'job' in m ? handedOver.get(m.job) : undefined;
    countWorkerReport(m, entry?.acceptedAt);
    if ('queue' in m) load = { queue: m.queue, inFlight: m.inFlight, retrying: m.retrying };
    const log = logger.child({ child: 'worker', childPid: worker.pid });
    switch (m.type) {
      case 'ready': {
        workerState = 'online';
        refusing = false;
        const held = buffer.splice(0);
        for (const h of held) handOver(h.email, h.acceptedAt);
        if (held.length > 0) log.info({ count: held.length }, `handed ${held.length} held emails to the new worker`);
        return;
      }
      case 'sent':
        handedOver.delete(m.job);
        counts.sent++;
        log.info({ id: entry?.id, attempt: m.attempt, sendMs: m.ms, ageMs: entry && Date.now() - entry.acceptedAt, queue: m.queue, inFlight: m.inFlight }, 'sent');
        return;
      case 'retry':
        counts.retries++;
        log.warn({ id: entry?.id, attempt: m.attempt, delayMs: m.delayMs, error: m.error }, `send failed, retry in ${m.delayMs} ms`);
        return;
      case 'failed':
        handedOver.delete(m.job);
        counts.failed++;
        if (recentFailures.push({ id: entry?.id ?? '?', attempts: m.attempt, error: m.error }) > 10) recentFailures.shift();
        log.error({ id: entry?.id, attempts: m.attempt, permanent: m.permanent, error: m.error }, 'failed: giving up on this email');
        return;
      case 'stop-requested':
        // Emails sent before this "drain" reach the worker first: IPC keeps order.
        workerState = 'draining';
        log.info('worker asked to stop: holding new emails for the next one');
        worker.send({ type: 'drain' } satisfies ToWorker);
    }
  }

  collectPrimaryMetrics(() => ({ buffered: buffer.length, ...load, workerUp: workerState === 'online' }));
  const pids = () => ({ primary: process.pid, server: server.pid, worker: worker.pid });

  const stats = () => ({
    strategy: STRATEGY,
    pending: buffer.length + handedOver.size,
    ...counts, ...load,
    buffered: buffer.length, bufferLimit: config.BUFFER_LIMIT, handedOver: handedOver.size, workerConcurrency: config.WORKER_CONCURRENCY,
    restarts: { server: server.restarts, worker: worker.restarts }, pids: pids(), recentFailures: [...recentFailures],
  });

  async function close(): Promise<void> {
    const lostBefore = counts.lost;
    await server.stop(); // intake first: the server answers its open requests and exits
    // Then everything taken is finished by a worker, forked again while emails are still held for one.
    while (worker.alive) await worker.stop({ type: 'drain' } satisfies ToWorker);
    if (counts.lost > lostBefore) throw new Error(`${counts.lost - lostBefore} emails lost while stopping`);
  }

  await Promise.all([server.online, worker.online]);
  return { url: server.url!, pids, close } satisfies Running;
}

if (isMain(import.meta.url)) {
  await runStrategy(STRATEGY, start, {
    role: 'primary',
    hint: ({ pids }) => `watch a crash: kill -9 ${pids().worker} (the worker: its queue is lost) or kill -9 ${pids().server} (the server: nothing is lost)`,
  });
}
