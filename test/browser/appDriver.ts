import { Browser, chromium, Page } from 'playwright-core';

/** The Chromium switches that keep a headless run quiet and self-contained on a build machine. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

/**
 * Starts the system's headless Chromium through playwright-core. Playwright's own browser
 * downloads are not reachable from the build machines, hence the system binary
 * (`CHROMIUM_PATH` overrides it). Each launch gets a fresh temporary profile, which Playwright
 * creates and deletes itself: it refuses a `--user-data-dir` switch with `launch()`, so no
 * earlier run's sign-in or storage can leak in.
 */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
}

/**
 * Opens the app and clicks through the guest sign-in page. The app remembers the provider, so
 * later navigations in the same browser context sign in silently.
 */
export async function signInAsGuest(
  page: Page,
  baseUrl: string,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  const timeout = options.timeoutMs ?? 60_000;
  await page.goto(baseUrl);
  const enter = page.getByRole('button', { name: 'Enter' });
  await enter.waitFor({ timeout });
  await enter.click();
  await enter.waitFor({ state: 'detached', timeout });
}
