// The dashboard's stream panel in headless Chromium (chromium.ts): the real
// `npm run dashboard` process over a private Redis, a stream appended to and
// read by consumer groups as strategy 6 does. The panel stays hidden until
// Redis holds a stream; then a person sees each group's lag and pending
// entries, its consumers, and the dead letters with their error - inert text
// whatever the entry carried - and can append a dead letter's event again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStream } from '../../shared/streams/stream.ts';
import { openDashboard, poll, UI_TIMEOUT, type DashboardPage } from './chromium.ts';
import { dashboardTestbed } from './testbed.ts';

const STREAM = 'browser:events';
const HOSTILE = '<img src=x onerror=alert(1)>';
const d = dashboardTestbed({ EVENT_STREAM: STREAM, STREAM_MAXLEN: '500' });
let stream: EventStream;
let browser: DashboardPage;

beforeAll(async () => {
  stream = new EventStream(d.redis, STREAM, 500);
  browser = await openDashboard(`${d.url}/dashboard`);
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

const event = (n: number, subject = `hello ${n}`) => ({ type: 'email.requested', id: `ev-${n}`, to: `user${n}@example.com`, subject, text: `message ${n}` });

describe('the stream panel', () => {
  it('stays hidden while Redis holds no stream (strategies 4 and 5)', async () => {
    expect(await browser.page.locator('#streams').isHidden()).toBe(true);
    expect(await browser.page.locator('#nav-streams').isHidden()).toBe(true);
  });

  it("shows the stream's length, a group's lag and pending entries, and its consumer's idle time", async () => {
    for (let n = 1; n <= 6; n++) await stream.append(event(n));
    await stream.ensureGroup('mailer', '0');
    await d.redis.xreadgroup('GROUP', 'mailer', 'mailer-1', 'COUNT', 2, 'STREAMS', STREAM, '>');
    const { textOf, page } = browser;
    await page.locator('#streams').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await expect.poll(textOf('#stream-length'), poll).toBe('6');
    expect(await textOf('#stream-name')()).toBe(STREAM);
    expect(await textOf('#stream-maxlen')()).toBe('keeps about 500');
    const row = 'tr[data-group="mailer"]';
    await expect.poll(textOf(`${row} .lag`), poll).toBe('4');
    expect(await textOf(`${row} .pending`)()).toBe('2');
    expect(await textOf(`${row} [data-consumer="mailer-1"]`)()).toMatch(/^mailer-1 · 2 pending · idle \d+(\.\d)? (ms|s)$/);
  });

  it('shows a dead letter with its error, and renders what a hostile entry carried as inert text', async () => {
    // A group and a consumer named like markup, an entry whose fields and error are markup: all of it reaches the page.
    await stream.ensureGroup(HOSTILE, '0');
    const id = await stream.append({ ...event(7, HOSTILE), [HOSTILE]: HOSTILE });
    // Delivered to a consumer first: only an entry still pending in its group becomes a dead letter, once.
    await d.redis.xreadgroup('GROUP', HOSTILE, HOSTILE, 'COUNT', 100, 'STREAMS', STREAM, '>');
    await stream.deadLetter(HOSTILE, { id, fields: { ...event(7, HOSTILE), [HOSTILE]: HOSTILE } }, HOSTILE, 3, `gave up after 3 deliveries: ${HOSTILE}`);
    const { textOf, page, dialogs } = browser;
    const letter = `article.dead-letter[data-entry="${id}"]`;
    await expect.poll(textOf(`${letter} .error`), poll).toBe(`Error: gave up after 3 deliveries: ${HOSTILE}`);
    expect(await textOf(`${letter} .meta`)()).toContain(`group ${HOSTILE} · consumer ${HOSTILE} · 3 deliveries`);
    expect(await textOf(`${letter} .args`)()).toContain(`"subject":"${HOSTILE}"`);
    expect(await textOf('#stream-dead')()).toBe('1');
    await expect.poll(async () => page.locator('tr[data-group] code').allTextContents(), poll).toContain(HOSTILE);
    // Shown as characters, parsed as nothing: no element was made from it and no script ran.
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('[onerror]').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it("appends a dead letter's event to the stream again from the page, and the dead letter goes", async () => {
    const { page, textOf, pageErrors } = browser;
    const before = await d.redis.xlen(STREAM);
    const letter = page.locator('article.dead-letter').first();
    await letter.locator('button[data-action="retry-dead"]').click();
    await letter.waitFor({ state: 'detached', timeout: UI_TIMEOUT });
    expect(await d.redis.xlen(STREAM)).toBe(before + 1);
    const [latest] = await d.redis.xrevrange(STREAM, '+', '-', 'COUNT', 1);
    const fields = latest![1];
    expect(fields).toContain(HOSTILE);
    expect(fields.slice(0, 2)).toEqual(['type', 'email.requested']);
    await expect.poll(textOf('#stream-length'), poll).toBe(String(before + 1));
    await expect.poll(textOf('#dead-list'), poll).toBe('No dead letters.');
    expect(pageErrors).toEqual([]);
  });
});
