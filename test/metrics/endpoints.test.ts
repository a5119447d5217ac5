// Every strategy's metrics, as a scrape sees them: the web process's GET
// /metrics and each worker's, consumer's or primary's METRICS_PORT pass
// `promtool check metrics` (format and Prometheus naming), count what was
// sent where the sending happens, and never carry an email address.
import { describe, expect, it } from 'vitest';
import { email, postEmail } from '../helpers/http.ts';
import { startServices } from '../helpers/services.ts';
import { startEntry, type LogLine } from '../helpers/spawn.ts';
import { strategies } from '../helpers/strategies.ts';
import { eventually } from '../helpers/wait.ts';
import { scrape, total } from './exposition.ts';
import { promtoolCheck } from './prometheus.ts';

const { sink, env } = await startServices({ redis: true });

// Where each strategy's emails are sent, and so counted: the web process, or the role that serves METRICS_PORT.
const sender: Record<string, string> = { '1-foreground': 'web', '2-fire-and-forget': 'web', '3-cluster-ipc': 'primary', '4-redis-queue': 'worker', '5-multi-worker': 'worker', '6-event-bus': 'consumer' };
const metricsLine = (l: LogLine) => typeof l.metrics === 'string' && /^metrics at/.test(l.msg ?? '');

describe.each(strategies)('strategy $name', ({ name, entry }) => {
  it('serves metrics that promtool accepts from every process, counts each sent email once where it is sent, and names no address', async () => {
    const { child, url } = await startEntry(entry, env({ METRICS_PORT: '0', QUEUE_NAMESPACE: `metrics-${name}` }));
    const sent = 6;
    for (let i = 0; i < sent - 1; i++) expect((await postEmail(url, email(i), { 'x-request-id': `${name}-m${i}` })).status).toBeLessThan(300);
    expect((await fetch(`${url}/${encodeURIComponent('talk@example.com')}/hello/there`)).status).toBeLessThan(300);
    expect((await postEmail(url, { to: 'bad', subject: 's', text: 't' })).status).toBe(400);
    await sink.waitFor((s) => s.unique === sent, 30_000, `${sent} emails`);

    const endpoints = [{ role: 'web', url: `${url}/metrics` }, ...child.lines.filter(metricsLine).map((l) => ({ role: String(l.role), url: String(l.metrics) }))];
    expect(endpoints.map((e) => e.role)).toEqual(
      { '3-cluster-ipc': ['web', 'primary'], '4-redis-queue': ['web', 'worker'], '5-multi-worker': ['web', 'worker'], '6-event-bus': ['web', 'consumer', 'consumer'] }[name] ?? ['web'],
    );
    for (const endpoint of endpoints) {
      const { text, series, contentType } = await scrape(endpoint.url);
      const checked = promtoolCheck(text);
      expect(checked.output, `${endpoint.role} ${endpoint.url}`).toBe('');
      expect(checked.code).toBe(0);
      expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(text).not.toMatch(/example\.com/);
      expect(series.every((s) => s.labels.strategy === name)).toBe(true);
      if (endpoint.role === 'web') {
        expect(total(series, 'emails_accepted_total')).toBe(sent);
        expect(total(series, 'http_server_request_duration_seconds_count', { route: '/emails', method: 'POST', status: String(name === '1-foreground' ? 200 : 202) })).toBe(sent - 1);
        expect(total(series, 'http_server_request_duration_seconds_count', { route: '/emails', status: '400' })).toBe(1);
        expect(total(series, 'http_server_request_duration_seconds_count', { route: '/:to/:subject/:text' })).toBe(1);
      }
    }
    // The worker counts an email once the provider's 250 is in, so its count may trail the sink's by a moment.
    const senders = endpoints.filter((e) => e.role === sender[name]);
    const counted = async () => (await Promise.all(senders.map(async (e) => total((await scrape(e.url)).series, 'emails_sent_total')))).reduce((a, b) => a + b, 0);
    expect(await eventually(counted, (n) => n >= sent, 10_000, 'emails_sent_total')).toBe(sent);
    expect(await child.stop('SIGTERM')).toBe(0);
  });
});

describe('METRICS=off', () => {
  it('serves no /metrics and counts nothing: the benchmark\'s baseline for the cost of metrics', async () => {
    const { child, url } = await startEntry('strategies/1-foreground/server.ts', env({ METRICS: 'off' }));
    expect((await postEmail(url, email(1))).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
    expect(await child.stop('SIGTERM')).toBe(0);
  });
});
