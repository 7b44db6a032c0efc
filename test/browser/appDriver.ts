import fs from 'node:fs/promises';
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

/** One axe-core rule violation, as much as a failure message needs. */
export interface AccessibilityViolation {
  id: string;
  impact?: string | null;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core (WCAG 2.x A and AA rules) on the page as it is now, optionally only inside the
 * element matching `include`, and returns the violations. axe's own source is injected from the
 * `axe-core` package, so nothing is fetched from the network.
 */
export async function accessibilityViolations(
  page: Page,
  options: { include?: string } = {},
): Promise<AccessibilityViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) {
    // Evaluated rather than added as a <script>: the app's Content-Security-Policy forbids inline scripts.
    await page.evaluate(
      await fs.readFile(require.resolve('axe-core/axe.min.js'), 'utf8'),
    );
  }
  return page.evaluate(async include => {
    const axe = (window as any).axe;
    // react-aria's live announcer is a visually hidden region that speaks a pending button's
    // label by reference; once the button is done the reference dangles for a few seconds, which
    // axe reports as an unnamed image although nothing is shown or focusable.
    const context = {
      include: include ? [include] : [['html']],
      exclude: [['[data-live-announcer]']],
    };
    const result = await axe.run(context, {
      runOnly: {
        type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'],
      },
    });
    return result.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n: any) => String(n.target)),
    }));
  }, options.include);
}
