import fs from 'node:fs/promises';
import { Browser } from 'playwright-core';
import { launchBrowser, signInAsGuest } from '../../browser/appDriver';
import { pushImage, startRegistry, TestRegistry } from '../../testbed';
import { startApp } from './startApp';
import {
  apiGet,
  expectAccessible,
  objectRow,
  screenshot,
  screenshots,
  until,
} from './tabDriver';

jest.setTimeout(240_000);

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: team-podinfo }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: podinfo
  annotations:
    image-automation.io/manifests: ./podinfo.yaml
spec: { type: service, lifecycle: production, owner: group:default/team-podinfo }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: broken
  annotations:
    image-automation.io/manifests: ./broken.yaml
spec: { type: service, lifecycle: production, owner: group:default/team-podinfo }
`;

const podinfo = (host: string) => `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: podinfo, namespace: flux-system }
spec: { image: ${host}/stefanprodan/podinfo, interval: 1h }
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: { name: podinfo, namespace: flux-system }
spec:
  imageRepositoryRef: { name: podinfo }
  policy: { semver: { range: '>=6.0.0 <7.0.0' } }
`;

const broken = `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: redis, namespace: flux-system }
spec: { image: docker.io/library/redis, intervall: 1h }
`;

describe('the Image updates tab in a real browser', () => {
  let registry: TestRegistry;
  let browser: Browser;

  beforeAll(async () => {
    await fs.mkdir(screenshots, { recursive: true });
    [registry, browser] = await Promise.all([startRegistry(), launchBrowser()]);
    await pushImage(registry, 'stefanprodan/podinfo', [
      '6.0.0',
      '6.1.0',
      '5.0.0',
      'latest',
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await registry?.stop();
  });

  it('shows the selected tag, reconciles on click, and shows why a manifest is broken', async () => {
    const app = await startApp({
      files: {
        'catalog.yaml': catalog,
        'podinfo.yaml': podinfo(registry.host),
        'broken.yaml': broken,
      },
    });
    const page = await browser.newPage();
    try {
      await until('the first selection', async () => {
        const { items } = await apiGet(
          app,
          '/entities/component/default/podinfo/objects',
        );
        return items.find((o: any) => o.kind === 'ImagePolicy')?.status
          .latestRef?.tag === '6.1.0'
          ? true
          : undefined;
      });

      await signInAsGuest(page, app.baseUrl);
      const tab = `${app.baseUrl}/catalog/default/component/podinfo/image-updates`;
      await page.goto(tab);
      const policy = objectRow(page, 'ImagePolicy flux-system/podinfo');
      await policy
        .getByText('6.1.0', { exact: false })
        .first()
        .waitFor({ timeout: 60_000 });
      const repository = objectRow(page, 'ImageRepository flux-system/podinfo');
      await repository.getByText(/\bReady$/).waitFor();
      await page.getByRole('region', { name: 'Summary' }).waitFor();
      await expectAccessible(page, 'entity-tab');

      // The repository's drawer lists its scans; a new version is pushed and "Reconcile" scans now.
      const scans = () =>
        page
          .getByRole('table', {
            name: 'Scans of ImageRepository flux-system/podinfo',
          })
          .getByRole('row');
      await page.goto(
        `${tab}?object=ImageRepository%2Fflux-system%2Fpodinfo&objectTab=history`,
      );
      await scans().nth(1).waitFor({ timeout: 60_000 });
      const rowsBefore = await scans().count();
      await expectAccessible(page, 'entity-tab-object-history');
      await page.keyboard.press('Escape');
      await pushImage(registry, 'stefanprodan/podinfo', ['6.2.0'], {
        seed: 'a newer build',
      });
      await page
        .getByRole('button', {
          name: 'Reconcile ImageRepository flux-system/podinfo',
        })
        .click();
      await policy
        .getByText('6.2.0', { exact: false })
        .first()
        .waitFor({ timeout: 60_000 });
      await page.goto(
        `${tab}?object=ImageRepository%2Fflux-system%2Fpodinfo&objectTab=history`,
      );
      await until('a new scan row', async () =>
        (await scans().count()) > rowsBefore ? true : undefined,
      );
      await page
        .getByRole('dialog')
        .getByText('6.2.0')
        .first()
        .waitFor({ timeout: 60_000 });
      await screenshot(page, 'entity-tab-after-reconcile');

      await page.goto(
        `${app.baseUrl}/catalog/default/component/broken/image-updates`,
      );
      const redis = objectRow(page, 'ImageRepository flux-system/redis');
      await redis.getByText(/\bStalled$/).waitFor({ timeout: 60_000 });
      await redis
        .getByText(/spec\.intervall: unknown field/)
        .first()
        .waitFor();
      await expectAccessible(page, 'entity-tab-stalled');
    } finally {
      await page.close();
      await app.stop();
    }
  });

  it('disables the controls, with the reason, for a user the permission policy refuses', async () => {
    const app = await startApp({
      files: {
        'catalog.yaml': catalog,
        'podinfo.yaml': podinfo(registry.host),
        'broken.yaml': broken,
      },
      topLevelConfig: { permissionDemo: { policy: 'restrictive' } },
    });
    const page = await browser.newPage();
    try {
      await until('the objects', async () => {
        const { items } = await apiGet(
          app,
          '/entities/component/default/podinfo/objects',
        );
        return items.length === 2 ? true : undefined;
      });
      await signInAsGuest(page, app.baseUrl);
      await page.goto(
        `${app.baseUrl}/catalog/default/component/podinfo/image-updates`,
      );
      const reconcile = page.getByRole('button', {
        name: 'Reconcile ImageRepository flux-system/podinfo',
      });
      await reconcile.waitFor({ timeout: 60_000 });
      expect(await reconcile.isDisabled()).toBe(true);
      const repository = objectRow(page, 'ImageRepository flux-system/podinfo');
      await reconcile.hover({ force: true });
      await page
        .getByText(
          'You lack the image-automation.object.update permission for component:default/podinfo',
        )
        .first()
        .waitFor({ timeout: 10_000 });
      await expectAccessible(page, 'entity-tab-restricted');
      expect(await repository.isVisible()).toBe(true);

      // The backend refuses the same action, whatever the UI shows.
      const res = await fetch(
        `${app.baseUrl}/api/image-automation/objects/ImageRepository/flux-system/podinfo/reconcile`,
        {
          method: 'POST',
          headers: { Authorization: `Bearer ${await app.guestToken()}` },
        },
      );
      expect(res.status).toBe(403);
    } finally {
      await page.close();
      await app.stop();
    }
  });
});
