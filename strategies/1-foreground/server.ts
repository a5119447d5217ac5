// Strategy 1 - foreground: the request sends the email itself.
//
// When the response returns: after the SMTP server accepted (200) or refused
//   (502) the message, so the client waits for the provider every time.
// What a crash loses: nothing silently. A request cut off mid-send gets no 200,
//   so the client knows to try again; the cost is latency, not loss.
// Walkthrough: docs/walkthrough.md, "1. Foreground".
import type { Email } from '../../shared/email.ts';
import { httpOptions, startHttp } from '../../shared/http.ts';
import { isMain, runStrategy, type Running, type StrategyContext } from '../../shared/main.ts';
import { mailerFromConfig } from '../../shared/mailer.ts';
import { countedMailer } from '../../shared/metrics/emails.ts';

export async function start({ config, logger, smtpUrl }: StrategyContext): Promise<Running> {
  const mailer = countedMailer(mailerFromConfig(config, smtpUrl));
  const counts = { sent: 0, failed: 0, pending: 0 };

  async function accept(email: Email) {
    counts.pending++;
    const started = Date.now();
    try {
      const info = await mailer.send(email);
      counts.sent++;
      logger.info({ id: email.id, ms: Date.now() - started }, 'sent');
      return { status: 200, body: { id: email.id, status: 'sent', ...info } };
    } catch (err) {
      // The client hears about it: "account created but email not sent" is its problem now.
      counts.failed++;
      logger.warn({ id: email.id, err: (err as Error).message }, 'send failed');
      return { status: 502, body: { id: email.id, status: 'failed', error: (err as Error).message } };
    } finally {
      counts.pending--;
    }
  }

  const http = await startHttp(
    { accept, stats: () => ({ strategy: '1-foreground', ...counts }) },
    httpOptions(config, logger),
  );
  return {
    url: http.url,
    async close() {
      await http.close(); // in-flight requests finish their send first
      mailer.close();
    },
  };
}

if (isMain(import.meta.url)) await runStrategy('1-foreground', start);
