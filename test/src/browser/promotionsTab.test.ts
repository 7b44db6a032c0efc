import fs from 'node:fs/promises';
import { Browser, Page } from 'playwright-core';
import { launchBrowser, signInAsGuest } from '../../browser/appDriver';
import {
  pushImage,
  startGitServer,
  startRegistry,
  TestGitServer,
  TestRegistry,
} from '../../testbed';
import { startKubernetes, TestKubernetes } from '../../testbed/kube/kubernetes';
import { RunningApp, startApp } from './startApp';
import {
  apiGet,
  expectAccessible,
  objectRow,
  screenshots,
  until,
} from './tabDriver';
import {
  createTeamRepositories,
  gitAutomation,
  gitWriterConfig,
  twoTeamsCatalog,
  waitForPendingPromotions,
} from './twoTeams';

// The tab's promotion, explanation and failure states in the real app: the real backend under
// the demo's restrictive permission policy (owners only may act), a real registry, Git server and
// kube-apiserver. The guest user owns `podinfo` and does not own `shop`.
jest.setTimeout(300_000);

/** A ResourceSet deploying the newest 1.x tag into the cluster `prod`. */
function clusterAutomation(registryHost: string) {
  return `
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: { name: app-tags, namespace: team-a }
spec:
  type: OCIArtifactTag
  url: oci://${registryHost}/acme/podinfo
  filter: { semver: '>=1.0.0 <2.0.0', limit: 1 }
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata:
  name: app
  namespace: team-a
  # The versions view reads the pods carrying this label to say what runs.
  labels: { backstage.io/kubernetes-id: podinfo }
spec:
  inputsFrom:
    - kind: ResourceSetInputProvider
      name: app-tags
  resources:
    - apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: podinfo
        namespace: team-a
        labels: { backstage.io/kubernetes-id: podinfo }
      spec:
        selector: { matchLabels: { app: podinfo } }
        template:
          metadata: { labels: { app: podinfo, backstage.io/kubernetes-id: podinfo } }
          spec:
            containers:
              - name: app
                image: "${registryHost}/acme/podinfo:<< inputs.tag >>"
`;
}

/** The card of a pending promotion in the Pending promotions section. */
function promotionCard(page: Page, label: RegExp) {
  return page.getByRole('article', { name: label });
}

