/**
 * The "Image updates" tab of an entity with 50 automation objects (20 ImageRepositories, 20
 * ImagePolicies, a GitRepository, 9 ImageUpdateAutomations with approval gates: 180 version rows,
 * 18 pending promotions), whose first repository holds 10,000 tags and 1,000 scan-history rows,
 * loaded in headless Chromium from the real backend serving the built app (`packages/app/dist`;
 * build it first). Requirement (issue #12): interactive in under 1 s.
 *
 * "Interactive" is measured from navigation start (a full page load in a new tab of a signed-in
 * browser, static assets cached) to the answer to a click: every h2 heading the settled page shows
 * is present, nothing shows "Loading…", a skeleton or a progress bar, a data row of the versions
 * table and an object of the objects section are rendered, then a real mouse click on a control
 * (an object's drawer if there is one, else a Pin dialog) is answered by its dialog. Headings and
 * control are discovered on the settled page before the timed runs, so the criterion follows the
 * UI as its sections change. The same is measured in-app: from the click on the entity's "Image
 * updates" tab on its Overview page.
 *
 * References measured in the same run, interleaved, same backend and browser: the catalog's own
 * "Overview" page of the same entity (headings, no progress bar, then its "More actions" menu
 * opened by a click), which pays the same app shell, sign-in and machine; and the same tab on an
 * entity without automation objects, which isolates the cost of the data. Diagnostics follow: the
 * requests and long tasks of the median run, the tab with one API answer emptied at a time (which
 * section costs what, also for the clicks), and a V8 CPU profile mapped through the source maps.
 *
 *   node --require @backstage/cli-node/config/nodeTransform.cjs bench/entity-tab.ts
 *
 * `ENTITY_TAB_ROUNDS` (default 8) timed rounds follow 2 warm-up rounds. Exit status 1 when the
 * in-app p50 misses 1 s: the tab's own cost, as users reach it from the entity's page (a full load
 * also pays the app shell and sign-in, which the Overview reference shows any page pays here).
 * `ENTITY_TAB_FOCUS=in-app` measures only the in-app runs and their profile.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { SourceMapConsumer } from 'source-map-js';
import { launchBrowser, signInAsGuest } from '../test/browser/appDriver';
import {
  AUTOMATIONS,
  BIG_TAGS,
  EMPTY_ENTITY,
  ENTITY,
  EntityTabWorld,
  HISTORY,
  IMAGES,
  OBJECTS,
  PENDING,
  startEntityTabWorld,
} from './entity-tab-fixture';

const WARMUP = 2;
const ROUNDS = Number(process.env.ENTITY_TAB_ROUNDS ?? 8);
/** `ENTITY_TAB_FOCUS=in-app`: only the in-app runs and their profile (for iterating on the tab's own cost). */
const IN_APP_ONLY = process.env.ENTITY_TAB_FOCUS === 'in-app';
const TARGET_MS = 1000;

/** What makes a page "ready", checked in the page on every animation frame. */
interface ReadySpec {
  /** Text of every h2 that must be present. */
  headings: string[];
  /** h2 text whose section (up to the next h2) must hold a table body row with cells. */
  rowAfter?: string;
  /** h2 text whose section must hold text matching `objectPattern`. */
  objectAfter?: string;
  objectPattern?: string;
  /** Words the matching text contains, for a fast XPath pre-selection. */
  objectWords?: string[];
}

/** A control to click once ready, and what answers it. */
interface ClickSpec {
  /** What it opens, for the report. */
  label: string;
  role: 'button';
  name: string;
  /** CSS selector of the answer. */
  answer: string;
}

interface PageKind {
  label: string;
  path: string;
  ready: ReadySpec;
  click?: ClickSpec;
  /** Further controls that were answered too (timed by the diagnostics only). */
  otherClicks?: ClickSpec[];
}

interface RunResult {
  /** ms from navigation start. */
  ready: number;
  pointerDown?: number;
  answered?: number;
  /** What counts: answered, or ready without a click. */
  interactive: number;
  domContentLoaded: number;
  requests: Array<{ name: string; start: number; end: number; bytes: number }>;
  longTasks: Array<[number, number]>;
  /** ms the readiness check itself spent in the page, and how often it ran. */
  checkMs: number;
  checks: number;
  /** Diagnostics: ms from each control's pointerdown to its answer. */
  clickLatencies: Record<string, number>;
}

