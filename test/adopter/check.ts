/*
 * The adopter test's checks, run by test/adopter/run.sh once it has installed the packed plugin
 * tarballs into a minimal Backstage app outside the workspace (APP_DIR) and built its frontend.
 *
 * It starts a registry with podinfo tags and a PostgreSQL server (the test bed), starts the app's
 * backend on 127.0.0.1 with only the app's own node_modules, and checks what an adopter sees:
 * the API lists the entity's objects with the selected tag, the backend serves the built app,
 * the entity page in Chromium shows the "Image updates" tab with that tag, and the packaged
 * `image-automation` command runs. Everything it starts is stopped before it exits.
 *
 *   node --require @backstage/cli-node/config/nodeTransform.cjs test/adopter/check.ts APP_DIR
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Browser } from 'playwright-core';
import { launchBrowser, signInAsGuest } from '../browser/appDriver';
import {
  freePort,
  pushImage,
  startPostgres,
  startRegistry,
  TestPostgres,
  TestRegistry,
} from '../testbed';

const RESULTS = path.resolve(__dirname, '../../.testbed/results');

function step(message: string) {
  process.stdout.write(`[adopter] ${message}\n`);
}

async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs / 1000} s waiting for ${what}${
          last ? ` (last error: ${last})` : ''
        }`,
      );
    }
    await new Promise(resolve => setTimeout(resolve, 500));
  }
}

/** Starts the adopter app's backend (its own node_modules only) and waits until it is ready. */
async function startBackend(
  appDir: string,
  overlay: string,
  port: number,
  log: string,
) {
  const backendDir = path.join(appDir, 'packages/backend');
  const transform = path.join(
    appDir,
    'node_modules/@backstage/cli-node/config/nodeTransform.cjs',
  );
  const out = await fs.open(log, 'w');
  // NODE_PATH cleared: nothing of the workspace may be resolved.
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    NODE_PATH: '',
  };
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--require',
      transform,
      'src/index.ts',
      '--config',
      '../../app-config.yaml',
      '--config',
      overlay,
    ],
    { cwd: backendDir, env, stdio: ['ignore', out.fd, out.fd] },
  );
  const exited = new Promise<void>(resolve =>
    child.once('exit', () => resolve()),
  );
  process.once('exit', () => child.kill('SIGKILL'));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await out.close().catch(() => {});
  };
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await until(
      'the backend to become ready',
      async () => {
        if (child.exitCode !== null) {
          const output = await fs.readFile(log, 'utf8');
          throw new Error(
            `the backend exited with ${child.exitCode}:\n${output.slice(
              -4000,
            )}`,
          );
        }
        const res = await fetch(
          `${baseUrl}/.backstage/health/v1/readiness`,
        ).catch(() => undefined);
        return res?.ok ? true : undefined;
      },
      180_000,
    );
  } catch (error) {
    await stop();
    const output = await fs.readFile(log, 'utf8').catch(() => '');
    throw new Error(
      `${(error as Error).message}\n--- backend log (tail) ---\n${output.slice(
        -4000,
      )}`,
    );
  }
  return { baseUrl, stop };
}

