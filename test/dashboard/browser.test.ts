// The queue dashboard end to end, in headless Chromium (chromium.ts): the
// real `npm run dashboard` process over a private Redis, jobs produced and
// consumed by the queue library, emails sent to the real sink. What a person
// sees on the page is what is in Redis, the page's buttons change Redis, and
// nothing a job carries can run as script.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Email } from '../../shared/email.ts';
import { createMailer, isPermanentFailure, type Mailer } from '../../shared/mailer.ts';
import { MultiWorker, Queue, Worker } from '../../shared/queue/index.ts';
import { startSink, type Sink } from '../../shared/smtp-sink.ts';
import { ROOT } from '../helpers/spawn.ts';
import { openDashboard, poll, UI_TIMEOUT, type DashboardPage } from './chromium.ts';
import { dashboardTestbed } from './testbed.ts';

const SCREENSHOT = path.join(ROOT, 'docs', 'dashboard.png');

/** The private Redis and the dashboard; Redis's clients (the test's, a worker's, the multiWorker's) log nothing while the banner test stops it. */
const d = dashboardTestbed();
let redis: Redis;
let queue: Queue;
let sink: Sink;
let mailer: Mailer;
let worker: Worker;
let multi: MultiWorker;
let browser: DashboardPage;
let page: Page;
let dialogs: string[];
let pageErrors: string[];
let textOf: DashboardPage['textOf'];
/** Ids the sink refuses with 550 (permanent: straight to the failed list) until a test lets them through. */
const refused = new Set<string>();

const email = (id: string, subject = `hello ${id}`): Email => ({ id, to: `${id}@example.com`, subject, text: `message ${id}` });
const enqueueEmail = (e: Email, queueName = 'emailQueue') => queue.enqueue(queueName, 'sendEmail', [e], { id: e.id });

beforeAll(async () => {
  redis = d.redis;
  queue = new Queue({ redis });
  sink = await startSink({ decide: ({ id }) => (id !== undefined && refused.has(id) ? 'perm' : undefined) });
  mailer = createMailer({ smtpUrl: sink.url, from: 'jobs@background-jobs.test', timeoutMs: 10_000 });
  browser = await openDashboard(`${d.url}/dashboard`);
  ({ page, dialogs, pageErrors, textOf } = browser);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await worker?.stop(2_000);
  await multi?.stop(2_000);
  mailer?.close();
  await sink?.close();
  // Then the testbed checks that the dashboard stops on SIGTERM with exit code 0, even after Redis went away and came back.
});

