import request from 'supertest';
import { mockCredentials } from '@backstage/backend-test-utils';
import { pushImage, startRegistry, TestRegistry } from '../../testbed';
import { eventually, startBackend } from './backendHarness';

jest.setTimeout(120_000);

// Issue #14 through a real backend: the image kinds written for image.toolkit.fluxcd.io/v1beta2
// (Flux's guides before 1.0) scan and select as v1, each with a Warning event saying it was
// converted; an automation written for v1alpha1 is Stalled with what to change.

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: podinfo
  annotations:
    image-automation.io/manifests: ./podinfo.yaml
spec: { type: service, lifecycle: production, owner: group:default/team }
`;

function manifests(host: string) {
  return `
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: { name: podinfo, namespace: flux-system }
spec:
  image: ${host}/team/podinfo
  interval: 1h
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: { name: podinfo, namespace: flux-system }
spec:
  imageRepositoryRef: { name: podinfo }
  policy:
    semver: { range: 6.x }
---
apiVersion: image.toolkit.fluxcd.io/v1alpha1
kind: ImageUpdateAutomation
metadata: { name: flux-system, namespace: flux-system }
spec:
  checkout:
    gitRepositoryRef: { name: flux-system }
    branch: main
  interval: 1m
  update: { strategy: Setters }
  commit:
    authorName: fluxcdbot
    authorEmail: fluxcdbot@users.noreply.github.com
`;
}

const user = mockCredentials.user.header();

describe('older Flux manifests through the backend', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
    await pushImage(registry, 'team/podinfo', ['6.0.0', '6.1.0', '5.9.0']);
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('a v1beta2 ImageRepository and ImagePolicy reconcile Ready as v1 with a Warning event; v1alpha1 is Stalled with the fix', async () => {
    const backend = await startBackend({
      files: {
        'catalog.yaml': catalog,
        'podinfo.yaml': manifests(registry.host),
      },
    });
    try {
      const objectsOf = async () => {
        const res = await request(backend.server)
          .get(
            '/api/image-automation/entities/component/default/podinfo/objects',
          )
          .set('Authorization', user);
        expect(res.status).toBe(200);
        return res.body.items as any[];
      };
      await eventually(async () => {
        await backend.sync();
        return (await objectsOf()).length === 3 ? true : undefined;
      });
      await backend.reconcile();
      // The policy may run before the repository's first scan: reconcile until it has selected.
      await eventually(async () => {
        await backend.reconcile();
        const policy = (await objectsOf()).find(o => o.kind === 'ImagePolicy');
        return policy?.status.latestRef ? true : undefined;
      });

      const byKind = Object.fromEntries(
        (await objectsOf()).map(o => [o.kind, o]),
      );
      const condition = (o: any, type: string) => {
        const c = o.status.conditions.find((x: any) => x.type === type);
        return c && { status: c.status, reason: c.reason, message: c.message };
      };
      expect(byKind.ImageRepository.apiVersion).toBe(
        'image.toolkit.fluxcd.io/v1',
      );
      expect(byKind.ImagePolicy.apiVersion).toBe('image.toolkit.fluxcd.io/v1');
      expect(condition(byKind.ImageRepository, 'Ready')).toEqual({
        status: 'True',
        reason: 'Succeeded',
        message: expect.stringMatching(
          /^successful scan: found 3 tags with checksum \d+$/,
        ),
      });
      expect(condition(byKind.ImagePolicy, 'Ready')).toEqual({
        status: 'True',
        reason: 'Succeeded',
        message: `Latest image tag for ${registry.host}/team/podinfo resolved to 6.1.0`,
      });
      expect(condition(byKind.ImageUpdateAutomation, 'Stalled')).toEqual({
        status: 'True',
        reason: 'UnsupportedAPIVersion',
        message:
          'ImageUpdateAutomation image.toolkit.fluxcd.io/v1alpha1 is not supported (Flux no longer serves v1alpha1): ' +
          'set apiVersion: image.toolkit.fluxcd.io/v1; ' +
          'move spec.checkout.gitRepositoryRef.name to spec.sourceRef.name, with spec.sourceRef.kind: GitRepository; ' +
          'move spec.checkout.branch to spec.git.checkout.ref.branch; ' +
          'move spec.commit.authorName to spec.git.commit.author.name; ' +
          'move spec.commit.authorEmail to spec.git.commit.author.email',
      });

      for (const kind of ['ImageRepository', 'ImagePolicy']) {
        const events = await request(backend.server)
          .get(
            `/api/image-automation/objects/${kind}/flux-system/podinfo/events`,
          )
          .set('Authorization', user);
        expect(events.status).toBe(200);
        const converted = events.body.items.filter(
          (e: any) => e.reason === 'APIVersionConverted',
        );
        expect(converted.map((e: any) => [e.type, e.message])).toEqual([
          [
            'Warning',
            'converted from image.toolkit.fluxcd.io/v1beta2 to v1; update apiVersion to image.toolkit.fluxcd.io/v1',
          ],
        ]);
      }
    } finally {
      await backend.stop();
    }
  });
});
