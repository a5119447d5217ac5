// One nodemailer transport for the whole repo. It only ever talks to the
// configured SMTP host (the sink, by default): callers hand it an Email, never
// nodemailer options, so no code path can choose another server or envelope.
import nodemailer from 'nodemailer';
import type { Config } from './config.ts';
import type { Email } from './email.ts';
import { isLoopback } from './net.ts';

export interface SentInfo {
  messageId: string;
  /** The server's final reply, e.g. "250 OK: message queued". */
  response: string;
}

export interface Mailer {
  send(email: Email): Promise<SentInfo>;
  close(): void;
}

export interface MailerOptions {
  smtpUrl: URL;
  from: Config['MAIL_FROM'];
  timeoutMs: number;
  allowRemote?: boolean;
  /** Keep connections open and reuse them: for workers that send many emails. */
  pool?: boolean;
  maxConnections?: number;
}

export class MailerConfigError extends Error {
  override name = 'MailerConfigError';
}

/**
 * A 5xx reply means "do not try again" (bad mailbox, policy); everything else -
 * 4xx, a refused or dropped connection, a timeout - is worth a retry.
 */
export function isPermanentFailure(err: unknown): boolean {
  const code = (err as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

export function createMailer(options: MailerOptions): Mailer {
  const { smtpUrl, from, timeoutMs, allowRemote = false, pool = false, maxConnections = 5 } = options;
  if (smtpUrl.protocol !== 'smtp:') throw new MailerConfigError(`only smtp:// is supported, got ${smtpUrl.protocol}`);
  const host = smtpUrl.hostname;
  if (!allowRemote && !isLoopback(host)) {
    throw new MailerConfigError(`refusing to send mail to ${host}: set SMTP_ALLOW_REMOTE=true to use a non-loopback SMTP server`);
  }
  const common = {
    host,
    port: Number(smtpUrl.port),
    secure: false,
    ignoreTLS: true,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  };
  const transport = pool
    ? nodemailer.createTransport({ ...common, pool: true, maxConnections, maxMessages: Infinity })
    : nodemailer.createTransport(common);

  return {
    async send(email) {
      const info = await transport.sendMail({
        from,
        to: email.to,
        subject: email.subject,
        text: email.text,
        headers: { 'X-Request-Id': email.id },
      });
      return { messageId: String(info.messageId), response: String(info.response) };
    },
    close() {
      transport.close();
    },
  };
}

/**
 * The mailer for a process, from its config (SMTP_URL must be resolved by
 * then). `pool`: keep up to that many connections open and reuse them - one
 * per email that may be sent at once - instead of one connection per email.
 */
export function mailerFromConfig(config: Config, smtpUrl: URL, { pool }: { pool?: number } = {}): Mailer {
  return createMailer({
    smtpUrl,
    from: config.MAIL_FROM,
    timeoutMs: config.SMTP_TIMEOUT_MS,
    allowRemote: config.SMTP_ALLOW_REMOTE,
    pool: pool !== undefined,
    maxConnections: pool,
  });
}
