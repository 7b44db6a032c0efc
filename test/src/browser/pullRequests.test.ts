import fs from 'node:fs/promises';
import { Browser, Page } from 'playwright-core';
import { launchBrowser, signInAsGuest } from '../../browser/appDriver';
import {
  GiteaRepository,
  GiteaUser,
  pushImage,
  startGitea,
  startRegistry,
  TestGitea,
  TestRegistry,
} from '../../testbed';
import { RunningApp, startApp } from './startApp';
import { apiGet, expectAccessible, screenshots, until } from './tabDriver';

// Pull-request mode (issue #19) as a person sees it, in a real browser: the real backend with a
// real registry and a real Gitea (v1.26, test/testbed/build-gitea.sh). The automation of `podinfo`
// (the guest's) proposes 1.1.0 in a pull request; a reviewer approves and merges it on Gitea,
// through its API as a person would. The entity tab, the automation's drawer and the fleet page
// show the pull request: its link, its state in words, and what to do next.
jest.setTimeout(300_000);

const NS = 'podinfo-ns';
const PROMOTION = /ImagePolicy\/podinfo-ns\/app: 1\.0\.0 → 1\.1\.0/;

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: podinfo
  annotations:
    image-automation.io/manifests: ./podinfo.yaml
spec: { type: service, lifecycle: production, owner: user:development/guest }
`;

/** An image, its policy, the Gitea repository and an automation in pull-request mode gated by one approval. */
function manifests(image: string, cloneUrl: string): string {
  return `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: app, namespace: ${NS} }
spec: { image: ${image}, interval: 1h }
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: { name: app, namespace: ${NS} }
spec:
  imageRepositoryRef: { name: app }
  policy: { semver: { range: '>=1.0.0 <2.0.0' } }
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: { name: deploy, namespace: ${NS} }
spec:
  interval: 1h
  url: ${cloneUrl}
  ref: { branch: main }
  secretRef: { name: gitea }
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: deploy
  namespace: ${NS}
  annotations:
    image-automation.io/pull-request: "true"
    promotion.image-automation.io/approvals: "1"
spec:
  interval: 1h
  sourceRef: { kind: GitRepository, name: deploy }
  git:
    checkout: { ref: { branch: main } }
    commit:
      author: { email: bot@example.com, name: bot }
  update: { path: ./deploy, strategy: Setters }
`;
}

describe('pull requests in the Image updates tab and the fleet page, in a real browser', () => {
  let registry: TestRegistry;
  let gitea: TestGitea;
  let reviewer: GiteaUser;
  let repo: GiteaRepository;
  let browser: Browser;
  let app: RunningApp;
  let page: Page;
  let number: number;
  let prUrl: string;

  const tab = (query = '') =>
    `${app.baseUrl}/catalog/default/component/podinfo/image-updates${query}`;
  const drawer = `?object=${encodeURIComponent(
    `ImageUpdateAutomation/${NS}/deploy`,
  )}&objectTab=details`;

  async function automationPullRequest(): Promise<any> {
    const { items } = await apiGet(
      app,
      '/entities/component/default/podinfo/objects',
    );
    return items.find((o: any) => o.kind === 'ImageUpdateAutomation')?.status
      ?.pullRequest;
  }

  async function openPromotion(): Promise<any> {
    const { items } = await apiGet(
      app,
      '/entities/component/default/podinfo/promotions',
    );
    return items.find((p: any) => p.to.tag === '1.1.0');
  }

  async function reconcileAutomation() {
    const res = await fetch(
      `${app.baseUrl}/api/image-automation/objects/ImageUpdateAutomation/${NS}/deploy/reconcile`,
      {
        method: 'POST',
        headers: { Authorization: `Bearer ${await app.guestToken()}` },
      },
    );
    if (!res.ok)
      throw new Error(`reconcile: ${res.status} ${await res.text()}`);
  }

  beforeAll(async () => {
    await fs.mkdir(screenshots, { recursive: true });
    [registry, gitea, browser] = await Promise.all([
      startRegistry(),
      startGitea(),
      launchBrowser(),
    ]);
    await pushImage(registry, 'acme/podinfo', ['1.0.0'], { seed: '1.0.0' });
    await pushImage(registry, 'acme/podinfo', ['1.1.0'], { seed: '1.1.0' });
    const image = `${registry.host}/acme/podinfo`;

    reviewer = await gitea.createUser('reviewer');
    repo = await gitea.createRepository('podinfo-deploy');
    await gitea.api(
      'PUT',
      `/repos/${repo.fullName}/collaborators/${reviewer.username}`,
      { permission: 'write' },
    );
    await gitea.api(
      'POST',
      `/repos/${repo.fullName}/contents/deploy/app.yaml`,
      {
        branch: 'main',
        message: 'add deployment',
        content: Buffer.from(
          `apiVersion: apps/v1
