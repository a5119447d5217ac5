// The dashboard page in headless Chromium for the browser tests: a system
// Chromium (Debian's, driven by playwright-core), never a downloaded one, with
// a throwaway profile; every dialog the page opens and every error it throws
// is recorded, so a test can say that no script ran and nothing broke.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';

// CHROMIUM_PATH, else the usual places.
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'].find(
  (p): p is string => p !== undefined && p !== '' && existsSync(p),
);

/** The page polls every 1.5 s; a slow CI machine gets ten rounds. */
export const UI_TIMEOUT = 15_000;
export const poll = { timeout: UI_TIMEOUT, interval: 100 };

export interface DashboardPage {
  page: Page;
  /** Dialogs the page opened (dismissed at once): an alert here is script that ran. */
  dialogs: string[];
  pageErrors: string[];
  /** Polls the text of the first element matching `selector`; null while there is none. */
  textOf(selector: string): () => Promise<string | null>;
  close(): Promise<void>;
}

/** Opens `pageUrl` and waits until the page says it is live. */
export async function openDashboard(pageUrl: string): Promise<DashboardPage> {
  if (!CHROMIUM) throw new Error('the dashboard test drives a real browser: install Chromium (Debian/Ubuntu: sudo apt-get install chromium) or set CHROMIUM_PATH');
  const profileDir = await mkdtemp(path.join(tmpdir(), 'bgjobs-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(pageUrl);
  await page.locator('#live[data-state="live"]').waitFor({ timeout: UI_TIMEOUT });
  return {
    page,
    dialogs,
    pageErrors,
    textOf: (selector) => () => page.locator(selector).first().textContent({ timeout: 1_000 }).catch(() => null),
    async close() {
      await context.close();
      await rm(profileDir, { recursive: true, force: true });
    },
  };
}
