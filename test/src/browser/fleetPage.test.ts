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
import { RunningApp, startApp } from './startApp';
import { apiGet, expectAccessible, screenshots, until } from './tabDriver';
import {
  createTeamRepositories,
  gitAutomation,
  gitWriterConfig,
  twoTeamsCatalog,
  waitForPendingPromotions,
} from './twoTeams';

// The fleet page (`/image-automation`) in the real app: the real backend under the demo's
// restrictive permission policy (owners only may approve), a real registry and Git server. The
// guest user owns `podinfo` and does not own `shop`; both hold a promotion for an approval, and
// `shop` also has an ImageRepository of a repository the registry does not have.
jest.setTimeout(300_000);

const GUEST = 'user:development/guest';
const TEAM_SHOP = 'group:default/team-shop';

/** An ImageRepository of a repository the registry does not have: its scans fail. */
const missingRepository = (registryHost: string) => `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: missing, namespace: shop-ns }
spec: { image: ${registryHost}/acme/does-not-exist, interval: 1h }
`;

const PODINFO_PROMOTION =
  'ImagePolicy/podinfo-ns/app: 1.0.0 → 1.1.0 for ImageUpdateAutomation podinfo-ns/fleet';
const MISSING = 'ImageRepository shop-ns/missing';

describe('the fleet page in a real browser', () => {
  let registry: TestRegistry;
  let git: TestGitServer;
  let browser: Browser;
  let app: RunningApp;
  let page: Page;
  /** The state the failing ImageRepository is listed in, as the backend says. */
  let missingHealth: string;

  beforeAll(async () => {
    await fs.mkdir(screenshots, { recursive: true });
    [registry, git, browser] = await Promise.all([
      startRegistry(),
      startGitServer({ users: { writer: 's3cret-token' } }),
      launchBrowser(),
    ]);
    await pushImage(registry, 'acme/podinfo', ['1.0.0'], { seed: '1.0.0' });
    await pushImage(registry, 'acme/podinfo', ['1.1.0'], { seed: '1.1.0' });
    const image = `${registry.host}/acme/podinfo`;
    await createTeamRepositories(git, image, '1.0.0');
    app = await startApp({
      files: {
        'catalog.yaml': twoTeamsCatalog(),
        'podinfo.yaml': gitAutomation(
          'podinfo-ns',
          image,
          git.url('podinfo-ns'),
        ),
        'shop.yaml': `${gitAutomation(
          'shop-ns',
          image,
          git.url('shop-ns'),
        )}---${missingRepository(registry.host)}`,
      },
      config: gitWriterConfig(git),
      topLevelConfig: { permissionDemo: { policy: 'restrictive' } },
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await signInAsGuest(page, app.baseUrl);
    // Both automations hold 1.1.0 for an approval; the missing repository's scan has failed.
    await waitForPendingPromotions(app, ['podinfo', 'shop']);
    missingHealth = await until(
      'the failing ImageRepository in the fleet',
      async () => {
        const { failing } = await apiGet(app, '/fleet');
        return failing.find(
          (o: any) => o.id === 'ImageRepository/shop-ns/missing',
        )?.health;
      },
      120_000,
    );
  }, 420_000);

  afterAll(async () => {
    await page?.close();
    await app?.stop();
    await browser?.close();
    await Promise.all([registry?.stop(), git?.stop()]);
  });

  const fleet = (query = '') => `${app.baseUrl}/image-automation${query}`;
  const table = (name: string) => page.getByRole('table', { name });
  const promotionsTable = () => table('Pending promotions');
  const failingTable = () => table('Failing automations');
  /** The query string the page is at. */
  const search = () => new URL(page.url()).search;

  /** Picks `option` in the filter Select labelled `label` (Owner, Kind, State). */
  async function choose(label: 'Owner' | 'Kind' | 'State', option: string) {
    await page.getByRole('button', { name: new RegExp(`${label}$`) }).click();
    await page.getByRole('option', { name: option, exact: true }).click();
  }

  it('is where the navigation item leads, and lists what needs the user', async () => {
    await page.goto(`${app.baseUrl}/catalog`);
    const nav = page.getByRole('link', { name: /Image automation/ });
    await nav.waitFor({ timeout: 60_000 });
    await nav.click();
    await page.waitForURL(url => url.pathname === '/image-automation');

    const promotions = promotionsTable();
    await promotions.waitFor({ timeout: 60_000 });
    await page
      .getByRole('heading', { name: 'Pending promotions (1)' })
      .waitFor();
    const podinfo = promotions
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: 'component:podinfo' }) });
    await podinfo.getByText('1.0.0 → 1.1.0').waitFor();
    expect(
      await podinfo
        .getByRole('button', { name: `Approve ${PODINFO_PROMOTION}` })
        .isEnabled(),
    ).toBe(true);

    const failing = failingTable();
    const missing = failing.getByRole('row').filter({ hasText: MISSING });
    await missing.waitFor();
    await missing.getByText(missingHealth, { exact: true }).waitFor();
    await missing
      .getByText(/does-not-exist/)
      .first()
      .waitFor();
    expect(
      await missing.getByRole('link', { name: 'component:shop' }).isVisible(),
    ).toBe(true);
    await expectAccessible(page, 'fleet-page');
  });

  it("does not list a promotion the user may not act on, though the entity's tab shows it", async () => {
    // The shop promotion is open, but only team-shop may approve, reject or promote it.
    const { items } = await apiGet(
      app,
      '/entities/component/default/shop/promotions?state=pending',
    );
    expect(items).toHaveLength(1);
    expect(items[0].actions.approve.allowed).toBe(false);
    expect(items[0].actions.promoteNow.allowed).toBe(false);

    await page.goto(fleet());
    const promotions = promotionsTable();
    await promotions
      .getByRole('link', { name: 'component:podinfo' })
      .waitFor({ timeout: 60_000 });
    expect(
      await promotions.getByRole('link', { name: 'component:shop' }).count(),
    ).toBe(0);
    expect(
      await promotions.getByText(/ImagePolicy\/shop-ns\/app/).count(),
    ).toBe(0);
    // The shop entity is still listed, for its failing repository.
    expect(
      await failingTable()
        .getByRole('link', { name: 'component:shop' })
        .count(),
    ).toBe(1);
  });

  it('narrows the list by owner, kind and state, keeping the filters in the URL', async () => {
    await page.goto(fleet());
    await promotionsTable().waitFor({ timeout: 60_000 });

    await choose('Owner', 'team-shop');
    await until('the owner in the URL', async () =>
      search() === `?owner=${encodeURIComponent(TEAM_SHOP)}` ? true : undefined,
    );
    await page
      .getByText('No pending promotions you may act on.')
      .waitFor({ timeout: 30_000 });
    expect(await promotionsTable().count()).toBe(0);
    await failingTable()
      .getByRole('row')
      .filter({ hasText: MISSING })
      .waitFor();
    await expectAccessible(page, 'fleet-owner-team-shop');

    await choose('Owner', 'Any owner');
    await until('no owner in the URL', async () =>
      search() === '' ? true : undefined,
    );
    await choose('Kind', 'ImagePolicy');
    await until('the kind in the URL', async () =>
      search() === '?kind=ImagePolicy' ? true : undefined,
    );
    await page
      .getByText('No failing automations.')
      .waitFor({ timeout: 30_000 });
    expect(await failingTable().count()).toBe(0);
    await promotionsTable()
      .getByRole('link', { name: 'component:podinfo' })
      .waitFor();
    await expectAccessible(page, 'fleet-kind-imagepolicy');

    await choose('Kind', 'Any kind');
    await choose('State', missingHealth);
    await until('the state in the URL', async () =>
      search() === `?state=${missingHealth}` ? true : undefined,
    );
    await page
      .getByText('No pending promotions you may act on.')
      .waitFor({ timeout: 30_000 });
    await failingTable()
      .getByRole('row')
      .filter({ hasText: MISSING })
      .waitFor();
    await expectAccessible(page, `fleet-state-${missingHealth.toLowerCase()}`);

    // A combination nothing matches offers to clear the filters.
    await choose('Owner', 'user:development/guest');
    await page
      .getByText('Nothing matches these filters.')
      .waitFor({ timeout: 30_000 });
    await expectAccessible(page, 'fleet-nothing-matches');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await until('no filter in the URL', async () =>
      search() === '' ? true : undefined,
    );
    await promotionsTable().waitFor({ timeout: 30_000 });
    await failingTable().waitFor();
  });

  it('opens a linked URL with its filters applied', async () => {
    await page.goto(fleet(`?owner=${encodeURIComponent(GUEST)}&state=pending`));
    const promotions = promotionsTable();
    await promotions
      .getByRole('link', { name: 'component:podinfo' })
      .waitFor({ timeout: 60_000 });
    await page.getByText('No failing automations.').waitFor();
    expect(await failingTable().count()).toBe(0);
    expect(
      await page.getByRole('button', { name: /Owner$/ }).textContent(),
    ).toContain('user:development/guest');
    expect(
      await page.getByRole('button', { name: /State$/ }).textContent(),
    ).toContain('pending');
    await expectAccessible(page, 'fleet-linked-owner-pending');

    await page.goto(fleet('?kind=ImageRepository'));
    await failingTable()
      .getByRole('row')
      .filter({ hasText: MISSING })
      .waitFor({ timeout: 60_000 });
    await page.getByText('No pending promotions you may act on.').waitFor();
    expect(
      await page.getByRole('button', { name: /Kind$/ }).textContent(),
    ).toContain('ImageRepository');
    await expectAccessible(page, 'fleet-linked-kind-imagerepository');
  });
});