/** Runs in the page at document start: long tasks and the first pointerdown, for the breakdown. */
const INIT_SCRIPT = `
window.__bench = { longTasks: [], checkMs: 0 };
try {
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) window.__bench.longTasks.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask', buffered: true });
} catch (e) {}
window.addEventListener('pointerdown', e => { window.__bench.pointerDown ??= e.timeStamp; }, true);
`;

/**
 * The readiness check, in the page; returns performance.now() when ready, else false. Runs every
 * animation frame, so the cheap checks come first and the whole-document ones last.
 */
function readyInPage(spec: ReadySpec): number | false {
  const bench = (window as any).__bench;
  const started = performance.now();
  bench.checks = (bench.checks ?? 0) + 1;
  try {
    const h2s = Array.from(document.querySelectorAll('h2'));
    const texts = h2s.map(h => (h.textContent ?? '').trim());
    if (!spec.headings.every(h => texts.includes(h))) return false;
    const inSection = (heading: string, el: Node) => {
      const index = texts.indexOf(heading);
      const next = h2s[index + 1];
      return (
        (h2s[index].compareDocumentPosition(el) &
          Node.DOCUMENT_POSITION_FOLLOWING) !==
          0 &&
        (!next ||
          (next.compareDocumentPosition(el) &
            Node.DOCUMENT_POSITION_PRECEDING) !==
            0)
      );
    };
    if (spec.rowAfter) {
      const row = Array.from(
        document.querySelectorAll('tbody tr, [role="row"]'),
      ).find(
        r =>
          r.querySelector('td, [role="gridcell"]') &&
          inSection(spec.rowAfter!, r),
      );
      if (!row) return false;
    }
    if (spec.objectAfter && spec.objectPattern) {
      const pattern = new RegExp(spec.objectPattern);
      const candidates = document.evaluate(
        `//text()[${spec
          .objectWords!.map(w => `contains(., '${w}')`)
          .join(' or ')}]`,
        document,
        null,
        XPathResult.ORDERED_NODE_SNAPSHOT_TYPE,
        null,
      );
      let found = false;
      for (let n = 0; n < candidates.snapshotLength && !found; n++) {
        const node = candidates.snapshotItem(n)!;
        found =
          pattern.test(node.nodeValue ?? '') &&
          inSection(spec.objectAfter, node);
      }
      if (!found) return false;
    }
    if (document.querySelector('.bui-Skeleton, [role="progressbar"]'))
      return false;
    const loading = document.evaluate(
      "//text()[starts-with(normalize-space(.), 'Loading')]",
      document,
      null,
      XPathResult.FIRST_ORDERED_NODE_TYPE,
      null,
    ).singleNodeValue;
    if (loading) return false;
    return performance.now();
  } finally {
    bench.checkMs += performance.now() - started;
  }
}

function answeredInPage(selector: string): number | false {
  return document.querySelector(selector) ? performance.now() : false;
}

/** How a page is reached: a full load, or a click on the entity's "Image updates" tab from its Overview. */
interface Visit {
  /** Load this path first, then click the tab; times count from that click reaching the page. */
  viaTabFrom?: string;
  /** Rewrites the image-automation API's answers (diagnostics only). */
  rewrite?: (route: string, body: any) => any;
  /** Skip the click even if the kind has one. */
  noClick?: boolean;
  /** Instead of the click, time each control that answered (closing each answer before the next). */
  diagnosticClicks?: boolean;
}

