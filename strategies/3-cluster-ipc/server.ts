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
import { configOrExit, isMain } from '../../shared/main.ts';
import { assertChildOfPrimary, exitAfterLastWord, loggerViaPrimary, toPrimary, type ClusterStats, type ToServer } from './protocol.ts';

export async function start(): Promise<void> {
  const config = configOrExit();
  const logger = loggerViaPrimary(config);
  // Requests waiting for the primary's answer, by a number of our own (tracking ids may repeat).
  const waiting = new Map<number, (answer: ToServer) => void>();
  let nextRef = 0;

  function ask(message: (ref: number) => { type: 'email'; ref: number; email: Email } | { type: 'stats'; ref: number }) {
    return new Promise<ToServer>((resolve) => {
      const ref = ++nextRef;
      waiting.set(ref, resolve);
      toPrimary(message(ref));
    });
  }

  async function accept(email: Email): Promise<Reply> {
    const answer = await ask((ref) => ({ type: 'email', ref, email }));
    if (answer.type === 'taken' && answer.accepted) return { status: 202, body: { id: email.id, status: 'accepted' } };
    return {
      status: 503,
      body: { id: email.id, error: 'the worker is down and the primary cannot hold more emails: try again shortly' },
      headers: { 'retry-after': '1' },
    };
  }

  async function stats(): Promise<ClusterStats | undefined> {
    const answer = await ask((ref) => ({ type: 'stats', ref }));
    return answer.type === 'stats' ? answer.stats : undefined;
  }

  const http = await startHttp({ accept, stats }, httpOptions(config, logger));

  // Stop intake; requests in flight still get the primary's answer, then we go.
  const stop = () => void http.close().then(() => exitAfterLastWord(0, 'server stopped'));
  process.on('message', (message: ToServer) => {
    if (message.type === 'stop') return stop();
    waiting.get(message.ref)?.(message);
    waiting.delete(message.ref);
  });
  // SIGTERM to this pid alone is a graceful restart (the primary re-forks us).
  // Ctrl-C reaches every process of the terminal: the primary decides then.
  process.on('SIGTERM', stop);
  process.on('SIGINT', () => {});
  toPrimary({ type: 'ready', url: http.url, port: http.port });
}

if (isMain(import.meta.url)) {
  assertChildOfPrimary('strategies/3-cluster-ipc/server.ts');
  await start();
}
