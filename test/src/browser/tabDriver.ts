import path from 'node:path';
import { Page } from 'playwright-core';
import { accessibilityViolations } from '../../browser/appDriver';
import { RunningApp } from './startApp';

/** Where screenshots are kept with the test results. */
export const screenshots = path.resolve(__dirname, '../../../.testbed/results');

/** The row of the automation objects table whose name button is `name` (e.g. `ImagePolicy ns/name`). */
export function objectRow(page: Page, name: string) {
  return page
    .getByRole('row')
    .filter({ has: page.getByRole('button', { name, exact: true }) });
}

/**
 * Keeps a screenshot of the whole page with the test results, taken in a window as tall as the
 * page: a stitched full-page capture would show the app's fixed sidebar only one window tall.
 */
export async function screenshot(page: Page, name: string) {
  const viewport = page.viewportSize() ?? { width: 1280, height: 720 };
  const height = await page.evaluate(
    () => document.documentElement.scrollHeight,
  );
  await page.setViewportSize({
    width: viewport.width,
    height: Math.max(viewport.height, height),
  });
  try {
    await page.screenshot({ path: path.join(screenshots, `${name}.png`) });
  } finally {
    await page.setViewportSize(viewport);
  }
}

/** Screenshots the page as it is, then fails on any axe-core (WCAG 2.1 A/AA) violation. */
export async function expectAccessible(page: Page, name: string) {
  // Let transitions (a tooltip fading in) finish: half-transparent text is not what users read.
  // Endless or paused ones (a loading pulse) are left alone, and nothing waits more than 2 s.
  await page.evaluate(() =>
    Promise.race([
      Promise.all(
        document
          .getAnimations()
          .filter(
            a =>
              a.playState === 'running' &&
              a.effect?.getComputedTiming().iterations !== Infinity,
          )
          .map(a => a.finished.catch(() => undefined)),
      ),
      new Promise(resolve => setTimeout(resolve, 2000)),
    ]),
  );
  await screenshot(page, name);
  expect(await accessibilityViolations(page)).toEqual([]);
}

/** GET an image-automation route as the guest user; throws on any non-2xx answer. */
export async function apiGet(app: RunningApp, route: string) {
  const res = await fetch(`${app.baseUrl}/api/image-automation${route}`, {
    headers: { Authorization: `Bearer ${await app.guestToken()}` },
  });
  if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Polls `check` every 500 ms until it returns a value, or fails naming `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(resolve => setTimeout(resolve, 500));
  }
}