async function measure(
  context: BrowserContext,
  baseUrl: string,
  kind: PageKind,
  visit: Visit = {},
): Promise<RunResult> {
  const page = await context.newPage();
  try {
    if (visit.rewrite) {
      const rewrite = visit.rewrite;
      await page.route('**/api/image-automation/**', async r => {
        const response = await r.fetch();
        const body = await response.json();
        await r.fulfill({
          response,
          json: rewrite(route(r.request().url()), body),
        });
      });
    }
    let start = 0;
    if (visit.viaTabFrom) {
      await page.goto(`${baseUrl}${visit.viaTabFrom}`, { waitUntil: 'commit' });
      const tabLink = page
        .getByRole('tab', { name: 'Image updates' })
        .or(page.getByRole('link', { name: 'Image updates' }));
      await tabLink.first().waitFor({ timeout: 60_000 });
      await page.waitForFunction(
        readyInPage,
        { headings: [] },
        { polling: 'raf', timeout: 60_000 },
      );
      await page.waitForTimeout(500);
      await page.evaluate(() => {
        const bench = (window as any).__bench;
        bench.pointerDown = undefined;
        bench.checkMs = 0;
        bench.checks = 0;
      });
      await tabLink.first().click();
      start = (await page.evaluate(
        () => (window as any).__bench.pointerDown,
      )) as number;
      await page.evaluate(() => {
        (window as any).__bench.pointerDown = undefined;
      });
    } else {
      await page.goto(`${baseUrl}${kind.path}`, { waitUntil: 'commit' });
    }
    const ready = (await (
      await page.waitForFunction(readyInPage, kind.ready, {
        polling: 'raf',
        timeout: 60_000,
      })
    ).jsonValue()) as number;
    let answered: number | undefined;
    const clickLatencies: Record<string, number> = {};
    if (visit.diagnosticClicks) {
      for (const click of [kind.click, ...(kind.otherClicks ?? [])]) {
        const control =
          click &&
          page.getByRole(click.role, { name: new RegExp(click.name) }).first();
        if (!click || !control || (await control.count()) === 0) continue;
        await page.evaluate(() => {
          (window as any).__bench.pointerDown = undefined;
        });
        await control.click();
        const at = (await (
          await page.waitForFunction(answeredInPage, click.answer, {
            polling: 'raf',
            timeout: 30_000,
          })
        ).jsonValue()) as number;
        clickLatencies[click.label] =
          at -
          (await page.evaluate(
            () => (window as any).__bench.pointerDown as number,
          ));
        await page.keyboard.press('Escape');
        await page.waitForSelector(click.answer, {
          state: 'detached',
          timeout: 10_000,
        });
      }
    } else if (kind.click && !visit.noClick) {
      await page
        .getByRole(kind.click.role, { name: new RegExp(kind.click.name) })
        .first()
        .click();
      answered = (await (
        await page.waitForFunction(answeredInPage, kind.click.answer, {
          polling: 'raf',
          timeout: 30_000,
        })
      ).jsonValue()) as number;
    }
    const perf = await page.evaluate(() => {
      const bench = (window as any).__bench;
      const nav = performance.getEntriesByType(
        'navigation',
      )[0] as PerformanceNavigationTiming;
      return {
        domContentLoaded: nav.domContentLoadedEventEnd,
        requests: (
          performance.getEntriesByType(
            'resource',
          ) as PerformanceResourceTiming[]
        )
          .filter(r => r.name.includes('/api/'))
          .map(r => ({
            name: r.name,
            start: r.startTime,
            end: r.responseEnd,
            bytes: r.decodedBodySize,
          })),
        longTasks: bench.longTasks as Array<[number, number]>,
        checkMs: bench.checkMs as number,
        checks: (bench.checks ?? 0) as number,
        pointerDown: bench.pointerDown as number | undefined,
      };
    });
    const shift = (t: number | undefined) =>
      t === undefined ? undefined : t - start;
    return {
      ready: ready - start,
      answered: shift(answered),
      interactive: (answered ?? ready) - start,
      domContentLoaded: visit.viaTabFrom ? NaN : perf.domContentLoaded,
      requests: perf.requests
        .filter(r => r.start >= start)
        .map(r => ({ ...r, start: r.start - start, end: r.end - start })),
      longTasks: perf.longTasks
        .filter(([t]) => t >= start)
        .map(([t, d]) => [t - start, d] as [number, number]),
      checkMs: perf.checkMs,
      checks: perf.checks,
      pointerDown: shift(perf.pointerDown),
      clickLatencies,
    };
  } finally {
    await page.close();
  }
}

/** Accessible names of the page's buttons (for the discovery report). */
async function buttonNames(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('button, [role="button"]')).map(
      b => b.getAttribute('aria-label') ?? (b.textContent ?? '').trim(),
    ),
  );
}

/**
 * Opens a page, waits until it settles (network idle, then no loading indicator for 2 s), and
 * reads the h2 headings it shows; then tries the click candidates in order and keeps the first
 * answered by its selector within 5 s.
 */
