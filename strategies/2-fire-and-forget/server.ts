// Strategy 2 - fire-and-forget: answer at once, send in the background of the
// same process.
//
// When the response returns: immediately (202), before SMTP is even contacted.
// What a crash loses: every email accepted and not yet sent - they exist only
//   in this process's memory. A failed send is logged and counted, and that is
//   all: the client was told "accepted" long ago and will never hear of it.
// Walkthrough: docs/walkthrough.md, "2. Fire-and-forget".
import type { Email } from '../../shared/email.ts';
import { httpOptions, startHttp } from '../../shared/http.ts';
import { isMain, runStrategy, type Running, type StrategyContext } from '../../shared/main.ts';
import { mailerFromConfig } from '../../shared/mailer.ts';
import { countedMailer } from '../../shared/metrics/emails.ts';

export async function start({ config, logger, smtpUrl }: StrategyContext): Promise<Running> {
  // Pooled: a burst of requests would otherwise open one SMTP connection each;
  // past 5 at once, sends wait in memory for a free connection.
  const mailer = countedMailer(mailerFromConfig(config, smtpUrl, { pool: 5 }));
  const counts = { sent: 0, failed: 0, pending: 0 };
  const inFlight = new Set<Promise<void>>();

  function accept(email: Email) {
    counts.pending++;
    // Deliberately not awaited: that is the whole strategy. The .catch is the
    // only error handling it has - a log line nobody is waiting for.
    const sending: Promise<void> = mailer
      .send(email)
      .then(() => {
        counts.sent++;
        logger.info({ id: email.id }, 'sent');
      })
      .catch((err: Error) => {
        counts.failed++;
        logger.error({ id: email.id, err: err.message }, 'send failed after the client was told 202: email lost');
      })
      .finally(() => {
        counts.pending--;
        inFlight.delete(sending);
      });
    inFlight.add(sending);
    return { status: 202, body: { id: email.id, status: 'accepted' } };
  }

  const http = await startHttp(
    { accept, stats: () => ({ strategy: '2-fire-and-forget', ...counts }) },
    httpOptions(config, logger),
  );
  return {
    url: http.url,
    async close() {
      await http.close();
      // A graceful stop can keep its promises; SIGKILL cannot (see the crash test).
      await Promise.allSettled(inFlight);
      mailer.close();
    },
  };
}

if (isMain(import.meta.url)) await runStrategy('2-fire-and-forget', start);