async function checkApi(baseUrl: string): Promise<string> {
  const tokenRes = await fetch(`${baseUrl}/api/auth/guest/refresh`, {
    headers: { 'X-Requested-With': 'XMLHttpRequest' },
  });
  if (!tokenRes.ok)
    throw new Error(
      `guest sign-in failed: ${tokenRes.status} ${await tokenRes.text()}`,
    );
  const token = (
    (await tokenRes.json()) as { backstageIdentity: { token: string } }
  ).backstageIdentity.token;

  const route = `${baseUrl}/api/image-automation/entities/component/default/podinfo/objects`;
  const unauthenticated = await fetch(route);
  if (unauthenticated.status !== 401) {
    throw new Error(
      `${route} without a token answered ${unauthenticated.status}, expected 401`,
    );
  }
  const items = await until(
    'the API to list the manifest objects with the ImagePolicy selecting 6.1.0',
    async () => {
      const res = await fetch(route, {
        headers: { Authorization: `Bearer ${token}` },
      });
      if (!res.ok)
        throw new Error(`${route}: ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { items: any[] };
      const policy = body.items.find(o => o.kind === 'ImagePolicy');
      return policy?.status?.latestRef?.tag === '6.1.0'
        ? body.items
        : undefined;
    },
    120_000,
  );
  const names = items.map(o => o.id).sort();
  const expected = [
    'ImagePolicy/podinfo/podinfo',
    'ImageRepository/podinfo/podinfo',
  ];
  if (JSON.stringify(names) !== JSON.stringify(expected)) {
    throw new Error(
      `the API listed ${JSON.stringify(names)}, expected ${JSON.stringify(
        expected,
      )}`,
    );
  }
  step(
    `API: ${route.slice(baseUrl.length)} lists ${names.join(
      ', ',
    )}; the policy selected 6.1.0`,
  );
  return token;
}

async function checkServedApp(baseUrl: string) {
  const res = await fetch(
    `${baseUrl}/catalog/default/component/podinfo/image-updates`,
  );
  const html = await res.text();
  if (!res.ok || !html.includes('<div id="root">')) {
    throw new Error(
      `the backend did not serve the app's index.html: ${
        res.status
      } ${html.slice(0, 300)}`,
    );
  }
  const scripts = [...html.matchAll(/<script[^>]+src="([^"]+)"/g)].map(
    m => m[1],
  );
  if (scripts.length === 0)
    throw new Error(`index.html names no script: ${html.slice(0, 500)}`);
  for (const src of scripts) {
    const script = await fetch(new URL(src, baseUrl));
    if (!script.ok) throw new Error(`${src}: ${script.status}`);
  }
  step(
    `app: index.html and its ${scripts.length} script(s) are served by the backend`,
  );
}

async function checkBrowser(browser: Browser, baseUrl: string) {
  const page = await browser.newPage();
  try {
    await signInAsGuest(page, baseUrl);
    await page.goto(`${baseUrl}/catalog/default/component/podinfo`);
    const tab = page
      .getByRole('tab', { name: 'Image updates' })
      .or(page.getByRole('link', { name: 'Image updates' }));
    await tab.first().waitFor({ timeout: 60_000 });
    await tab.first().click();
    await page.waitForURL(/\/image-updates/, { timeout: 30_000 });
    const policyRow = page.getByRole('row').filter({
      has: page.getByRole('button', {
        name: 'ImagePolicy podinfo/podinfo',
        exact: true,
      }),
    });
    await policyRow
      .getByText('6.1.0', { exact: false })
      .first()
      .waitFor({ timeout: 60_000 });
    // The plugin's own stylesheets survive the adopter's production build: bundlers drop an
    // import that package.json's sideEffects does not list, and the tables lose their layout.
    const headerAlign = await page
      .locator('table.ia-Table th')
      .first()
      .evaluate(th => getComputedStyle(th).textAlign);
    if (headerAlign !== 'left') {
      throw new Error(
        `the plugin's table stylesheet is missing from the app's build: a table header is aligned '${headerAlign}', not 'left'`,
      );
    }
    // The page is laid out beside the sidebar, not under it. Checked before the screenshot: one
    // taken while the layout was still settling showed the sidebar over the page's left edge.
    const title = page.getByRole('heading', { name: 'podinfo' }).first();
    // What is drawn at the heading's left edge, if not the heading itself.
    const coveredBy = () =>
      title.evaluate(heading => {
        const box = heading.getBoundingClientRect();
        const top = document.elementFromPoint(
          box.left + 2,
          box.top + box.height / 2,
        );
        if (!top || heading.contains(top)) return null;
        const nav = top.closest('nav');
        return nav
          ? `nav "${nav.getAttribute('aria-label') ?? ''}"`
          : top.tagName.toLowerCase();
      });
    let covering = await coveredBy();
    for (let tries = 0; tries < 50 && covering; tries++) {
      await page.waitForTimeout(100);
      covering = await coveredBy();
    }
    if (covering) {
      throw new Error(
        `the entity page's "podinfo" heading is covered at its left edge by ${covering}`,
      );
    }
    await fs.mkdir(RESULTS, { recursive: true });
    await page.screenshot({
      path: path.join(RESULTS, 'adopter-entity-tab.png'),
      fullPage: true,
    });
    step(
      'browser: the entity page has the "Image updates" tab, which shows ImagePolicy podinfo/podinfo at 6.1.0, styled by the plugin\'s stylesheets, beside the sidebar',
    );
  } finally {
    await page.close();
  }
}