describe('promotions, explanations and failures in the Image updates tab, in a real browser', () => {
  let registry: TestRegistry;
  let git: TestGitServer;
  let kube: TestKubernetes;
  let browser: Browser;
  let app: RunningApp;
  let page: Page;

  beforeAll(async () => {
    await fs.mkdir(screenshots, { recursive: true });
    [registry, git, kube, browser] = await Promise.all([
      startRegistry(),
      startGitServer({ users: { writer: 's3cret-token' } }),
      startKubernetes(),
      launchBrowser(),
    ]);
    await pushImage(registry, 'acme/podinfo', ['1.0.0', '0.9.0', 'latest'], {
      seed: '1.0.0',
    });
    await pushImage(registry, 'acme/podinfo', ['1.1.0'], { seed: '1.1.0' });
    const image = `${registry.host}/acme/podinfo`;
    await createTeamRepositories(git, image, '1.0.0');
    app = await startApp({
      files: {
        'catalog.yaml': twoTeamsCatalog({ podinfoClusters: 'prod' }),
        'podinfo.yaml': `${gitAutomation(
          'podinfo-ns',
          image,
          git.url('podinfo-ns'),
        )}---${clusterAutomation(registry.host)}`,
        'shop.yaml': gitAutomation('shop-ns', image, git.url('shop-ns')),
      },
      config: {
        ...gitWriterConfig(git),
        // Clusters are opt-in, each with its policy: podinfo may write Deployments into team-a.
        kubernetes: {
          clusters: [
            {
              name: 'prod',
              allowedNamespaces: ['team-a'],
              allowedKinds: ['apps/Deployment'],
              allowedEntities: ['component:default/podinfo'],
            },
          ],
        },
      },
      topLevelConfig: {
        permissionDemo: { policy: 'restrictive' },
        kubernetes: {
          clusterLocatorMethods: [
            {
              type: 'config',
              clusters: [
                {
                  name: 'prod',
                  url: kube.url,
                  serviceAccountToken: kube.admin.token,
                  caData: kube.caData,
                },
              ],
            },
          ],
        },
      },
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await signInAsGuest(page, app.baseUrl);
    // Both automations hold 1.1.0 for an approval; the ResourceSet has applied it to prod.
    await waitForPendingPromotions(app, ['podinfo', 'shop']);
    await until(
      'the ResourceSet applied to prod',
      async () => {
        const { items } = await apiGet(
          app,
          '/entities/component/default/podinfo/versions',
        );
        return items.some(
          (row: any) =>
            row.target.cluster === 'prod' && row.deployed?.tag === '1.1.0',
        )
          ? true
          : undefined;
      },
      120_000,
    );
  }, 420_000);

  afterAll(async () => {
    await page?.close();
    await app?.stop();
    await browser?.close();
    await Promise.all([registry?.stop(), git?.stop(), kube?.stop()]);
  });

  const tab = (entity: string, query = '') =>
    `${app.baseUrl}/catalog/default/component/${entity}/image-updates${query}`;

  it('refuses a non-owner: the buttons are disabled with the reason, and the backend refuses too', async () => {
    await page.goto(tab('shop'));
    const card = promotionCard(
      page,
      /ImagePolicy\/shop-ns\/app: 1\.0\.0 → 1\.1\.0/,
    );
    await card.waitFor({ timeout: 60_000 });
    const approve = card.getByRole('button', { name: /^Approve / });
    expect(await approve.isDisabled()).toBe(true);
    await approve.hover({ force: true });
    await page
      .getByText(
        'You lack the image-automation.promotion.approve permission for component:default/shop',
      )
      .first()
      .waitFor({ timeout: 10_000 });
    await expectAccessible(page, 'promotion-refused-non-owner');

    const { items } = await apiGet(
      app,
      '/entities/component/default/shop/promotions?state=pending',
    );
    const res = await fetch(
      `${app.baseUrl}/api/image-automation/promotions/${items[0].id}/approve`,
      {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${await app.guestToken()}`,
          'Content-Type': 'application/json',
        },
        body: '{}',
      },
    );
    expect(res.status).toBe(403);
    expect(await git.readFile('shop-ns', 'main', 'deploy/app.yaml')).toContain(
      ':1.0.0 #',
    );
  });

  it('lets an owner approve through the confirm dialog, and the version is committed', async () => {
    await page.goto(tab('podinfo'));
    const card = promotionCard(
      page,
      /ImagePolicy\/podinfo-ns\/app: 1\.0\.0 → 1\.1\.0/,
    );
    await card.waitFor({ timeout: 60_000 });
    await card
      .getByText(/approval 0\/1/)
      .first()
      .waitFor();
    await expectAccessible(page, 'promotion-pending-owner');

    await card.getByRole('button', { name: /^Approve / }).click();
    const dialog = page.getByRole('dialog', { name: /^Approve / });
    await dialog
      .getByRole('textbox', { name: 'Comment' })
      .fill('looks good in staging');
    await expectAccessible(page, 'promotion-approve-dialog');
    await dialog.getByRole('button', { name: 'Approve', exact: true }).click();

    await until('the commit', async () =>
      (
        await git.readFile('podinfo-ns', 'main', 'deploy/app.yaml')
      )?.includes(':1.1.0 #')
        ? true
        : undefined,
    );
    await page
      .getByText(
        'Nothing is waiting: every target carries what its policy selected.',
      )
      .waitFor({ timeout: 60_000 });
    // The timeline's table twin records the approval and the commit.
    const timeline = page.getByRole('region', { name: 'Timeline' });
    await timeline
      .getByRole('row')
      .filter({ hasText: 'Approved' })
      .first()
      .waitFor({ timeout: 30_000 });
    await timeline
      .getByRole('row')
      .filter({ hasText: 'Applied' })
      .first()
      .waitFor({ timeout: 30_000 });
    await expectAccessible(page, 'promotion-applied-owner');
  });

  it('explains every tag in the tag explorer, and filters by verdict from the URL', async () => {
    await page.goto(
      tab(
        'podinfo',
        '?object=ImagePolicy%2Fpodinfo-ns%2Fapp&objectTab=details',
      ),
    );
    const drawer = page.getByRole('dialog');
    await drawer.getByText('1.1.0').first().waitFor({ timeout: 60_000 });
    const verdicts = drawer.getByRole('table', { name: /^Tags of / });
    await verdicts
      .getByRole('row', { name: '1.1.0' })
      .getByText('Selected')
      .first()
      .waitFor();
    await verdicts
      .getByRole('row', { name: 'latest' })
      .getByText('Not valid semver')
      .first()
      .waitFor();
    await verdicts
      .getByRole('row', { name: '0.9.0' })
      .getByText('Outside the range')
      .first()
      .waitFor();
    await expectAccessible(page, 'tag-explorer');

    await page.goto(
      tab(
        'podinfo',
        '?object=ImagePolicy%2Fpodinfo-ns%2Fapp&objectTab=details&tagFilter=rejected',
      ),
    );
    const rejected = drawer.getByRole('table', { name: /^Tags of / });
    await rejected
      .getByRole('row', { name: 'latest' })
      .waitFor({ timeout: 60_000 });
    expect(await rejected.getByRole('row', { name: '1.1.0' }).count()).toBe(0);
    expect(await rejected.getByRole('row', { name: '1.0.0' }).count()).toBe(0);
    await expectAccessible(page, 'tag-explorer-rejected');
  });

  it('previews an edited policy without saving it', async () => {
    await page.goto(
      tab(
        'podinfo',
        '?object=ImagePolicy%2Fpodinfo-ns%2Fapp&objectTab=details',
      ),
    );
    const drawer = page.getByRole('dialog');
    const range = drawer.getByRole('textbox', { name: 'Semver range' });
    await range.waitFor({ timeout: 60_000 });
    await range.fill('<1.0.0');
    await drawer.getByRole('button', { name: /^Preview/ }).click();
    await drawer
      .getByText(/1\.1\.0 → 0\.9\.0/)
      .first()
      .waitFor({ timeout: 30_000 });
    await drawer
      .getByText(/nothing is saved/i)
      .first()
      .waitFor();
    await expectAccessible(page, 'policy-preview');

    await range.fill('not a range');
    await drawer.getByRole('button', { name: /^Preview/ }).click();
    await drawer
      .getByText(/invalid/i)
      .first()
      .waitFor({ timeout: 30_000 });
    await expectAccessible(page, 'policy-preview-invalid');
    const { items } = await apiGet(
      app,
      '/entities/component/default/podinfo/objects',
    );
    const policy = items.find((o: any) => o.kind === 'ImagePolicy');
    expect(policy.spec.policy.semver.range).toBe('>=1.0.0 <2.0.0');
  });

  it('suspends an object from its row, and says who suspended it', async () => {
    await page.goto(tab('podinfo'));
    const row = objectRow(page, 'ImageRepository podinfo-ns/app');
    await row.getByText(/\bReady$/).waitFor({ timeout: 60_000 });
    await page
      .getByRole('button', { name: 'Suspend ImageRepository podinfo-ns/app' })
      .click();
    await row.getByText(/‖ Suspended$/).waitFor({ timeout: 30_000 });
    await row.getByText(/guest/).first().waitFor();
    await expectAccessible(page, 'object-suspended');
    await page
      .getByRole('button', { name: 'Resume ImageRepository podinfo-ns/app' })
      .click();
    await row.getByText(/\bReady$/).waitFor({ timeout: 30_000 });
  });

  it('says which cluster cannot be reached, and still shows the other targets', async () => {
    await kube.stopApiServer();
    await page.goto(tab('podinfo'));
    const versions = page.getByRole('table', {
      name: `Versions of ${registry.host}/acme/podinfo`,
    });
    await versions.waitFor({ timeout: 60_000 });
    const prod = versions.getByRole('row', { name: /Cluster prod/ });
    await prod
      .getByText(/Running pods unknown: cluster 'prod' could not be read/)
      .waitFor({ timeout: 60_000 });
    await versions
      .getByRole('row', {
        name: /Git ImageUpdateAutomation\/podinfo-ns\/fleet/,
      })
      .waitFor();
    await page
      .getByRole('region', { name: 'Summary' })
      .getByRole('group', { name: 'Unreadable clusters' })
      .getByText('1 cluster could not be read: prod')
      .waitFor();
    await expectAccessible(page, 'cluster-unreachable');
  });
});
