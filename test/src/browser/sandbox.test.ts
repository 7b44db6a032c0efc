import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Browser, Page } from 'playwright-core';
import { launchBrowser, signInAsGuest } from '../../browser/appDriver';
import {
  Sandbox,
  SANDBOX_GIT_REPOSITORY,
  startSandbox,
  writeSandboxState,
} from '../../testbed/sandboxWorld';
import { RunningApp, startApp } from './startApp';
import { apiGet, objectRow, screenshot, screenshots, until } from './tabDriver';

// The sandbox of `scripts/start.sh --sandbox` (the same library function), walked through as a
// newcomer would: `scripts/sandbox-push.sh podinfo 6.9.0`, then the scan picks it up, staging
// gets a commit on the sandbox Git server, production waits for staging and an approval, and
// the Gitless ResourceSet applies the new tag into the sandbox's kube-apiserver.
jest.setTimeout(360_000);

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(__dirname, '../../..');

describe('the sandbox, in a real browser', () => {
  let sandbox: Sandbox;
  let browser: Browser;
  let app: RunningApp;
  let page: Page;
  let stateDir: string;

  beforeAll(async () => {
    await fs.mkdir(screenshots, { recursive: true });
    // Long intervals: every step below is started by the push script or a button, not a timer.
    [sandbox, browser] = await Promise.all([
      startSandbox({ scanIntervalSeconds: 600 }),
      launchBrowser(),
    ]);
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'sandbox-state-'));
    writeSandboxState(stateDir, sandbox);
    const config = sandbox.imageAutomationConfig;
    app = await startApp({
      files: sandbox.files,
      config: {
        ...config,
        engine: { ...config.engine, refreshIntervalSeconds: 2 },
      },
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await signInAsGuest(page, app.baseUrl);
  }, 180_000);

  afterAll(async () => {
    await page?.close();
    await app?.stop();
    await browser?.close();
    await sandbox?.stop();
    if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
  });

  const tab = (entity: string) =>
    `${app.baseUrl}/catalog/default/component/${entity}/image-updates`;
  const objects = async (entity: string) =>
    (await apiGet(app, `/entities/component/default/${entity}/objects`))
      .items as any[];
  const find = (items: any[], kind: string) => items.find(o => o.kind === kind);
  const ready = (o: any) =>
    o?.status?.conditions?.find((c: any) => c.type === 'Ready')?.status ===
    'True';
  const fleetFile = (file: string) =>
    sandbox.git.readFile(SANDBOX_GIT_REPOSITORY, 'main', file);
  const inCluster = async (resource: string) =>
    JSON.parse(
      await sandbox.kube.kubectl([
        'get',
        resource,
        'podinfo',
        '-n',
        'podinfo-gitless',
        '-o',
        'json',
      ]),
    );

  /**
   * What tells why the production commit did not come: the production automation's status and
   * events, its promotions with their gates and steps, the Git log, the tab as loaded, and the
   * backend's log (kept whole in the test results).
   */
  const productionDiagnosis = async () => {
    const parts: string[] = [];
    const section = async (title: string, read: () => Promise<unknown>) => {
      try {
        const value = await read();
        parts.push(
          `--- ${title}:\n${
            typeof value === 'string' ? value : JSON.stringify(value, null, 1)
          }`,
        );
      } catch (e) {
        parts.push(`--- ${title}: could not be read: ${(e as Error).message}`);
      }
    };
    await section('production objects (kind, Ready, next run)', async () =>
      (
        await objects('podinfo-production')
      ).map(o => ({
        id: `${o.kind}/${o.namespace}/${o.name}`,
        conditions: o.status?.conditions,
        latestRef: o.status?.latestRef,
        lastPushCommit: o.status?.lastPushCommit,
        lastAutomationRunTime: o.status?.lastAutomationRunTime,
        nextRunAt: o.nextRunAt,
        lastRunAt: o.lastRunAt,
      })),
    );
    await section('production promotions', async () =>
      (
        await apiGet(
          app,
          '/entities/component/default/podinfo-production/promotions',
        )
      ).items.map((p: any) => ({
        id: p.id,
        state: p.state,
        to: p.to,
        gates: p.gates?.map((g: any) => `${g.gate} ${g.state}: ${g.summary}`),
        history: p.history,
        votes: p.votes?.map((v: any) => `${v.actor} ${v.decision} ${v.digest}`),
        error: p.error,
      })),
    );
    for (const stage of ['production', 'staging']) {
      await section(`${stage} ImageUpdateAutomation events`, async () =>
        (
          (
            await apiGet(
              app,
              `/objects/ImageUpdateAutomation/podinfo-${stage}/podinfo/events`,
            )
          ).items as any[]
        ).map(
          e =>
            `${e.time ?? e.lastTimestamp} ${e.type} ${e.reason}: ${e.message}`,
        ),
      );
    }
    await section('git log', () =>
      sandbox.git.git(SANDBOX_GIT_REPOSITORY, [
        'log',
        '--format=%H %ci %an %s',
        'main',
      ]),
    );
    await section('the production tab', async () => {
      await page.reload();
      // The tab's sections load after the page: wait for the promotion card (or give up after 20 s).
      await page
        .getByRole('article', {
          name: /ImagePolicy\/podinfo-production\/podinfo/,
        })
        .first()
        .waitFor({ timeout: 20_000 })
        .catch(() => {});
      await screenshot(page, 'sandbox-5-production-commit-missing');
      return (await page.locator('main').innerText())
        .replace(/\s+/g, ' ')
        .slice(0, 3000);
    });
    await section('backend log (tail; whole log kept)', async () => {
      const kept = await app.keepLog(screenshots, 'sandbox-backend-failed');
      return `${kept}\n${await app.logTail(6000)}`;
    });
    return parts.join('\n');
  };

  it('shows a pushed tag scanned, committed, promoted and applied', async () => {
    // The starting point: everything selected and carried at 6.8.0, the newest seeded version.
    for (const entity of ['podinfo-staging', 'podinfo-production']) {
      await until(
        `${entity} selecting 6.8.0`,
        async () => {
          const items = await objects(entity);
          return find(items, 'ImagePolicy')?.status.latestRef?.tag ===
            '6.8.0' && ready(find(items, 'ImageUpdateAutomation'))
            ? true
            : undefined;
        },
        90_000,
      );
    }
    await until(
      'the Gitless ResourceSet applied',
      async () => {
        const rset = find(await objects('podinfo-gitless'), 'ResourceSet');
        return ready(rset) && rset.status.appliedClusters?.includes('sandbox')
          ? true
          : undefined;
      },
      90_000,
    );
    expect(
      (await inCluster('helmreleases.helm.toolkit.fluxcd.io')).spec.values.image
        .tag,
    ).toMatch(/^6\.8\.0@sha256:/);
    expect(
      (await inCluster('ocirepositories.source.toolkit.fluxcd.io')).spec.ref,
    ).toEqual({ tag: '6.8.0' });

    await page.goto(tab('podinfo-staging'));
    const policy = objectRow(page, 'ImagePolicy podinfo-staging/podinfo');
    await policy
      .getByText('6.8.0', { exact: false })
      .first()
      .waitFor({ timeout: 60_000 });
    await screenshot(page, 'sandbox-1-start');

    // The newcomer's step: push podinfo 6.9.0 (and its chart) into the running sandbox.
    const push = async (image: string, tag: string) =>
      (
        await execFileAsync(
          path.join(repoRoot, 'scripts/sandbox-push.sh'),
          [image, tag],
          {
            env: { ...process.env, SANDBOX_DIR: stateDir },
          },
        )
      ).stdout;
    expect(await push('podinfo', '6.9.0')).toContain(
      `pushed ${sandbox.registry.host}/stefanprodan/podinfo:6.9.0 (sha256:`,
    );
    expect(await push('chart', '6.9.0')).toContain(
      `pushed ${sandbox.registry.host}/stefanprodan/charts/podinfo:6.9.0`,
    );

    // Scan now: the staging policy selects 6.9.0 ...
    await page.getByRole('button', { name: 'Scan now' }).click();
    await policy
      .getByText('6.9.0', { exact: false })
      .first()
      .waitFor({ timeout: 60_000 });
    await screenshot(page, 'sandbox-2-scanned');

    // ... and staging's automation commits it to the Git server, in both marked files.
    await until('the staging commit', async () =>
      (
        await fleetFile('apps/staging/podinfo/helmrelease.yaml')
      )?.includes(
        'tag: 6.9.0 # {"$imagepolicy": "podinfo-staging:podinfo:tag"}',
      )
        ? true
        : undefined,
    );
    expect(
      await fleetFile('apps/staging/podinfo/kustomization.yaml'),
    ).toContain(
      'newTag: 6.9.0 # {"$imagepolicy": "podinfo-staging:podinfo:tag"}',
    );
    expect(
      await fleetFile('apps/production/podinfo/helmrelease.yaml'),
    ).toContain('tag: 6.8.0 #');
    const log = await sandbox.git.git(SANDBOX_GIT_REPOSITORY, [
      'log',
      '-1',
      '--format=%an%n%B',
      'main',
    ]);
    expect(log).toContain('fluxcdbot\nstaging: update podinfo');
    expect(log).toContain('6.8.0 -> 6.9.0');
    await page.reload();
    await page
      .getByText(
        'Nothing is waiting: every target carries what its policy selected.',
      )
      .waitFor({ timeout: 60_000 });
    await screenshot(page, 'sandbox-3-committed');

    // Production follows staging, once someone approves.
    await page.goto(tab('podinfo-production'));
    await page.getByRole('button', { name: 'Scan now' }).click();
    const card = page.getByRole('article', {
      name: /ImagePolicy\/podinfo-production\/podinfo: 6\.8\.0 → 6\.9\.0/,
    });
    await card.waitFor({ timeout: 60_000 });
    await card
      .getByText(/approval 0\/1/)
      .first()
      .waitFor();
    await card
      .getByText(/component:default\/podinfo-staging has run 6\.9\.0/)
      .first()
      .waitFor({ timeout: 30_000 });
    await screenshot(page, 'sandbox-4-waiting-for-approval');
    await card.getByRole('button', { name: /^Approve / }).click();
    const dialog = page.getByRole('dialog', { name: /^Approve / });
    await dialog
      .getByRole('textbox', { name: 'Comment' })
      .fill('staging looks good');
    await dialog.getByRole('button', { name: 'Approve', exact: true }).click();
    // The approval makes production's automation due at once: its next pass commits (a push that
    // loses to staging's on the shared branch is retried from a fresh clone within that pass). The
    // dialog's preview is stored into the promotion while that pass decides; the pass must not drop
    // the approval for it (it once did, and the commit then waited for the 5m interval).
    await until(
      'the production commit',
      async () =>
        (
          await fleetFile('apps/production/podinfo/kustomization.yaml')
        )?.includes('newTag: 6.9.0 #')
          ? true
          : undefined,
      60_000,
    ).catch(async error => {
      throw new Error(
        `${(error as Error).message}\n${await productionDiagnosis()}`,
      );
    });
    await page
      .getByText(
        'Nothing is waiting: every target carries what its policy selected.',
      )
      .waitFor({ timeout: 60_000 });
    await screenshot(page, 'sandbox-5-promoted');

    // Gitless: the providers export the new image and chart tags; the ResourceSet applies them.
    await page.goto(tab('podinfo-gitless'));
    await page.getByRole('button', { name: 'Reconcile all' }).click();
    const release = await until(
      'the HelmRelease with 6.9.0 in the cluster',
      async () => {
        const object = await inCluster('helmreleases.helm.toolkit.fluxcd.io');
        return /^6\.9\.0@sha256:/.test(object.spec.values.image.tag)
          ? object
          : undefined;
      },
    );
    expect(release.metadata.labels).toMatchObject({
      'resourceset.fluxcd.controlplane.io/name': 'podinfo',
    });
    await until('the OCIRepository with chart 6.9.0', async () =>
      (
        await inCluster('ocirepositories.source.toolkit.fluxcd.io')
      ).spec.ref.tag === '6.9.0'
        ? true
        : undefined,
    );
    const versions = page.getByRole('table', {
      name: `Versions of ${sandbox.registry.host}/stefanprodan/podinfo`,
    });
    await versions
      .getByRole('row', { name: /Cluster sandbox/ })
      .getByText('6.9.0')
      .first()
      .waitFor({ timeout: 60_000 });
    await screenshot(page, 'sandbox-6-applied');
  });
});
