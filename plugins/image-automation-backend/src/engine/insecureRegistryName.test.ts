import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { ObjectStatus } from '@imageops/backstage-plugin-image-automation-common';
import {
  pushImage,
  startRegistry,
  TestRegistry,
  loopbackResolver,
} from '@internal/image-automation-test/testbed';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { RegistryClient } from '../registry';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabaseScanStore } from '../store/DatabaseScanStore';
import { ImagePolicyReconciler } from './ImagePolicyReconciler';
import { ImageRepositoryReconciler } from './ImageRepositoryReconciler';

jest.setTimeout(60_000);

// `spec.insecure` of an ImageRepository: plain HTTP to a registry that is not on loopback (loopback
// hosts are spoken to over plain HTTP whatever it says, as go-containerregistry does), for the scan
// and for the digest an ImagePolicy reflects. The registry is the real one on 127.0.0.1, reached as
// `registry.test` through a test-only resolver.

const ENTITY = 'component:default/app';

/** Test-only resolver: registry.test is this machine; every other name is unknown. */
const lookup = loopbackResolver(['registry.test']);

describe('spec.insecure with a registry that is not on loopback', () => {
  let registry: TestRegistry;
  let digest: string;
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });
  beforeAll(async () => {
    registry = await startRegistry();
    digest = (await pushImage(registry, 'team/app', ['1.0.0'])).digest;
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('scans and reflects digests over plain HTTP only when the repository says insecure', async () => {
    const knex = await databases.init('SQLITE_3');
    const objects = await DatabaseObjectStore.create({ knex });
    const scans = await DatabaseScanStore.create({
      knex,
      skipMigrations: true,
    });
    const registryClient = new RegistryClient({
      lookup,
      retries: { attempts: 1 },
    });
    const credentials = NamedCredentials.fromConfig(new ConfigReader({}));
    const repositories = new ImageRepositoryReconciler({
      objects,
      scans,
      registry: registryClient,
      credentials,
      logger: mockServices.logger.mock(),
    });
    const policies = new ImagePolicyReconciler({
      objects,
      scans,
      registry: registryClient,
      credentials,
    });
    const image = `registry.test:${registry.host.split(':')[1]}/team/app`;
    const manifest = (
      kind: string,
      name: string,
      spec: Record<string, unknown>,
    ) => ({
      manifest: {
        apiVersion: 'image.toolkit.fluxcd.io/v1',
        kind,
        metadata: { name, namespace: 'apps' },
        spec,
      },
      source: { type: 'config' as const, location: 'file:///app.yaml' },
      entityRef: ENTITY,
    });
    await objects.syncSource('s', [
      manifest('ImageRepository', 'plain', {
        image,
        interval: '5m',
        insecure: true,
      }),
      manifest('ImageRepository', 'tls', { image, interval: '5m' }),
      manifest('ImagePolicy', 'plain', {
        imageRepositoryRef: { name: 'plain' },
        policy: { semver: { range: '1.x' } },
        digestReflectionPolicy: 'Always',
        interval: '10m',
      }),
    ]);
    const ready = (status: ObjectStatus) =>
      status.conditions?.find(c => c.type === 'Ready');

    // The repositories' runs, stored as the engine stores them (the policy reads the status).
    const now = new Date();
    const claimed = await objects.claimDue({
      owner: 'test',
      now,
      limit: 10,
      leaseMs: 60_000,
    });
    const results: Record<string, ObjectStatus> = {};
    for (const object of claimed.filter(o => o.kind === 'ImageRepository')) {
      const result = await repositories.reconcile(object, now);
      results[object.name] = result.status;
      await objects.completeRun(object.id, 'test', {
        status: result.status,
        nextRunAt: now,
        ranAt: now,
      });
    }
    expect(ready(results.plain)).toMatchObject({
      status: 'True',
      message: expect.stringMatching(/^successful scan: found 1 tags/),
    });
    // Without insecure: HTTPS, which the plain-HTTP registry cannot speak.
    expect(ready(results.tls)).toMatchObject({ status: 'False' });

    const policy = await policies.reconcile(
      (await objects.get('ImagePolicy/apps/plain'))!,
      now,
    );
    expect(policy.status.latestRef).toEqual({
      name: image,
      tag: '1.0.0',
      digest,
    });
  });
});
