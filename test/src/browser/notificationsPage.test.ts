import { Browser } from 'playwright-core';
import { launchBrowser, signInAsGuest } from '../../browser/appDriver';
import { startApp } from './startApp';
import { until } from './tabDriver';

jest.setTimeout(240_000);

// The guest (the demo's sign-in) owns the service, so the guest is told of its stall.
const GUEST = 'user:development/guest';

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: broken
  annotations:
    image-automation.io/manifests: ./broken.yaml
spec: { type: service, lifecycle: production, owner: ${GUEST} }
`;

// Written for an apiVersion Flux no longer serves: Stalled UnsupportedAPIVersion.
const broken = `
apiVersion: image.toolkit.fluxcd.io/v1alpha1
kind: ImagePolicy
metadata: { name: web, namespace: flux-system }
spec:
  imageRepositoryRef: { name: web }
  policy: { semver: { range: '*' } }
`;

describe("the demo app's notifications page", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("shows the owner a stalled automation, linking to the object on the entity's tab", async () => {
    const app = await startApp({
      files: { 'catalog.yaml': catalog, 'broken.yaml': broken },
    });
    const page = await browser.newPage();
    try {
      const token = await app.guestToken();
      const identity = JSON.parse(
        Buffer.from(token.split('.')[1], 'base64url').toString(),
      ).sub;
      expect(identity).toBe(GUEST);
      const title =
        'ImagePolicy flux-system/web is stalled: UnsupportedAPIVersion';
      await until('the stalled notification', async () => {
        const res = await fetch(
          `${app.baseUrl}/api/notifications/notifications`,
          {
            headers: { Authorization: `Bearer ${token}` },
          },
        );
        const body = (await res.json()) as {
          notifications: Array<{ payload: { title: string } }>;
        };
        return body.notifications.some(n => n.payload.title === title)
          ? true
          : undefined;
      });

      await signInAsGuest(page, app.baseUrl);
      await page.goto(`${app.baseUrl}/notifications`);
      const link = page.getByRole('link', { name: title });
      await link.waitFor({ timeout: 60_000 });
      expect(await link.getAttribute('href')).toBe(
        '/catalog/default/component/broken/image-updates?object=ImagePolicy%2Fflux-system%2Fweb',
      );
      await link.click();
      await page.waitForURL(
        /\/catalog\/default\/component\/broken\/image-updates\?object=/,
        { timeout: 60_000 },
      );
      await page
        .getByText('UnsupportedAPIVersion')
        .first()
        .waitFor({ timeout: 60_000 });
    } finally {
      await page.close();
      await app.stop();
    }
  });
});
