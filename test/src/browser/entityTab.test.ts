import fs from 'node:fs/promises';
import path from 'node:path';
import { Browser } from 'playwright-core';
import { launchBrowser, signInAsGuest } from '../../browser/appDriver';
import { pushImage, startRegistry, TestRegistry } from '../../testbed';
import { RunningApp, startApp } from './startApp';

jest.setTimeout(240_000);

const screenshots = path.resolve(__dirname, '../../../.testbed/results');

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

async function apiGet(app: RunningApp, route: string) {
  const res = await fetch(`${app.baseUrl}/api/image-automation${route}`, {
    headers: { Authorization: `Bearer ${await app.guestToken()}` },
  });
  if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(resolve => setTimeout(resolve, 500));
  }
}

describe('the Image updates tab in a real browser', () => {
  let registry: TestRegistry;
  let browser: Browser;

  beforeAll(async () => {
    await fs.mkdir(screenshots, { recursive: true });
    [registry, browser] = await Promise.all([startRegistry(), launchBrowser()]);
    await pushImage(registry, 'stefanprodan/podinfo', ['6.0.0', '6.1.0', '5.0.0', 'latest']);
  });
  afterAll(async () => {
    await browser?.close();
    await registry?.stop();
  });

  it('shows the selected tag, reconciles on click, and shows why a manifest is broken', async () => {
    const app = await startApp({
      files: { 'catalog.yaml': catalog, 'podinfo.yaml': podinfo(registry.host), 'broken.yaml': broken },
    });
    const page = await browser.newPage();
    try {
      await until('the first selection', async () => {
        const { items } = await apiGet(app, '/entities/component/default/podinfo/objects');
        return items.find((o: any) => o.kind === 'ImagePolicy')?.status.latestRef?.tag === '6.1.0' ? true : undefined;
      });

      await signInAsGuest(page, app.baseUrl);
      await page.goto(`${app.baseUrl}/catalog/default/component/podinfo/image-updates`);
      const policy = page.getByRole('region', { name: 'ImagePolicy flux-system/podinfo' });
      await policy.getByText('6.1.0', { exact: false }).first().waitFor({ timeout: 60_000 });
      const repository = page.getByRole('region', { name: 'ImageRepository flux-system/podinfo' });
      await repository.getByText('Ready', { exact: true }).waitFor();
      const scanRows = repository.getByRole('row');
      const rowsBefore = await scanRows.count();
      await page.screenshot({ path: path.join(screenshots, 'entity-tab.png'), fullPage: true });

      // A new version is pushed; "Reconcile" scans now and the new scan and selection appear.
      await pushImage(registry, 'stefanprodan/podinfo', ['6.2.0'], { seed: 'a newer build' });
      await page.getByRole('button', { name: 'Reconcile ImageRepository flux-system/podinfo' }).click();
      await until('a new scan row', async () => ((await scanRows.count()) > rowsBefore ? true : undefined));
      await repository.getByText('6.2.0').first().waitFor({ timeout: 60_000 });
      await policy.getByText('6.2.0', { exact: false }).first().waitFor({ timeout: 60_000 });
      await page.screenshot({ path: path.join(screenshots, 'entity-tab-after-reconcile.png'), fullPage: true });

      await page.goto(`${app.baseUrl}/catalog/default/component/broken/image-updates`);
      const redis = page.getByRole('region', { name: 'ImageRepository flux-system/redis' });
      await redis.getByText('Stalled', { exact: true }).waitFor({ timeout: 60_000 });
      await redis.getByText(/spec\.intervall: unknown field/).waitFor();
      await page.screenshot({ path: path.join(screenshots, 'entity-tab-stalled.png'), fullPage: true });
    } finally {
      await page.close();
      await app.stop();
    }
  });

  it('disables the controls, with the reason, for a user the permission policy refuses', async () => {
    const app = await startApp({
      files: { 'catalog.yaml': catalog, 'podinfo.yaml': podinfo(registry.host), 'broken.yaml': broken },
      topLevelConfig: { permissionDemo: { policy: 'restrictive' } },
    });
    const page = await browser.newPage();
    try {
      await until('the objects', async () => {
        const { items } = await apiGet(app, '/entities/component/default/podinfo/objects');
        return items.length === 2 ? true : undefined;
      });
      await signInAsGuest(page, app.baseUrl);
      await page.goto(`${app.baseUrl}/catalog/default/component/podinfo/image-updates`);
      const reconcile = page.getByRole('button', { name: 'Reconcile ImageRepository flux-system/podinfo' });
      await reconcile.waitFor({ timeout: 60_000 });
      expect(await reconcile.isDisabled()).toBe(true);
      const repository = page.getByRole('region', { name: 'ImageRepository flux-system/podinfo' });
      await reconcile.hover({ force: true });
      await page
        .getByText('You lack the image-automation.object.update permission for component:default/podinfo')
        .first()
        .waitFor({ timeout: 10_000 });
      await page.screenshot({ path: path.join(screenshots, 'entity-tab-restricted.png'), fullPage: true });
      expect(await repository.isVisible()).toBe(true);

      // The backend refuses the same action, whatever the UI shows.
      const res = await fetch(
        `${app.baseUrl}/api/image-automation/objects/ImageRepository/flux-system/podinfo/reconcile`,
        { method: 'POST', headers: { Authorization: `Bearer ${await app.guestToken()}` } },
      );
      expect(res.status).toBe(403);
    } finally {
      await page.close();
      await app.stop();
    }
  });
});