describe('what the page shows', () => {
  it('shows the real length and latency of each queue after enqueueing, before any worker runs', async () => {
    for (let i = 0; i < 7; i++) await queue.enqueue('newsletter', 'sendNewsletter', [{ issue: i }]);
    for (let i = 0; i < 3; i++) await enqueueEmail(email(`early-${i}`));

    await expect.poll(textOf('[data-queue="newsletter"] .length'), poll).toBe('7');
    await expect.poll(textOf('[data-queue="emailQueue"] .length'), poll).toBe('3');
    await expect.poll(textOf('#total-queued'), poll).toBe('10');
    // Latency is the age of the oldest job: a duration, not a dash, while jobs wait.
    expect(await textOf('[data-queue="newsletter"] .latency')()).toMatch(/\d+(\.\d)? (ms|s)$/);
  });

  it('lists a running worker with what it is working on and since when, and a dead one awaiting recovery', async () => {
    sink.configure({ latencyMs: 2_500 }); // a slow provider keeps the worker busy long enough to look at
    worker = new Worker({
      redis: d.t.client(),
      queues: ['emailQueue'],
      jobs: { sendEmail: (e: Email) => mailer.send(e) },
      isPermanent: isPermanentFailure,
      maxAttempts: 1,
    });
    worker.on('error', () => {}); // the banner test cuts Redis off; the worker reconnects by itself
    await worker.start();
    const row = `[data-worker="${worker.name}"]`;
    await expect.poll(textOf(`${row} .badge`), poll).toBe('working');
    expect(await textOf(row)()).toMatch(/sendEmail\s*early-\d/);
    expect(await textOf(row)()).toMatch(/ago/);

    // What a SIGKILLed worker leaves behind: registration, an expired heartbeat, a job in its processing list.
    const k = queue.keys;
    const ghost = 'ghost-host:4242-dead';
    await redis.multi()
      .sadd(k.workers, `${ghost}:emailQueue`)
      .zadd(k.heartbeats, Date.now() - 30_000, ghost)
      .rpush(k.processing(ghost), JSON.stringify({ class: 'sendEmail', queue: 'emailQueue', args: [email('stranded')], id: 'stranded', enqueued_at: Date.now() }))
      .exec();
    await expect.poll(textOf(`[data-worker="${ghost}"] .badge`), poll).toBe('dead: awaiting recovery');
    expect(await textOf(`[data-worker="${ghost}"]`)()).toMatch(/sendEmail\s*stranded[\s\S]*held, not recorded as started[\s\S]*missed for/);

    await sink.waitFor((s) => s.unique >= 3, 30_000, 'the three early emails');
    sink.configure({ latencyMs: 0 });
    await expect.poll(textOf('[data-queue="emailQueue"] .length'), poll).toBe('0');
  });

  it("shows a multiWorker's task processors and event-loop delay", async () => {
    multi = new MultiWorker({
      redis: d.t.client(),
      queues: ['slowQueue'],
      jobs: { slowSleepJob: () => new Promise((resolve) => setTimeout(resolve, 400)) },
      minTaskProcessors: 1,
      maxTaskProcessors: 20,
    });
    multi.on('error', () => {});
    await multi.start();
    for (let i = 0; i < 60; i++) await queue.enqueue('slowQueue', 'slowSleepJob', [i]);
    const row = `[data-worker="${multi.name}"]`;
    // It grows while most processors are busy: more than one shows that the page follows it.
    await expect.poll(async () => Number(/of (\d+) processors/.exec((await textOf(row)()) ?? '')?.[1] ?? 0), poll).toBeGreaterThan(1);
    expect(await textOf(row)()).toMatch(/multiWorker.*busy \(1-20\).*event-loop delay \d+\.\d ms/s);
  });
});

describe('acting from the page', () => {
  it('retries a failed job from the page, and the email then reaches the sink', async () => {
    refused.add('retry-me');
    await enqueueEmail(email('retry-me'));
    const entry = page.locator('article.entry[data-job-id="retry-me"]');
    await entry.waitFor({ timeout: UI_TIMEOUT });
    await expect.poll(() => entry.locator('.error').textContent(), poll).toMatch(/550/);
    expect(sink.deliveries().has('retry-me')).toBe(false);

    refused.delete('retry-me'); // the provider accepts it now
    await entry.locator('button[data-action="retry"]').click();
    await sink.waitFor((_, s) => s.deliveries().get('retry-me') === 1, UI_TIMEOUT, 'the retried email');
    await entry.waitFor({ state: 'detached', timeout: UI_TIMEOUT });
    expect(await queue.failedCount()).toBe(0);

    // Its story, by tracking id.
    await page.fill('#lookup-id', 'retry-me');
    await page.click('#lookup-form button[type="submit"]');
    await expect.poll(textOf('#lookup-result .badge'), poll).toBe('succeeded');
  });

  it('removes one failed job, and retries all the others with two clicks', async () => {
    for (const id of ['remove-me', 'all-1', 'all-2']) {
      refused.add(id);
      await enqueueEmail(email(id));
    }
    await expect.poll(textOf('#failed-count'), poll).toBe('3');
    await page.locator('article.entry[data-job-id="remove-me"] button[data-action="remove"]').click();
    await page.locator('article.entry[data-job-id="remove-me"]').waitFor({ state: 'detached', timeout: UI_TIMEOUT });
    expect((await queue.failed()).map((r) => (r.payload as { id: string }).id).sort()).toEqual(['all-1', 'all-2']);

    refused.delete('all-1');
    refused.delete('all-2');
    await page.click('#retry-all'); // arms it
    expect(await page.textContent('#retry-all')).toMatch(/again/);
    await page.click('#retry-all');
    await sink.waitFor((_, s) => s.deliveries().has('all-1') && s.deliveries().has('all-2'), UI_TIMEOUT, 'both retried emails');
    expect(sink.deliveries().has('remove-me')).toBe(false);
    await expect.poll(textOf('#failed-list'), poll).toMatch(/No failed jobs/);
  });

  it('enqueues a delayed job now, or removes it', async () => {
    await queue.enqueueIn(10 * 60_000, 'emailQueue', 'sendEmail', [email('later-now')], { id: 'later-now' });
    await queue.enqueueIn(20 * 60_000, 'emailQueue', 'sendEmail', [email('later-never')], { id: 'later-never' });
    const now = page.locator('#delayed-rows tr[data-job-id="later-now"]');
    const never = page.locator('#delayed-rows tr[data-job-id="later-never"]');
    await now.waitFor({ timeout: UI_TIMEOUT });
    expect(await now.textContent()).toMatch(/in 9 min|in 10 min/);

    await now.locator('button[data-action="enqueue-now"]').click();
    await sink.waitFor((_, s) => s.deliveries().has('later-now'), UI_TIMEOUT, 'the delayed email enqueued now');
    await never.locator('button[data-action="remove"]').click();
    await never.waitFor({ state: 'detached', timeout: UI_TIMEOUT });
    expect(await redis.zcard(queue.keys.schedule)).toBe(0);
    expect(await queue.status('later-never')).toBeNull();
  });
});