async function discover(
  context: BrowserContext,
  baseUrl: string,
  label: string,
  path: string,
  ready: Omit<ReadySpec, 'headings'>,
  candidates: ClickSpec[],
  log: (line: string) => void,
): Promise<PageKind> {
  const page = await context.newPage();
  try {
    await page.goto(`${baseUrl}${path}`, { waitUntil: 'networkidle' });
    let headings: string[] = [];
    const deadline = Date.now() + 60_000;
    for (let stable = 0; stable < 4; ) {
      if (Date.now() > deadline) {
        throw new Error(
          `${label}: the page did not settle within 60 s (headings: ${headings.join(
            ', ',
          )})`,
        );
      }
      await page.waitForTimeout(500);
      const now = await page.evaluate(() =>
        Array.from(document.querySelectorAll('h2')).map(h =>
          (h.textContent ?? '').trim(),
        ),
      );
      const settled =
        now.join('\n') === headings.join('\n') &&
        (await page.evaluate(readyInPage, { headings: now, ...ready })) !==
          false;
      headings = now;
      stable = settled ? stable + 1 : 0;
    }
    log(`  ${label}: h2 headings ${headings.map(h => `"${h}"`).join(', ')}`);
    const sections = await page.evaluate(() => {
      const counts: Array<[string, number]> = [
        ['(page before the first h2)', 0],
      ];
      for (const el of Array.from(document.body.querySelectorAll('*'))) {
        if (el.tagName === 'H2')
          counts.push([(el.textContent ?? '').trim(), 0]);
        counts[counts.length - 1][1]++;
      }
      return counts;
    });
    log(
      `  ${label}: DOM elements ${sections.reduce(
        (sum, [, n]) => sum + n,
        0,
      )}, per h2 section: ${sections.map(([h, n]) => `${h} ${n}`).join(', ')}`,
    );
    const answered: ClickSpec[] = [];
    for (const candidate of candidates) {
      const control = page
        .getByRole(candidate.role, { name: new RegExp(candidate.name) })
        .first();
      if ((await control.count()) === 0 || !(await control.isEnabled()))
        continue;
      const name =
        (await control.getAttribute('aria-label')) ??
        (await control.textContent());
      await control.click();
      const opened = await page
        .waitForSelector(candidate.answer, { timeout: 5_000 })
        .then(() => true)
        .catch(() => false);
      if (opened) {
        log(
          `  ${label}: ${
            answered.length === 0 ? 'the click' : 'a diagnostic click'
          } is on button "${name}" (${candidate.label}), answered by ${
            candidate.answer
          }`,
        );
        answered.push(candidate);
      }
      await page.keyboard.press('Escape');
      await page
        .waitForSelector(candidate.answer, {
          state: 'detached',
          timeout: 10_000,
        })
        .catch(() => {});
    }
    if (answered.length > 0) {
      return {
        label,
        path,
        ready: { headings, ...ready },
        click: answered[0],
        otherClicks: answered.slice(1),
      };
    }
    log(
      `  ${label}: no click candidate answered; ready = content only. Buttons: ${(
        await buttonNames(page)
      )
        .slice(0, 30)
        .map(n => `"${n}"`)
        .join(', ')}`,
    );
    return { label, path, ready: { headings, ...ready } };
  } finally {
    await page.close();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    min: sorted[0],
    max: sorted[sorted.length - 1],
  };
}

const ms = (n: number | undefined) =>
  n === undefined ? '—' : `${Math.round(n)}`;
const median = (values: number[]) => stats(values).p50;

