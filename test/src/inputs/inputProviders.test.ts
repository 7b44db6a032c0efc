import request from 'supertest';
import { mockCredentials } from '@backstage/backend-test-utils';
import {
  deleteTag,
  MediaTypes,
  pushImage,
  startRegistry,
  TestRegistry,
} from '../../testbed';
import { eventually, startBackend } from '../integration/backendHarness';

jest.setTimeout(120_000);

const user = mockCredentials.user.header();

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: platform
  annotations:
    image-automation.io/manifests: ./providers.yaml
spec: { type: service, lifecycle: production, owner: group:default/team }
`;

function providers(host: string) {
  return `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: podinfo-chart, namespace: flux-system }
spec:
  image: ${host}/charts/podinfo
  interval: 1h
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: { name: podinfo-chart, namespace: flux-system }
spec:
  type: OCIArtifactTag
  url: oci://${host}/charts/podinfo
  filter:
    semver: '>=6.0.0'
    limit: 1
  defaultValues:
    env: production
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: { name: app-latest, namespace: flux-system }
spec:
  type: OCIArtifactTag
  url: oci://${host}/team/app
  filter:
    includeTag: latest
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: { name: redis, namespace: flux-system }
spec:
  type: OCIArtifactTag
  url: oci://${host}/library/redis
  filter:
    semver: '>0.0.0-0'
    includeTag: '.*-alpine$'
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata:
  name: guarded
  namespace: flux-system
  annotations:
    image-automation.io/downgrade-guard: enabled
spec:
  type: OCIArtifactTag
  url: oci://${host}/charts/guarded
  filter:
    semver: '>=1.0.0'
    limit: 1
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: { name: acr, namespace: flux-system }
spec:
  type: ACRArtifactTag
  url: oci://example.azurecr.io/charts/podinfo
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: { name: bad-schedule, namespace: flux-system }
spec:
  type: Static
  schedule:
    - cron: 'every day at nine'