describe('safety', () => {
  it('renders a job whose subject is HTML as inert text, wherever it appears', async () => {
    const hostile = '<img src=x onerror=alert(1)>';
    refused.add('xss-failed');
    await enqueueEmail(email('xss-failed', hostile));
    await queue.enqueueIn(30 * 60_000, 'emailQueue', 'sendEmail', [email('xss-delayed', hostile)], { id: 'xss-delayed' });
    const failedArgs = page.locator('article.entry[data-job-id="xss-failed"] .args');
    const delayedArgs = page.locator('#delayed-rows tr[data-job-id="xss-delayed"] .args');
    await expect.poll(() => failedArgs.textContent().catch(() => null), poll).toContain(hostile);
    await expect.poll(() => delayedArgs.textContent().catch(() => null), poll).toContain(hostile);
    // Shown as characters, parsed as nothing: no element was made from it and no script ran.
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('[onerror]').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it('keeps a screenshot of a busy dashboard for docs/dashboard.md', async () => {
    // Some throughput for the chart, a queue that waits, a failure with its backtrace open.
    await Promise.all(Array.from({ length: 40 }, (_, i) => enqueueEmail(email(`burst-${i}`))));
    await sink.waitFor((_, s) => [...Array(40).keys()].every((i) => s.deliveries().has(`burst-${i}`)), 30_000, 'the burst');
    await expect.poll(() => page.locator('#chart polyline.processed').count(), poll).toBeGreaterThan(0);
    // ...and the multiWorker at work in the picture.
    await Promise.all(Array.from({ length: 300 }, (_, i) => queue.enqueue('slowQueue', 'slowSleepJob', [i])));
    await expect.poll(textOf(`[data-worker="${multi.name}"] .multi`), poll).toMatch(/^multiWorker [1-9]\d* of \d+ processors busy/);
    await page.locator('article.entry[data-job-id="xss-failed"] .backtrace summary').click();
    await page.fill('#lookup-id', 'retry-me');
    await page.click('#lookup-form button[type="submit"]');
    await page.locator('#lookup-result .lookup-card').waitFor({ timeout: UI_TIMEOUT });
    await page.evaluate('window.scrollTo(0, 0)'); // the sticky header belongs at the top of the picture
    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('shows a clear banner while Redis is down, keeps the page, and clears it when Redis is back', async () => {
    await d.t.server.kill(); // a crash: no goodbye to the clients
    const banner = page.locator('#banner');
    await banner.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    expect(await banner.textContent()).toMatch(/Redis is unreachable/);
    expect(await page.textContent('#live')).toBe('Redis unreachable');
    // The last data stays on screen (dimmed): not a blank page.
    expect(await textOf('[data-queue="newsletter"] .length')()).toBe('7');

    await d.t.server.start();
    await banner.waitFor({ state: 'hidden', timeout: UI_TIMEOUT });
    await page.locator('#notice').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    expect(await page.textContent('#notice')).toMatch(/Redis restarted/);
    expect(await textOf('[data-queue="newsletter"] .length')()).toBe('7'); // append-only file: nothing lost
    expect(pageErrors).toEqual([]);
  });
});
