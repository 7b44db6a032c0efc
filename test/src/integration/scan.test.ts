import request from 'supertest';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { pushImage, startRegistry, TestRegistry } from '../../testbed';
import { eventually, startBackend } from './backendHarness';

jest.setTimeout(120_000);

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: podinfo
  annotations:
    image-automation.io/manifests: ./podinfo.yaml
spec: { type: service, lifecycle: production, owner: group:default/team }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: broken
  annotations:
    image-automation.io/manifests: ./broken.yaml, ./missing.yaml
spec: { type: service, lifecycle: production, owner: group:default/team }
`;

function podinfoManifests(host: string) {
  return `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: podinfo, namespace: flux-system }
spec:
  image: ${host}/team/podinfo
  interval: 1h
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: { name: podinfo, namespace: flux-system }
spec:
  imageRepositoryRef: { name: podinfo }
  policy:
    semver: { range: 6.x }
`;
}

// An unreachable registry (nothing listens on port 1) and a typo in a field name.
const brokenManifests = `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: unreachable, namespace: flux-system }
spec:
  image: 127.0.0.1:1/team/nothing
  interval: 1h
  timeout: 2s
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: typo, namespace: flux-system }
spec:
  image: ${'ghcr.io/acme/app'}
  intervall: 1h
`;

const user = mockCredentials.user.header();

describe('scanning a real registry through the backend', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
    await pushImage(registry, 'team/podinfo', [
      '6.0.0',
      '6.1.0',
      '5.9.0',
      '7.0.0-rc.1',
      'latest',
    ]);
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('selects the newest tag in range, then the newer one pushed later; bad objects do not stop it', async () => {
    const backend = await startBackend({
      files: {
        'catalog.yaml': catalog,
        'podinfo.yaml': podinfoManifests(registry.host),
        'broken.yaml': brokenManifests,
      },
    });
    try {
      const objectsOf = async (entity: string) => {
        const res = await request(backend.server)
          .get(
            `/api/image-automation/entities/component/default/${entity}/objects`,
          )
          .set('Authorization', user);
        expect(res.status).toBe(200);
        return res.body.items as any[];
      };
      // The catalog processes the entities in the background; sync until they are there.
      await eventually(async () => {
        await backend.sync();
        return (await objectsOf('podinfo')).length === 2 &&
          (await objectsOf('broken')).length === 3
          ? true
          : undefined;
      });
      await backend.reconcile();

      const [policy, repository] = await objectsOf('podinfo');
      expect(policy.kind).toBe('ImagePolicy');
      expect(policy.status.latestRef).toEqual({
        name: `${registry.host}/team/podinfo`,
        tag: '6.1.0',
      });
      expect(policy.status.conditions).toContainEqual(
        expect.objectContaining({
          type: 'Ready',
          status: 'True',
          message: `Latest image tag for ${registry.host}/team/podinfo resolved to 6.1.0`,
        }),
      );
      expect(repository.status.canonicalImageName).toBe(
        `${registry.host}/team/podinfo`,
      );
      expect(repository.status.lastScanResult.tagCount).toBe(5);
      expect(repository.status.lastScanResult.latestTags).toEqual([
        'latest',
        '7.0.0-rc.1',
        '6.1.0',
        '6.0.0',
        '5.9.0',
      ]);

      // Why each tag was or was not selected, and a preview of an unsaved policy.
      const explained = await request(backend.server)
        .get(
          '/api/image-automation/objects/ImagePolicy/flux-system/podinfo/explain',
        )
        .set('Authorization', user);
      expect(explained.body.selection).toEqual({ ok: true, tag: '6.1.0' });
      expect(
        explained.body.verdicts.map((v: any) => [v.tag, v.verdict]),
      ).toEqual([
        ['latest', 'not-semver'],
        ['7.0.0-rc.1', 'out-of-range'],
        ['6.1.0', 'selected'],
        ['6.0.0', 'eligible'],
        ['5.9.0', 'out-of-range'],
      ]);
      const preview = await request(backend.server)
        .post('/api/image-automation/policy-preview')
        .set('Authorization', user)
        .send({
          namespace: 'flux-system',
          spec: {
            imageRepositoryRef: { name: 'podinfo' },
            policy: { semver: { range: '<6.0.0' } },
          },
        });
      expect(preview.body.selection).toEqual({ ok: true, tag: '5.9.0' });
      const invalid = await request(backend.server)
        .post('/api/image-automation/policy-preview')
        .set('Authorization', user)
        .send({
          namespace: 'flux-system',
          spec: {
            imageRepositoryRef: { name: 'podinfo' },
            policy: { numerical: { order: 'up' } },
          },
        });
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.message).toBe(
        'ImagePolicy "preview" is invalid: spec.policy.numerical.order: Unsupported value: "up": supported values: "asc", "desc"',
      );

      const broken = await objectsOf('broken');
      const byName = Object.fromEntries(broken.map(o => [o.name, o]));
      const ready = (o: any) =>
        o.status.conditions.find((c: any) => c.type === 'Ready');
      expect(ready(byName.typo)).toMatchObject({
        status: 'False',
        reason: 'InvalidManifest',
        message:
          'ImageRepository "typo" is invalid: spec.interval: Required value, spec.intervall: unknown field',
      });
      expect(byName.typo.status.conditions).toContainEqual(
        expect.objectContaining({ type: 'Stalled', status: 'True' }),
      );
      expect(ready(byName.unreachable)).toMatchObject({
        status: 'False',
        reason: 'ReadOperationFailed',
      });
      expect(ready(byName.unreachable).message).toMatch(
        /^scan failed: .*127\.0\.0\.1:1.*(ECONNREFUSED|refused)/i,
      );
      const missing = broken.find(o => o.kind === 'ManifestError');
      expect(ready(missing).message).toMatch(
        /failed to read file:\/\/.*missing\.yaml: .*(ENOENT|no such file)/,
      );

      const failedScans = await request(backend.server)
        .get(
          '/api/image-automation/objects/ImageRepository/flux-system/unreachable/scans',
        )
        .set('Authorization', user);
      expect(failedScans.body.items[0]).toMatchObject({
        outcome: 'failure',
        error: ready(byName.unreachable).message,
      });
      const warnings = await request(backend.server)
        .get(
          '/api/image-automation/objects/ImageRepository/flux-system/unreachable/events',
        )
        .set('Authorization', user);
      expect(warnings.body.items).toEqual([
        expect.objectContaining({
          type: 'Warning',
          reason: 'ReadOperationFailed',
          message: ready(byName.unreachable).message,
        }),
      ]);

      // A new tag: the next scan (requested now) finds it and the policy moves on at once.
      await pushImage(registry, 'team/podinfo', ['6.2.0'], {
        seed: 'second build',
      });
      const requested = await request(backend.server)
        .post(
          '/api/image-automation/objects/ImageRepository/flux-system/podinfo/reconcile',
        )
        .set('Authorization', user);
      expect(requested.status).toBe(200);
      expect(requested.body.reconcileRequestedBy).toBe('user:default/mock');
      await backend.reconcile();

      const [policyAfter] = await objectsOf('podinfo');
      expect(policyAfter.status.latestRef.tag).toBe('6.2.0');
      expect(policyAfter.status.observedPreviousRef.tag).toBe('6.1.0');
      expect(policyAfter.status.conditions[0].message).toBe(
        `Latest image tag for ${registry.host}/team/podinfo resolved to 6.2.0 (previously ${registry.host}/team/podinfo:6.1.0)`,
      );
      const events = await request(backend.server)
        .get(
          '/api/image-automation/objects/ImagePolicy/flux-system/podinfo/events',
        )
        .set('Authorization', user);
      // (A Warning "no tags in database" may come first when the policy ran before its
      // repository's first scan finished, as in Flux.)
      const normal = events.body.items
        .filter((e: any) => e.type === 'Normal')
        .map((e: any) => e.message);
      expect(normal).toEqual([
        policyAfter.status.conditions[0].message,
        `Latest image tag for ${registry.host}/team/podinfo resolved to 6.1.0`,
      ]);
      const scans = await request(backend.server)
        .get(
          '/api/image-automation/objects/ImageRepository/flux-system/podinfo/scans',
        )
        .set('Authorization', user);
      expect(
        scans.body.items.map((s: any) => [s.outcome, s.tagsAdded]),
      ).toEqual([
        ['success', ['6.2.0']],
        ['success', ['latest', '7.0.0-rc.1', '6.1.0', '6.0.0', '5.9.0']],
      ]);
    } finally {
      await backend.stop();
    }
  });

  it('suspends and resumes, recording the actor, and refuses without permission', async () => {
    const backend = await startBackend({
      files: {
        'catalog.yaml': catalog,
        'podinfo.yaml': podinfoManifests(registry.host),
        'broken.yaml': '',
      },
    });
    const denied = await startBackend({
      files: {
        'catalog.yaml': catalog,
        'podinfo.yaml': podinfoManifests(registry.host),
        'broken.yaml': '',
      },
      // Our permissions are denied; the catalog's are not, so the entities are still read.
      features: [
        mockServices.permissions.mock({
          authorize: async requests =>
            requests.map(r => ({
              result: r.permission.name.startsWith('image-automation.')
                ? AuthorizeResult.DENY
                : AuthorizeResult.ALLOW,
            })),
          authorizeConditional: async requests =>
            requests.map(() => ({ result: AuthorizeResult.ALLOW })),
        }).factory,
      ],
    });
    try {
      const path =
        '/api/image-automation/objects/ImageRepository/flux-system/podinfo';
      await eventually(async () => {
        await backend.sync();
        return (
          await request(backend.server).get(path).set('Authorization', user)
        ).status === 200
          ? true
          : undefined;
      });
      const suspended = await request(backend.server)
        .post(`${path}/suspend`)
        .set('Authorization', user);
      expect(suspended.status).toBe(200);
      expect(suspended.body).toMatchObject({
        suspended: true,
        suspendedBy: 'user:default/mock',
      });
      expect(suspended.body.actions.suspend).toEqual({
        allowed: false,
        reason: 'Already suspended',
      });
      expect(
        (
          await request(backend.server)
            .post(`${path}/suspend`)
            .set('Authorization', user)
        ).status,
      ).toBe(409);

      // Suspended: a pass does not scan it.
      await backend.reconcile();
      const noScans = await request(backend.server)
        .get(`${path}/scans`)
        .set('Authorization', user);
      expect(noScans.body.items).toEqual([]);

      const resumed = await request(backend.server)
        .post(`${path}/resume`)
        .set('Authorization', user);
      expect(resumed.body).toMatchObject({
        suspended: false,
        suspendedBy: 'user:default/mock',
      });
      await backend.reconcile();
      const scans = await request(backend.server)
        .get(`${path}/scans`)
        .set('Authorization', user);
      expect(scans.body.items).toHaveLength(1);

      const anonymous = await request(backend.server)
        .post(`${path}/suspend`)
        .set('Authorization', mockCredentials.user.invalidHeader());
      expect(anonymous.status).toBe(401);

      const list = await request(denied.server)
        .get('/api/image-automation/entities/component/default/podinfo/objects')
        .set('Authorization', user);
      expect(list.status).toBe(403);
      const refused = await eventually(async () => {
        await denied.sync();
        const res = await request(denied.server)
          .post(`${path}/reconcile`)
          .set('Authorization', user);
        return res.status === 404 ? undefined : res;
      });
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe(
        'you may not read the image automation of component:default/podinfo (image-automation.object.read)',
      );
    } finally {
      await backend.stop();
      await denied.stop();
    }
  });
});