/** A request's route without origin, query and the per-object part, so equal calls group together. */
function route(url: string): string {
  const { pathname } = new URL(url);
  return pathname
    .replace(/^\/api\//, '')
    .replace(/\/objects\/[^/]+\/[^/]+\/[^/]+/, '/objects/:kind/:ns/:name')
    .replace(/\/entities\/[^/]+\/[^/]+\/[^/]+/, '/entities/:entity')
    .replace(
      /\/entities\/by-name\/[^/]+\/[^/]+\/[^/]+/,
      '/entities/by-name/:entity',
    );
}

/** Where the time of the median run of a page goes: requests before it was ready, long tasks. */
function breakdown(
  label: string,
  runs: RunResult[],
  log: (line: string) => void,
) {
  const sorted = [...runs].sort((a, b) => a.interactive - b.interactive);
  const run = sorted[Math.floor(sorted.length / 2)];
  log(`  ${label}, the median run (${ms(run.interactive)} ms):`);
  log(
    (Number.isNaN(run.domContentLoaded)
      ? '    '
      : `    DOMContentLoaded ${ms(run.domContentLoaded)} ms, `) +
      `ready ${ms(run.ready)} ms` +
      (run.pointerDown !== undefined
        ? `, click reached the page ${ms(run.pointerDown)} ms, answered ${ms(
            run.answered,
          )} ms`
        : ''),
  );
  const groups = new Map<
    string,
    Array<{ start: number; end: number; bytes: number }>
  >();
  for (const r of run.requests.filter(q => q.start < run.ready)) {
    groups.set(route(r.name), [...(groups.get(route(r.name)) ?? []), r]);
  }
  for (const [name, rs] of [...groups].sort(
    (a, b) => a[1][0].start - b[1][0].start,
  )) {
    const first = Math.min(...rs.map(r => r.start));
    const last = Math.max(...rs.map(r => r.end));
    const bytes = rs.reduce((sum, r) => sum + r.bytes, 0);
    log(
      `    ${name.padEnd(52)} ×${String(rs.length).padEnd(3)} ${ms(
        first,
      ).padStart(5)} → ${ms(last).padStart(5)} ms  (longest ${ms(
        Math.max(...rs.map(r => r.end - r.start)),
      )} ms, ${(bytes / 1024).toFixed(0)} KiB)`,
    );
  }
  const before = run.longTasks.filter(([start]) => start < run.interactive);
  const total = before.reduce((sum, [, d]) => sum + d, 0);
  const longest = before.reduce((a, b) => (b[1] > a[1] ? b : a), [0, 0] as [
    number,
    number,
  ]);
  log(
    `    long tasks before interactive: ${before.length}, ${ms(
      total,
    )} ms in all, longest ${ms(longest[1])} ms at ${ms(
      longest[0],
    )} ms; readiness check ${run.checkMs.toFixed(1)} ms over ${
      run.checks
    } frames`,
  );
  if (before.length > 0 && before.length <= 12) {
    log(
      `      (start+duration: ${before
        .map(([start, d]) => `${ms(start)}+${ms(d)}`)
        .join(', ')})`,
    );
  }
}

interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: {
      functionName: string;
      url: string;
      lineNumber: number;
      columnNumber: number;
    };
    children?: number[];
  }>;
  samples: number[];
  timeDeltas: number[];
}

const DIST = path.resolve(__dirname, '../packages/app/dist');
/** The source maps of the build being served, copied at the start (the build may be replaced while the bench runs). */
let sourceMaps: string | undefined;
const consumers = new Map<string, SourceMapConsumer | undefined>();

/** The original source, line and name of a profiled function of the built app, via its source map. */
function original(frame: CpuProfile['nodes'][number]['callFrame']): {
  where: string;
  name: string;
} {
  if (!frame.url)
    return {
      where: frame.functionName || '(native)',
      name: frame.functionName || '(native)',
    };
  const file = path.join(
    sourceMaps ?? path.join(DIST, 'static'),
    path.basename(new URL(frame.url).pathname),
  );
  if (!consumers.has(file)) {
    consumers.set(
      file,
      fs.existsSync(`${file}.map`)
        ? new SourceMapConsumer(
            JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')),
          )
        : undefined,
    );
  }
  const position = consumers.get(file)?.originalPositionFor({
    line: frame.lineNumber + 1,
    column: frame.columnNumber,
  });
  if (!position?.source)
    return {
      where: path.basename(file),
      name: frame.functionName || '(anonymous)',
    };
  const source = position.source
    .replace(/^webpack:\/\/[^/]*\//, '')
    .replace(/^(\.\.\/)+/, '');
  return {
    where: `${source}:${position.line}`,
    name: position.name ?? (frame.functionName || '(anonymous)'),
  };
}

/** A source's package (`react-dom`, `@backstage/ui`) or, for the project's own code, its file. */
function owner(where: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where);
  return pkg ? pkg[1] : where.replace(/:\d+$/, '');
}

/** Self time by package (or file of the build) and by function. */
function reportProfile(
  label: string,
  profile: CpuProfile,
  log: (line: string) => void,
) {
  const frames = new Map(profile.nodes.map(n => [n.id, original(n.callFrame)]));
  const self = new Map<string, number>();
  const selfByOwner = new Map<string, number>();
  let all = 0;
  const add = (map: Map<string, number>, key: string, value: number) =>
    map.set(key, (map.get(key) ?? 0) + value);
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const frame = frames.get(id)!;
    if (frame.name === '(idle)') return;
    all += dt;
    add(self, `${frame.name} (${frame.where})`, dt);
    add(selfByOwner, owner(frame.where), dt);
  });
  const top = (map: Map<string, number>, n: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `      ${ms(v).padStart(5)} ms  ${k}`);
  log(
    `    ${label}: ${ms(
      all,
    )} ms of CPU (idle excluded); self time by package or project file:`,
  );
  top(selfByOwner, 8).forEach(l => log(l));
  log(`    ${label}: self time by function:`);
  top(self, 8).forEach(l => log(l));
}

