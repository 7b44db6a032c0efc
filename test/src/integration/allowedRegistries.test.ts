import request from 'supertest';
import { mockCredentials } from '@backstage/backend-test-utils';
import {
  FaultProxy,
  pushImage,
  startFaultProxy,
  startRegistry,
  TestRegistry,
} from '../../testbed';
import { eventually, startBackend } from './backendHarness';

jest.setTimeout(120_000);

// #13: catalog authors are untrusted, so which registries the backend may contact is the
// operator's choice (`imageAutomation.allowedRegistries`), and without it none may be (SSRF).

const user = mockCredentials.user.header();

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: platform
  annotations:
    image-automation.io/manifests: ./platform.yaml
spec: { type: service, lifecycle: production, owner: group:default/team }
`;

function manifests(host: string) {
  return `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: app, namespace: flux-system }
spec:
  image: ${host}/team/app
  interval: 1h
  timeout: 10s
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: { name: app, namespace: flux-system }
spec:
  type: OCIArtifactTag
  url: oci://${host}/team/app
  filter:
    includeTag: latest
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: { name: static, namespace: flux-system }
spec:
  type: Static
  defaultValues: { env: production }
`;
}

describe('imageAutomation.allowedRegistries (#13)', () => {
  let registry: TestRegistry;
  // In front of the registry: every request that reaches it is recorded.
  let proxy: FaultProxy;
  beforeAll(async () => {
    registry = await startRegistry();
    await pushImage(registry, 'team/app', ['1.0.0', 'latest']);
    proxy = await startFaultProxy(registry.url);
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  async function reconciled(config: Record<string, unknown>) {
    const backend = await startBackend({
      files: {
        'catalog.yaml': catalog,
        'platform.yaml': manifests(proxy.host),
      },
      config,
    });
    const get = async (kind: string, name: string) => {
      const res = await request(backend.server)
        .get(`/api/image-automation/objects/${kind}/flux-system/${name}`)
        .set('Authorization', user);
      expect(res.status).toBe(200);
      return res.body;
    };
    try {
      await eventually(async () => {
        await backend.sync();
        const res = await request(backend.server)
          .get(
            '/api/image-automation/entities/component/default/platform/objects',
          )
          .set('Authorization', user);
        return res.body.items?.length === 3 ? true : undefined;
      });
      await backend.reconcile();
      return {
        repository: await get('ImageRepository', 'app'),
        provider: await get('ResourceSetInputProvider', 'app'),
        neighbour: await get('ResourceSetInputProvider', 'static'),
      };
    } finally {
      await backend.stop();
    }
  }

  const condition = (o: any, type: string) =>
    o.status.conditions?.find((c: any) => c.type === type);

  it.each([
    ['absent', { allowedRegistries: undefined }],
    ['empty', { allowedRegistries: [] }],
  ])(
    'contacts no registry when the key is %s: the objects are Stalled naming the host and the key',
    async (_, config) => {
      proxy.clear();
      const { repository, provider, neighbour } = await reconciled(config);

      const message = `registry host ${proxy.host} is not in imageAutomation.allowedRegistries, the registry hosts this backend may contact`;
      expect(condition(repository, 'Ready')).toMatchObject({
        status: 'False',
        reason: 'RegistryNotAllowed',
        message,
      });
      expect(condition(repository, 'Stalled')).toMatchObject({
        status: 'True',
        reason: 'RegistryNotAllowed',
      });
      expect(repository.status.lastScanResult).toBeUndefined();
      expect(condition(provider, 'Stalled')).toMatchObject({
        status: 'True',
        reason: 'RegistryNotAllowed',
      });
      expect(condition(provider, 'Stalled').message).toContain(message);
      expect(provider.status.exportedInputs).toBeUndefined();
      // Not one request reached the registry.
      expect(proxy.requests).toEqual([]);
      // The rest keeps working.
      expect(condition(neighbour, 'Ready')).toMatchObject({ status: 'True' });
      expect(neighbour.status.exportedInputs).toEqual([
        expect.objectContaining({ env: 'production' }),
      ]);
    },
  );

  it.each([
    ['the host without its port', ['127.0.0.1']],
    ["'*'", ['*']],
  ])(
    'scans when the key allows the registry (%s)',
    async (_, allowedRegistries) => {
      proxy.clear();
      const { repository, provider } = await reconciled({ allowedRegistries });

      expect(condition(repository, 'Ready')).toMatchObject({
        status: 'True',
        reason: 'Succeeded',
      });
      expect(repository.status.lastScanResult.tagCount).toBe(2);
      expect(condition(provider, 'Ready')).toMatchObject({ status: 'True' });
      expect(provider.status.exportedInputs).toEqual([
        expect.objectContaining({ tag: 'latest' }),
      ]);
      expect(proxy.requests.length).toBeGreaterThan(0);
    },
  );
});