`;
}

describe('ResourceSetInputProviders against a real registry through the backend', () => {
  let registry: TestRegistry;
  const digests: Record<string, string> = {};
  beforeAll(async () => {
    registry = await startRegistry();
    const chart = { configMediaType: MediaTypes.helmConfig };
    digests.chart6 = (
      await pushImage(registry, 'charts/podinfo', ['5.9.0', '6.0.0', '6.0.4'], {
        ...chart,
        seed: 'chart 6.0',
      })
    ).digest;
    digests.appV1 = (
      await pushImage(registry, 'team/app', ['latest', '1.0.0'], {
        seed: 'app v1',
      })
    ).digest;
    digests.redis741 = (
      await pushImage(registry, 'library/redis', ['7.4.1-alpine'], {
        seed: 'redis 7.4.1',
      })
    ).digest;
    digests.redis742 = (
      await pushImage(
        registry,
        'library/redis',
        ['7.4.2-alpine', '7.4.2', 'latest'],
        { seed: 'redis 7.4.2' },
      )
    ).digest;
    digests.guarded = (
      await pushImage(registry, 'charts/guarded', ['1.0.0', '1.1.0'], chart)
    ).digest;
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('exports tags and digests, follows new pushes, freezes when suspended, guards against downgrades', async () => {
    const backend = await startBackend({
      files: {
        'catalog.yaml': catalog,
        'providers.yaml': providers(registry.host),
      },
    });
    try {
      const get = async (name: string, kind = 'ResourceSetInputProvider') => {
        const res = await request(backend.server)
          .get(`/api/image-automation/objects/${kind}/flux-system/${name}`)
          .set('Authorization', user);
        expect(res.status).toBe(200);
        return res.body;
      };
      const act = async (
        name: string,
        action: string,
        kind = 'ResourceSetInputProvider',
      ) => {
        const res = await request(backend.server)
          .post(
            `/api/image-automation/objects/${kind}/flux-system/${name}/${action}`,
          )
          .set('Authorization', user);
        expect(res.status).toBe(200);
      };
      const condition = (o: any, type: string) =>
        o.status.conditions?.find((c: any) => c.type === type);

      await eventually(async () => {
        await backend.sync();
        const res = await request(backend.server)
          .get(
            '/api/image-automation/entities/component/default/platform/objects',
          )
          .set('Authorization', user);
        return res.body.items?.length === 7 ? true : undefined;
      });
      await backend.reconcile();

      // A Helm chart artifact: the newest version in range, one HEAD for its digest, defaults merged.
      const chart = await get('podinfo-chart');
      expect(chart.status.exportedInputs).toEqual([
        {
          env: 'production',
          id: '48955639',
          tag: '6.0.4',
          digest: digests.chart6,
        },
      ]);
      expect(chart.status.lastExportedRevision).toMatch(
        /^sha256:[0-9a-f]{64}$/,
      );
      expect(condition(chart, 'Ready')).toMatchObject({
        status: 'True',
        reason: 'ReconciliationSucceeded',
      });
      expect(condition(chart, 'Ready').message).toMatch(
        /^Reconciliation finished in /,
      );

      // Digest tracking of a moving tag.
      const app = await get('app-latest');
      expect(app.status.exportedInputs).toEqual([
        { id: '147587726', tag: 'latest', digest: digests.appV1 },
      ]);

      // Pre-releases admitted by the range, narrowed to the alpine variants.
      const redis = await get('redis');
      expect(
        redis.status.exportedInputs.map((i: any) => [i.tag, i.digest]),
      ).toEqual([
        ['7.4.2-alpine', digests.redis742],
        ['7.4.1-alpine', digests.redis741],
      ]);

      const acr = await get('acr');
      expect(condition(acr, 'Stalled')).toMatchObject({
        status: 'True',
        reason: 'CloudIdentityNotGranted',
        message: expect.stringContaining(
          "provider 'azure' cannot be used: imageAutomation.cloudIdentity.azure is not configured",
        ),
      });
      const badSchedule = await get('bad-schedule');
      expect(condition(badSchedule, 'Stalled')).toMatchObject({
        status: 'True',
        reason: 'InvalidSchedule',
        message:
          "Reconciliation failed terminally due to configuration error: failed to validate schedule[0]: failed to parse cron spec 'every day at nine' with timezone 'UTC': expected exactly 5 fields, found 4: [every day at nine]",
      });

      // A new chart version: the repository's new scan revision makes the provider due at once.
      await pushImage(registry, 'charts/podinfo', ['6.1.0'], {
        configMediaType: MediaTypes.helmConfig,
        seed: 'chart 6.1',
      });
      await act('podinfo-chart', 'reconcile', 'ImageRepository');
      await backend.reconcile();
      const chartAfter = await get('podinfo-chart');
      expect(chartAfter.status.exportedInputs.map((i: any) => i.tag)).toEqual([
        '6.1.0',
      ]);
      expect(chartAfter.status.lastExportedRevision).not.toBe(
        chart.status.lastExportedRevision,
      );

      // Re-pushing `latest` with new content changes the digest and the revision.
      const appV2 = (
        await pushImage(registry, 'team/app', ['latest'], { seed: 'app v2' })
      ).digest;
      expect(appV2).not.toBe(digests.appV1);
      await act('app-latest', 'reconcile');
      await backend.reconcile();
      const appAfter = await get('app-latest');
      expect(appAfter.status.exportedInputs).toEqual([
        { id: '147587726', tag: 'latest', digest: appV2 },
      ]);
      expect(appAfter.status.lastExportedRevision).not.toBe(
        app.status.lastExportedRevision,
      );

      // Suspended: a newer chart (whose scan makes the provider due) changes nothing.
      await act('podinfo-chart', 'suspend');
      await pushImage(registry, 'charts/podinfo', ['6.2.0'], {
        configMediaType: MediaTypes.helmConfig,
        seed: 'chart 6.2',
      });
      await act('podinfo-chart', 'reconcile', 'ImageRepository');
      await backend.reconcile();
      expect(
        (await get('podinfo-chart', 'ImageRepository')).status.lastScanResult
          .latestTags,
      ).toContain('6.2.0');
      expect(
        (await get('podinfo-chart')).status.exportedInputs.map(
          (i: any) => i.tag,
        ),
      ).toEqual(['6.1.0']);
      await act('podinfo-chart', 'resume');
      await backend.reconcile();
      expect(
        (await get('podinfo-chart')).status.exportedInputs.map(
          (i: any) => i.tag,
        ),
      ).toEqual(['6.2.0']);

      // The newest tag disappears: the guard holds the inputs and says why.
      const guarded = await get('guarded');
      expect(guarded.status.exportedInputs.map((i: any) => i.tag)).toEqual([
        '1.1.0',
      ]);
      await deleteTag(registry, 'charts/guarded', '1.1.0');
      await act('guarded', 'reconcile');
      await backend.reconcile();
      const held = await get('guarded');
      expect(held.status.exportedInputs).toEqual(guarded.status.exportedInputs);
      expect(held.status.lastExportedRevision).toBe(
        guarded.status.lastExportedRevision,
      );
      expect(condition(held, 'DowngradePrevented')).toMatchObject({
        status: 'True',
        reason: 'NewestTagMissing',
        message:
          "tag '1.1.0' is no longer in the registry; the exported inputs are held instead of downgrading to '1.0.0'",
      });
      // A newer version ends the hold.
      await pushImage(registry, 'charts/guarded', ['1.2.0'], {
        configMediaType: MediaTypes.helmConfig,
        seed: 'guarded 1.2',
      });
      await act('guarded', 'reconcile');
      await backend.reconcile();
      const released = await get('guarded');
      expect(released.status.exportedInputs.map((i: any) => i.tag)).toEqual([
        '1.2.0',
      ]);
      expect(condition(released, 'DowngradePrevented')).toBeUndefined();
    } finally {
      await backend.stop();
    }
  });
});
