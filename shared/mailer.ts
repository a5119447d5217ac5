// One nodemailer transport for the whole repo. It only ever talks to the
// configured SMTP host (the sink, by default): callers hand it an Email, never
// nodemailer options, so no code path can choose another server or envelope.
//
// Every email carries an idempotency key (idempotencyKey below). A queue sends
// at least once: a crash after the provider kept a message but before the
// sender heard its 250 sends it again, and no bookkeeping on the sending side
// can know the provider kept it. A provider that remembers keys can: it
// answers the repeat with 250 and delivers nothing (Resend: for 24 hours).
import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import { settings, type Config } from './config.ts';
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
  /** The header the idempotency key travels in; default IDEMPOTENCY_HEADER's, '' sends none. */
  idempotencyHeader?: string;
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

// What a tracking id is made of (shared/email.ts checks every id against the same rule).
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * The key a provider deduplicates by: the tracking id, then a digest of the
 * recipient, subject and text. The same email gives the same key on every
 * retry, after every recovery and in every strategy. The digest is there for a
 * caller that reuses an id for a new email (a second password reset with a new
 * link, under the same X-Request-Id): that one gets a key of its own and is
 * delivered, not suppressed as a repeat for a day. An id outside the rule is
 * replaced by its hash, so the key is always a plain header value of at most
 * 145 characters (Resend takes up to 256).
 */
export function idempotencyKey(email: Email): string {
  const hash = (text: string) => createHash('sha256').update(text).digest('hex');
  const id = SAFE_ID.test(email.id) ? email.id : `id-${hash(email.id).slice(0, 32)}`;
  return `${id}.${hash(`${email.to}\n${email.subject}\n${email.text}`).slice(0, 16)}`;
}

export function createMailer(options: MailerOptions): Mailer {
  const { smtpUrl, from, timeoutMs, allowRemote = false, pool = false, maxConnections = 5 } = options;
  const { idempotencyHeader = settings.IDEMPOTENCY_HEADER.fallback } = options;
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
        headers: { 'X-Request-Id': email.id, ...(idempotencyHeader && { [idempotencyHeader]: idempotencyKey(email) }) },
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
    idempotencyHeader: config.IDEMPOTENCY_HEADER,
  });
}