/**
 * One more in-app load of the tab (the click on its tab on the entity's Overview) under the V8
 * sampling profiler (not counted: profiling slows it down), profiled in two parts, the load until
 * ready and the click until answered.
 */
async function profileTab(
  context: BrowserContext,
  baseUrl: string,
  kind: PageKind,
  log: (line: string) => void,
  viaTabFrom: string,
) {
  const page = await context.newPage();
  try {
    await page.goto(`${baseUrl}${viaTabFrom}`, { waitUntil: 'commit' });
    const tabLink = page
      .getByRole('tab', { name: 'Image updates' })
      .or(page.getByRole('link', { name: 'Image updates' }));
    await tabLink.first().waitFor({ timeout: 60_000 });
    await page.waitForFunction(
      readyInPage,
      { headings: [] },
      { polling: 'raf', timeout: 60_000 },
    );
    await page.waitForTimeout(500);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await cdp.send('Profiler.start');
    const clicked = await page.evaluate(() => performance.now());
    await tabLink.first().click();
    const ready = (await (
      await page.waitForFunction(readyInPage, kind.ready, {
        polling: 'raf',
        timeout: 60_000,
      })
    ).jsonValue()) as number;
    const load = (await cdp.send('Profiler.stop')).profile as CpuProfile;
    log(
      `  profiled in-app load of the ${
        kind.label
      } (sampling every 0.2 ms; ready ${ms(
        ready - clicked,
      )} ms after the click, slower than unprofiled):`,
    );
    reportProfile('load', load, log);
    if (kind.click) {
      await cdp.send('Profiler.start');
      await page
        .getByRole(kind.click.role, { name: new RegExp(kind.click.name) })
        .first()
        .click();
      await page.waitForFunction(answeredInPage, kind.click.answer, {
        polling: 'raf',
        timeout: 30_000,
      });
      const click = (await cdp.send('Profiler.stop')).profile as CpuProfile;
      reportProfile('click', click, log);
    }
  } finally {
    await page.close();
  }
}

/**
 * Which section's data costs the most: the tab reached in-app (from the Overview, so the app
 * shell's start-up noise is left out) with one API answer emptied or cut at a time, through the
 * browser's request interception, which every variant pays alike; ready as in the timed runs
 * (without the row check a variant empties); then each control that answered in the discovery
 * (object drawer, Pin dialog), timed from its pointerdown reaching the page to its dialog.
 * Medians of 5 interleaved rounds after a warm-up round.
 */
async function ablation(
  context: BrowserContext,
  baseUrl: string,
  tab: PageKind,
  overviewPath: string,
  log: (line: string) => void,
) {
  const empty = (body: any) => ({ ...body, items: [] });
  const only =
    (suffix: string, rewrite: (body: any) => any) => (r: string, body: any) =>
      r.endsWith(suffix) ? rewrite(body) : body;
  const { rowAfter: _rows, ...withoutRows } = tab.ready;
  const { objectAfter: _objects, ...withoutObjects } = tab.ready;
  const variants: Array<
    [string, (route: string, body: any) => any, ReadySpec]
  > = [
    ['all data', (_, body) => body, tab.ready],
    ['no version rows', only('/versions', empty), withoutRows],
    [
      "one image's 9 version rows",
      only('/versions', b => ({
        ...b,
        items: b.items.filter((i: any) => i.image === b.items[0]?.image),
      })),
      tab.ready,
    ],
    ['no pending promotions', only('/promotions', empty), tab.ready],
    ['no timeline events', only('/timeline', empty), tab.ready],
    ['no objects', only('/objects', empty), withoutObjects],
  ];
  const clicks = [tab.click, ...(tab.otherClicks ?? [])].filter(
    (c): c is ClickSpec => c !== undefined,
  );
  const ready = new Map<string, number[]>(variants.map(([name]) => [name, []]));
  const latencies = new Map<string, Map<string, number[]>>(
    variants.map(([name]) => [name, new Map(clicks.map(c => [c.label, []]))]),
  );
  for (let round = 0; round < 6; round++) {
    for (const [name, rewrite, spec] of variants) {
      const run = await measure(
        context,
        baseUrl,
        { ...tab, ready: spec },
        { rewrite, diagnosticClicks: true, viaTabFrom: overviewPath },
      );
      if (round === 0) continue;
      ready.get(name)!.push(run.ready);
      for (const [label, latency] of Object.entries(run.clickLatencies))
        latencies.get(name)!.get(label)!.push(latency);
    }
  }
  const cell = (values: number[], base: number[]) =>
    values.length === 0
      ? '—'.padEnd(14)
      : `${ms(median(values)).padStart(5)}${
          base === values || base.length === 0
            ? ''
            : ` (${ms(median(values) - median(base)).padStart(5)})`
        }`.padEnd(14);
  log(
    `  which data costs most: the tab in-app with one API answer emptied or cut, p50 ms: content ready; ${clicks
      .map(c => `click → ${c.label}`)
      .join('; ')}`,
  );
  const baseName = variants[0][0];
  for (const [name] of variants) {
    log(
      `    ${name.padEnd(28)} ${cell(ready.get(name)!, ready.get(baseName)!)}` +
        clicks
          .map(
            c =>
              `  ${cell(
                latencies.get(name)!.get(c.label)!,
                latencies.get(baseName)!.get(c.label)!,
              )}`,
          )
          .join(''),
    );
  }
}