function checkCli(appDir: string, work: string) {
  const bin = path.join(appDir, 'node_modules/.bin/image-automation');
  const policy = path.join(work, 'policy.yaml');
  return fs
    .writeFile(
      policy,
      'apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: { name: p, namespace: podinfo }\n' +
        "spec: { imageRepositoryRef: { name: podinfo }, policy: { semver: { range: '>=6.0.0 <7.0.0' } } }\n",
    )
    .then(() => {
      const run = spawnSync(
        bin,
        ['policy', 'select', '--policy', policy, '--tags', '-', '--json'],
        {
          cwd: work,
          input: '5.0.0\n6.0.0\n6.1.0\n7.0.0\n',
          encoding: 'utf8',
          env: { ...process.env, NODE_PATH: '' },
        },
      );
      if (run.status !== 0 || JSON.parse(run.stdout || '{}').tag !== '6.1.0') {
        throw new Error(
          `the packaged image-automation command failed (exit ${run.status}): ${
            run.stdout
          }${run.stderr}${run.error ?? ''}`,
        );
      }
      step('cli: node_modules/.bin/image-automation policy select picks 6.1.0');
    });
}

async function main() {
  const appDir = process.argv[2];
  if (!appDir) throw new Error('usage: check.ts APP_DIR');
  const work = path.join(appDir, '.adopter-run');
  await fs.mkdir(work, { recursive: true });

  let registry: TestRegistry | undefined;
  let postgres: TestPostgres | undefined;
  let browser: Browser | undefined;
  let backend: { stop(): Promise<void> } | undefined;
  try {
    [registry, postgres] = await Promise.all([
      startRegistry(),
      startPostgres(),
    ]);
    await pushImage(registry, 'stefanprodan/podinfo', [
      '5.0.0',
      '6.0.0',
      '6.1.0',
      'latest',
    ]);

    const manifest = path.join(appDir, 'catalog/podinfo.yaml');
    await fs.writeFile(
      manifest,
      (
        await fs.readFile(manifest, 'utf8')
      ).replaceAll('REGISTRY_HOST', registry.host),
    );

    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const overlay = path.join(work, 'app-config.run.json');
    await fs.writeFile(
      overlay,
      JSON.stringify({
        app: { baseUrl },
        backend: {
          baseUrl,
          listen: { port, host: '127.0.0.1' },
          cors: { origin: baseUrl },
          database: { client: 'pg', connection: postgres.connectionString },
        },
        imageAutomation: {
          allowedRegistries: [registry.host],
          engine: { pollIntervalSeconds: 1, refreshIntervalSeconds: 2 },
        },
      }),
    );

    const started = Date.now();
    const running = await startBackend(
      appDir,
      overlay,
      port,
      path.join(work, 'backend.log'),
    );
    backend = running;
    step(
      `backend ready on ${baseUrl} after ${Math.round(
        (Date.now() - started) / 1000,
      )} s`,
    );

    await checkApi(baseUrl);
    await checkServedApp(baseUrl);
    browser = await launchBrowser();
    await checkBrowser(browser, baseUrl);
    await checkCli(appDir, work);
  } finally {
    await browser?.close().catch(() => {});
    await backend?.stop().catch(() => {});
    await registry?.stop().catch(() => {});
    await postgres?.stop().catch(() => {});
  }
}

main().then(
  () => {
    step('all checks passed');
    process.exit(0);
  },
  error => {
    process.stderr.write(`[adopter] FAILED: ${error?.stack ?? error}\n`);
    process.exit(1);
  },
);
