// What happens to the emails, counted where it happens: accepted by a web
// process; sent, failed (given up), retried and lost by whoever does the
// work. Names follow the OpenTelemetry messaging conventions in spirit
// (docs/metrics.md says which): a counter per outcome, and two histograms in
// seconds - the wait between being accepted and the first attempt starting,
// and one attempt's processing time by outcome. No label ever names an email.
import { performance } from 'node:perf_hooks';
import { Counter, Histogram } from 'prom-client';
import type { Mailer } from '../mailer.ts';
import { metricsOn, registry } from './registry.ts';

const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] });

export const accepted = counter('emails_accepted_total', 'Emails the API answered 2xx for: taken by this strategy (OTel messaging.client.sent.messages, the producer side).');
export const sent = counter('emails_sent_total', 'Emails the SMTP provider accepted (250); a repeat after a crash counts again (OTel messaging.client.consumed.messages, outcome success).');
export const failed = counter('emails_failed_total', 'Emails given up for good: a 5xx, no attempts left, or not an email (strategy 6: dead letters).');
export const retried = counter('emails_retried_total', 'Failed attempts that will be tried again.');
export const lost = counter('emails_lost_total', 'Emails accepted and known to be lost (strategy 3: in a worker that died; strategy 6: trimmed from the stream while pending).');

export const waitTime = new Histogram({
  name: 'emails_queue_wait_seconds',
  help: 'Time an email waited between being accepted (enqueued) and its first attempt starting.',
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  registers: [registry],
});

export const processTime = new Histogram({
  name: 'emails_process_duration_seconds',
  help: 'Time of one attempt to send, by outcome: sent, retried or failed (OTel messaging.process.duration).',
  labelNames: ['outcome'],
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export type Outcome = 'sent' | 'retried' | 'failed';
const counters: Record<Outcome, Counter> = { sent, retried, failed };

/** One attempt's end: its outcome counted, its time (ms, when known) observed. */
export function attempted(outcome: Outcome, ms?: number): void {
  if (!metricsOn()) return;
  counters[outcome].inc();
  if (ms !== undefined) processTime.observe({ outcome }, ms / 1000);
}

/** An attempt starting, for the first time, `ms` after the email was accepted. */
export function started(ms: number): void {
  if (metricsOn()) waitTime.observe(Math.max(0, ms) / 1000);
}

export function acceptedOne(): void {
  if (metricsOn()) accepted.inc();
}

export function lostSome(n: number): void {
  if (metricsOn() && n > 0) lost.inc(n);
}

/**
 * A mailer whose every send is counted: for strategies 1 and 2, where one
 * send is the email's only attempt (sent, or failed for good).
 */
export function countedMailer(mailer: Mailer): Mailer {
  return {
    async send(email) {
      const t = performance.now();
      try {
        const info = await mailer.send(email);
        attempted('sent', performance.now() - t);
        return info;
      } catch (err) {
        attempted('failed', performance.now() - t);
        throw err;
      }
    },
    close: () => mailer.close(),
  };
}