async function main() {
  const log = (line: string) => console.log(line);
  log(
    `entity-tab: ${ENTITY.kind}:${ENTITY.namespace}/${ENTITY.name}, ${OBJECTS} objects (${IMAGES} ImageRepositories, ` +
      `${IMAGES} ImagePolicies, 1 GitRepository, ${AUTOMATIONS} ImageUpdateAutomations), ${BIG_TAGS} tags and ${HISTORY} scans on the first repository`,
  );
  let world: EntityTabWorld | undefined;
  let browser: Browser | undefined;
  const maps = fs.mkdtempSync(path.join(os.tmpdir(), 'entity-tab-maps-'));
  sourceMaps = maps;
  for (const file of fs
    .readdirSync(path.join(DIST, 'static'))
    .filter(f => f.endsWith('.js.map'))) {
    fs.copyFileSync(path.join(DIST, 'static', file), path.join(maps, file));
  }
  try {
    world = await startEntityTabWorld(log);
    const { counts } = world;
    log(
      `  seeded: ${counts.objects} objects, ${counts.tags} tags and ${counts.scans} scans of the first repository, ` +
        `${counts.versionRows} version rows, ${counts.pendingPromotions} pending promotions (expected ${PENDING})`,
    );
    // The backend keeps serving the build it found at its start (index.html in memory, assets in its
    // database), whatever happens to packages/app/dist later; the source maps must be of that build.
    const served = await (await fetch(`${world.app.baseUrl}/`)).text();
    const scripts = [...served.matchAll(/\/static\/([^"]+\.js)"/g)].map(
      m => m[1],
    );
    if (
      scripts.length === 0 ||
      !scripts.every(f => fs.existsSync(path.join(maps, `${f}.map`)))
    ) {
      throw new Error(
        'packages/app/dist was rebuilt while the backend started; run the bench again',
      );
    }
    browser = await launchBrowser();
    log(`  browser: Chromium ${browser.version()}, headless`);
    const context = await browser.newContext();
    await context.addInitScript(INIT_SCRIPT);
    const signIn = await context.newPage();
    await signInAsGuest(signIn, world.app.baseUrl);
    await signIn.close();

    const moreActions: ClickSpec = {
      label: 'entity menu',
      role: 'button',
      name: '^More actions$',
      answer: '[role="menu"]',
    };
    const entityPath = (e: typeof ENTITY) =>
      `/catalog/${e.namespace}/${e.kind}/${e.name}`;
    const tab = await discover(
      context,
      world.app.baseUrl,
      'tab',
      `${entityPath(ENTITY)}/image-updates`,
      {
        rowAfter: 'Versions',
        objectAfter: 'Automation objects',
        objectPattern: '\\b(app|cluster)-\\d\\d\\b|\\bfleet\\b',
        objectWords: ['app-', 'cluster-', 'fleet'],
      },
      [
        // The drawer of the repository with 10,000 tags and 1,000 scans.
        {
          label: 'object drawer',
          role: 'button',
          name: '^ImageRepository bench/app-00$',
          answer: '[role="dialog"]',
        },
        {
          label: 'Pin dialog',
          role: 'button',
          name: '^Pin ',
          answer: '[role="dialog"]',
        },
      ],
      log,
    );
    const empty = await discover(
      context,
      world.app.baseUrl,
      'empty tab',
      `${entityPath(EMPTY_ENTITY)}/image-updates`,
      {},
      [moreActions],
      log,
    );
    const overview = await discover(
      context,
      world.app.baseUrl,
      'Overview',
      entityPath(ENTITY),
      {},
      [moreActions],
      log,
    );
    const inApp = (kind: PageKind): PageKind => ({
      ...kind,
      label: `${kind.label} in-app`,
    });
    const tabInApp = inApp(tab);
    const emptyInApp = inApp(empty);
    const runs: Array<[PageKind, Visit]> = [
      ...(IN_APP_ONLY
        ? []
        : ([
            [tab, {}],
            [overview, {}],
            [empty, {}],
          ] as Array<[PageKind, Visit]>)),
      [tabInApp, { viaTabFrom: entityPath(ENTITY) }],
      [emptyInApp, { viaTabFrom: entityPath(EMPTY_ENTITY) }],
    ];
    const kinds = runs.map(([kind]) => kind);
    const results = new Map<PageKind, RunResult[]>(kinds.map(k => [k, []]));
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      for (let i = 0; i < runs.length; i++) {
        const [kind, visit] = runs[(round + i) % runs.length];
        const result = await measure(context, world.app.baseUrl, kind, visit);
        if (round >= WARMUP) results.get(kind)!.push(result);
      }
    }

    log(
      `  ${ROUNDS} rounds after ${WARMUP} warm-up rounds, pages interleaved; ms from navigation start (in-app: from the click on the "Image updates" tab of the entity's Overview):`,
    );
    for (const kind of kinds) {
      const runs = results.get(kind)!;
      const i = stats(runs.map(r => r.interactive));
      const r = stats(runs.map(r => r.ready));
      log(
        `    ${kind.label.padEnd(17)} interactive p50 ${ms(i.p50).padStart(
          5,
        )}, p95 ${ms(i.p95).padStart(5)} (min ${ms(i.min)}, max ${ms(
          i.max,
        )});  content ready p50 ${ms(r.p50)}, p95 ${ms(r.p95)}`,
      );
    }
    const interactive = (kind: PageKind) =>
      stats(results.get(kind)!.map(r => r.interactive));
    const ti = interactive(tabInApp);
    const ei = interactive(emptyInApp);
    if (IN_APP_ONLY) {
      log(
        `    ratio (p50): in-app tab / in-app empty tab ${(
          ti.p50 / ei.p50
        ).toFixed(2)}`,
      );
    } else {
      const t = interactive(tab);
      const o = interactive(overview);
      const e = interactive(empty);
      log(
        `    ratios (p50): tab / Overview ${(t.p50 / o.p50).toFixed(
          2,
        )}, tab / empty tab ${(t.p50 / e.p50).toFixed(2)}, ` +
          `in-app tab / in-app empty tab ${(ti.p50 / ei.p50).toFixed(2)}`,
      );
    }
    const verdict = (label: string, x: ReturnType<typeof stats>) => {
      const pass = x.p50 < TARGET_MS;
      log(
        `    ${pass ? 'PASS' : 'FAIL'}: ${label} interactive p50 ${ms(
          x.p50,
        )} ms ${pass ? '<' : '>='} ${TARGET_MS} ms` +
          (pass && x.p95 >= TARGET_MS
            ? ` (but p95 ${ms(x.p95)} ms >= ${TARGET_MS} ms)`
            : ''),
      );
      return pass;
    };
    // The requirement is the tab's own cost: opened from the entity's page, as users reach it. A
    // full load also pays the app shell and sign-in, which any page pays (the Overview, printed above).
    const pass = verdict('tab (in-app)', ti);
    if (!IN_APP_ONLY) {
      log(
        `    (full load, for reference: tab p50 ${ms(
          interactive(tab).p50,
        )} ms, Overview ${ms(interactive(overview).p50)} ms)`,
      );
    }
    for (const kind of kinds) breakdown(kind.label, results.get(kind)!, log);
    if (!IN_APP_ONLY)
      await ablation(context, world.app.baseUrl, tab, entityPath(ENTITY), log);
    await profileTab(context, world.app.baseUrl, tab, log, entityPath(ENTITY));
    if (!pass) process.exitCode = 1;
  } finally {
    await browser?.close();
    await world?.stop();
    fs.rmSync(maps, { recursive: true, force: true });
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
