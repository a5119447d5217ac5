// Strategy 3 - cluster IPC, the server child: the shared HTTP API, which hands
// every email to the primary and forgets it.
//
// When the response returns: as soon as the primary has taken the email (202),
//   or refused it because its buffer for a dead worker is full (503). Never
//   after SMTP: this process has no mailer.
// What a crash loses: nothing it had relayed - those emails already live in
//   the primary or the worker. A request cut off before the primary answered
//   gets no 202, so its client knows to try again.
// Walkthrough: docs/walkthrough.md, "3. Cluster IPC".
import type { Email } from '../../shared/email.ts';
import { httpOptions, startHttp, type Reply } from '../../shared/http.ts';
import { configOrExit, isMain, processLogger } from '../../shared/main.ts';
import { processMetrics } from '../../shared/metrics/registry.ts';
import { onShutdown } from '../../shared/shutdown.ts';
import { assertSupervised, superviseMe, toSupervisor } from '../../shared/supervisor.ts';
import { STRATEGY, type FromServer, type ToServer } from './protocol.ts';

export async function start(): Promise<void> {
  const config = configOrExit();
  const logger = processLogger(config, STRATEGY, 'server');
  processMetrics(config, STRATEGY); // its requests at GET /metrics; the emails' fate is the primary's, on METRICS_PORT
  // Requests waiting for the primary's answer, by a number of our own (tracking ids may repeat).
  const waiting = new Map<number, (answer: ToServer) => void>();
  let nextRef = 0;

  function ask(message: { type: 'email'; email: Email } | { type: 'stats' }) {
    return new Promise<ToServer>((resolve) => {
      const ref = ++nextRef;
      waiting.set(ref, resolve);
      toSupervisor({ ...message, ref } satisfies FromServer);
    });
  }

  async function accept(email: Email): Promise<Reply> {
    const answer = await ask({ type: 'email', email });
    if (answer.type === 'taken' && answer.accepted) return { status: 202, body: { id: email.id, status: 'accepted' } };
    const error = 'the worker is down and the primary cannot hold more emails: try again shortly';
    return { status: 503, body: { id: email.id, error }, headers: { 'retry-after': '1' } };
  }

  async function stats() {
    const answer = await ask({ type: 'stats' });
    return answer.type === 'stats' ? answer.stats : undefined;
  }

  const http = await startHttp({ accept, stats }, httpOptions(config, logger));
  // The primary's answers. Its "stop" is superviseMe's: a SIGTERM to ourselves.
  process.on('message', (answer: ToServer) => {
    waiting.get(answer.ref)?.(answer);
    waiting.delete(answer.ref);
  });
  // SIGTERM to this pid alone is a graceful restart: requests in flight still
  // get the primary's answer, then we exit and the primary forks a new server.
  onShutdown(logger, () => http.close(), config.SHUTDOWN_TIMEOUT_MS);
  superviseMe().ready({ url: http.url });
}

if (isMain(import.meta.url)) {
  assertSupervised('strategies/3-cluster-ipc/server.ts', 'strategies/3-cluster-ipc/main.ts (npm run strategy:3)');
  await start();
}
