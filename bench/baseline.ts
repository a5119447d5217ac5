// The ceiling: a server of exactly the strategies' shape - the same HTTP API,
// routing, body parsing and validation from shared/http.ts - whose accept does
// nothing and answers 202. Whatever a strategy does on top of this is what its
// accept path costs; the benchmark quotes every strategy as a ratio of it.
import type { Email } from '../shared/email.ts';
import { httpOptions, startHttp } from '../shared/http.ts';
import { isMain, runStrategy, type Running, type StrategyContext } from '../shared/main.ts';

export async function start({ config, logger }: StrategyContext): Promise<Running> {
  let accepted = 0;
  const accept = (email: Email) => {
    accepted++;
    return { status: 202, body: { id: email.id, status: 'accepted' } };
  };
  const http = await startHttp(
    // The same /stats fields the drain polls, so the harness treats it like any strategy.
    { accept, stats: () => ({ strategy: '0-baseline', accepted, pending: 0, sent: 0, failed: 0 }) },
    httpOptions(config, logger),
  );
  return { url: http.url, close: () => http.close() };
}

if (isMain(import.meta.url)) await runStrategy('0-baseline', start);