kind: Deployment
metadata: { name: app, namespace: default }
spec:
  template:
    spec:
      containers:
      - name: app
        image: ${image}:1.0.0 # {"$imagepolicy": "${NS}:app"}
`,
        ).toString('base64'),
      },
    );

    app = await startApp({
      files: {
        'catalog.yaml': catalog,
        'podinfo.yaml': manifests(image, repo.cloneUrl),
      },
      config: {
        credentials: {
          gitea: {
            type: 'basic',
            username: gitea.admin.username,
            password: gitea.adminToken,
            allowedEntities: ['component:default/podinfo'],
            hosts: [gitea.host],
          },
        },
        git: {
          insecureHosts: [gitea.host],
          pullRequests: [
            { host: gitea.host, type: 'gitea', reviewsApprove: true },
          ],
        },
      },
      topLevelConfig: { permissionDemo: { policy: 'restrictive' } },
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await signInAsGuest(page, app.baseUrl);

    // The approval gate waits, and the review that may give it happens in a pull request opened at once.
    const opened = await until(
      'the pull request',
      async () => {
        const pr = await automationPullRequest();
        return pr?.state === 'open' ? pr : undefined;
      },
      180_000,
    );
    number = opened.number;
    prUrl = opened.url;
    await until('the pending promotion to carry the pull request', async () => {
      const promotion = await openPromotion();
      return promotion?.state === 'pending' &&
        promotion.pullRequest?.number === number
        ? true
        : undefined;
    });
  }, 420_000);

  afterAll(async () => {
    if (app)
      await app
        .keepLog(screenshots, 'pull-requests-backend')
        .catch(() => undefined);
    await page?.close();
    await app?.stop();
    await browser?.close();
    await Promise.all([registry?.stop(), gitea?.stop()]);
  });

  it('links the pull request on a pending promotion, and sends the reviewer to Gitea; Approve stays as the backend offers it', async () => {
    await page.goto(tab());
    const card = page.getByRole('article', { name: PROMOTION });
    await card.waitFor({ timeout: 60_000 });
    const link = card.getByRole('link', {
      name: `Pull request #${number} (opens in a new tab)`,
    });
    await link.waitFor();
    expect(await link.getAttribute('href')).toBe(prUrl);
    expect(await link.getAttribute('target')).toBe('_blank');
    expect(await link.getAttribute('rel')).toContain('noopener');
    const state = card.getByRole('list', {
      name: `State of pull request #${number}`,
    });
    expect(await state.getByRole('listitem').allInnerTexts()).toEqual([
      'Open',
      'No review yet',
    ]);
    await card
      .getByText(
        `waiting for a review of pull request #${number} on ${gitea.host}`,
      )
      .waitFor();
    const review = card.getByRole('link', {
      name: new RegExp(`^Review and merge on [^ ]+: pull request #${number} `),
    });
    expect(await review.innerText()).toBe(`Review and merge on ${gitea.host}`);
    expect(await card.getByRole('button', { name: /^Approve / }).count()).toBe(
      1,
    );
    await expectAccessible(page, 'pull-request-pending-review');
  });

  it('shows the compact pull request on the fleet page row', async () => {
    await page.goto(`${app.baseUrl}/image-automation`);
    const table = page.getByRole('table', { name: 'Pending promotions' });
    const row = table.getByRole('row').filter({ hasText: '1.0.0 → 1.1.0' });
    await row.waitFor({ timeout: 60_000 });
    const link = row.getByRole('link', {
      name: `PR #${number} on ${gitea.host} (opens in a new tab)`,
    });
    expect(await link.getAttribute('href')).toBe(prUrl);
    await row.getByText('Open', { exact: true }).waitFor();
    await row.getByText('No review yet', { exact: true }).waitFor();
    const review = row.getByRole('link', {
      name: new RegExp(`^Review and merge on [^ ]+: pull request #${number} `),
    });
    expect(await review.innerText()).toBe('Review and merge');
    await expectAccessible(page, 'pull-request-fleet-row');
  });

  it('records a review requesting changes: still pending, and says who asked', async () => {
    await gitea.api(
      'POST',
      `/repos/${repo.fullName}/pulls/${number}/reviews`,
      { event: 'REQUEST_CHANGES', body: 'not yet' },
      { token: reviewer.token },
    );
    await reconcileAutomation();
    await until('the review requesting changes', async () => {
      const promotion = await openPromotion();
      return promotion?.state === 'pending' &&
        promotion.pullRequest?.changesRequestedBy?.includes(reviewer.username)
        ? true
        : undefined;
    });
    await page.goto(tab());
    const card = page.getByRole('article', { name: PROMOTION });
    await card.waitFor({ timeout: 60_000 });
    const state = card.getByRole('list', {
      name: `State of pull request #${number}`,
    });
    await state
      .getByText(`Changes requested by ${reviewer.username}`, { exact: true })
      .waitFor();
    await card
      .getByRole('link', {
        name: new RegExp(
          `^Review and merge on [^ ]+: pull request #${number} `,
        ),
      })
      .waitFor();
    await expectAccessible(page, 'pull-request-changes-requested');
  });

  it('records an approving review on Gitea: the promotion waits for the merge', async () => {
    await gitea.api(
      'POST',
      `/repos/${repo.fullName}/pulls/${number}/reviews`,
      { event: 'APPROVED', body: 'ship it' },
      { token: reviewer.token },
    );
    await reconcileAutomation();
    await until('the approved pull request', async () => {
      const promotion = await openPromotion();
      return promotion?.state === 'applying' &&
        promotion.pullRequest?.approvedBy?.includes(reviewer.username)
        ? true
        : undefined;
    });
    await page.goto(tab());
    const group = page.getByRole('region', { name: 'Waiting for merge (1)' });
    const card = group.getByRole('article', { name: PROMOTION });
    await card.waitFor({ timeout: 60_000 });
    await card
      .getByText(`Approved by ${reviewer.username}`, { exact: true })
      .waitFor();
    const merge = card.getByRole('link', {
      name: new RegExp(`^Merge on [^ ]+: pull request #${number} `),
    });
    expect(await merge.innerText()).toBe(`Merge on ${gitea.host}`);
    await expectAccessible(page, 'pull-request-approved');

    // The automation's drawer: the same pull request, the branch it proposes and the version it carries.
    await page.goto(tab(drawer));
    const section = page
      .getByRole('dialog')
      .getByRole('region', { name: 'Pull request' });
    await section.waitFor({ timeout: 60_000 });
    expect(
      await section
        .getByRole('link', {
          name: `Pull request #${number} (opens in a new tab)`,
        })
        .getAttribute('href'),
    ).toBe(prUrl);
    await section.getByText(/→ main$/).waitFor();
    await section
      .getByText(`Approved by ${reviewer.username}`, { exact: true })
      .waitFor();
    expect(
      await section
        .getByRole('list', { name: `Versions in pull request #${number}` })
        .innerText(),
    ).toContain('1.1.0');
    await expectAccessible(page, 'pull-request-automation-open');
  });

  it('shows the merge: the automation names the merge commit', async () => {
    for (let attempt = 0; ; attempt++) {
      // Gitea checks mergeability in the background after a push: 405 "try again later" until then.
      const res = await gitea.rawApi(
        'POST',
        `/repos/${repo.fullName}/pulls/${number}/merge`,
        { Do: 'merge' },
        { token: reviewer.token },
      );
      if (res.status >= 200 && res.status < 300) break;
      if (res.status !== 405 || attempt >= 75)
        throw new Error(`merge: HTTP ${res.status}: ${res.body.toString()}`);
      await new Promise(resolve => setTimeout(resolve, 200));
    }
    await reconcileAutomation();
    const merged = await until('the merged pull request', async () => {
      const pr = await automationPullRequest();
      return pr?.state === 'merged' && pr.mergeCommit ? pr : undefined;
    });
    await page.goto(tab(drawer));
    const section = page
      .getByRole('dialog')
      .getByRole('region', { name: 'Pull request' });
    await section
      .getByText(`Merged as ${merged.mergeCommit.slice(0, 7)}`, { exact: true })
      .waitFor({ timeout: 60_000 });
    await expectAccessible(page, 'pull-request-automation-merged');
  });
});
