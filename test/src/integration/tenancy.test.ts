import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { mockCredentials } from '@backstage/backend-test-utils';
import { pushImage, startRegistry, TestRegistry } from '../../testbed';
import { eventually, startBackend } from './backendHarness';

jest.setTimeout(120_000);

const user = mockCredentials.user.header();

const entity = (name: string) => `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${name}
  annotations:
    image-automation.io/manifests: ./${name}.yaml
spec: { type: service, lifecycle: production, owner: group:default/${name}-team }
`;
const catalog = ['victim', 'attacker', 'friend'].map(entity).join('---\n');

const repository = (
  namespace: string,
  name: string,
  image: string,
  extra = '',
) => `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  image: ${image}
  interval: 1h
${extra}`;

const policy = (namespace: string, name: string, repoRef: string) => `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  imageRepositoryRef: ${repoRef}
  policy:
    semver: { range: 6.x }
`;

/** The victim: its own namespace (by default), plus `shared`, granted to it and to the attacker. */
const victimManifests = (host: string) =>
  [
    repository('victim', 'app', `${host}/team/podinfo`),
    policy('victim', 'app', '{ name: app }'),
    // Shared on purpose with the namespace `friend` only.
    repository(
      'victim',
      'public',
      `${host}/team/podinfo`,
      `  accessFrom:\n    namespaceSelectors:\n      - matchLabels: { kubernetes.io/metadata.name: friend }\n`,
    ),
    `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: { name: repo, namespace: victim }
spec:
  url: http://127.0.0.1:1/victim/deploy.git
  interval: 1h
  secretRef: { name: victim-git }
`,
    policy('shared', 'first', '{ name: app, namespace: victim }'),
  ].join('---\n');

const attackerBase = [
  repository('attacker', 'own', '127.0.0.1:1/attacker/own'),
  policy('attacker', 'own', '{ name: own }'),
];

const attacks = [
  // 1. Objects in a namespace the entity was not granted.
  repository('victim', 'planted', '127.0.0.1:1/attacker/planted'),
  `
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: { name: admin, namespace: kube-system }
spec:
  serviceAccountName: generic-garbage-collector
  resources: []
`,
  // 3. References into the victim's namespace.
  `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: { name: steal, namespace: attacker }
spec:
  interval: 1h
  sourceRef: { kind: GitRepository, name: repo, namespace: victim }
  git:
    commit:
      author: { name: bot, email: bot@example.com }
  update: { path: ./, strategy: Setters }
`,
  policy('attacker', 'peek', '{ name: app, namespace: victim }'),
  policy('attacker', 'peek-public', '{ name: public, namespace: victim }'),
  `
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: { name: waits, namespace: attacker }
spec:
  dependsOn:
    - { apiVersion: fluxcd.controlplane.io/v1, kind: ResourceSet, name: infra, namespace: victim, ready: true }
  resources: []
`,
  // 2. An id the victim declared first (in a namespace granted to both), and one declared twice.
  policy('shared', 'first', '{ name: own, namespace: attacker }'),
  repository('attacker', 'twice', '127.0.0.1:1/attacker/a'),
  repository('attacker', 'twice', '127.0.0.1:1/attacker/b'),
];

const friendManifests = [
  policy('friend', 'public', '{ name: public, namespace: victim }'),
].join('---\n');

describe('tenancy: what an entity may declare and refer to', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
    await pushImage(registry, 'team/podinfo', ['6.0.0', '6.1.0']);
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('rejects objects outside granted namespaces, squatted ids and cross-namespace references; neighbours keep working', async () => {
    const backend = await startBackend({
      files: {
        'catalog.yaml': catalog,
        'victim.yaml': victimManifests(registry.host),
        'attacker.yaml': attackerBase.join('---\n'),
        'friend.yaml': friendManifests,
      },
      config: {
        credentials: {
          'victim-git': {
            type: 'basic',
            username: 'victim',
            password: 'victim-git-s3cret',
            allowedEntities: ['component:default/victim'],
          },
        },
        tenancy: {
          namespaces: [
            { entity: 'component:default/victim', namespaces: ['shared'] },
            { owner: 'group:default/attacker-team', namespaces: ['shared'] },
          ],
        },
      },
    });
    try {
      const objectsOf = async (name: string) => {
        const res = await request(backend.server)
          .get(
            `/api/image-automation/entities/component/default/${name}/objects`,
          )
          .set('Authorization', user);
        expect(res.status).toBe(200);
        return res.body.items as any[];
      };
      await eventually(async () => {
        await backend.sync();
        const counts = [
          (await objectsOf('victim')).length,
          (await objectsOf('attacker')).length,
          (await objectsOf('friend')).length,
        ];
        return counts.join() === '5,2,1' ? true : undefined;
      });
      // The attacks arrive after the victim declared its objects.
      await fs.writeFile(
        path.join(backend.dir, 'attacker.yaml'),
        [...attackerBase, ...attacks].join('---\n'),
      );
      await backend.sync();
      await backend.reconcile();
      await backend.sync(); // the owner of a squatted id is told at the end of a sync
      await backend.reconcile();

      const attacker = await objectsOf('attacker');
      const ready = (o: any) =>
        o?.status.conditions?.find((c: any) => c.type === 'Ready');
      const rejected = (kind: string, namespace: string, name: string) =>
        attacker.filter(
          o =>
            o.kind === 'ManifestError' &&
            o.spec.rejected?.kind === kind &&
            o.spec.rejected.namespace === namespace &&
            o.spec.rejected.name === name,
        );
      const byId = (id: string) => attacker.find(o => o.id === id);

      // 1. Outside its namespaces: not created, a Stalled placeholder on the entity says why.
      expect(
        attacker.find(o => o.id === 'ImageRepository/victim/planted'),
      ).toBeUndefined();
      const [planted] = rejected('ImageRepository', 'victim', 'planted');
      expect(ready(planted)).toMatchObject({
        status: 'False',
        reason: 'NamespaceNotGranted',
        message:
          "ImageRepository 'victim/planted' rejected: namespace 'victim' is not granted to component:default/attacker (granted: attacker, shared); a platform admin grants namespaces in imageAutomation.tenancy.namespaces",
      });
      expect(planted.status.conditions).toContainEqual(
        expect.objectContaining({ type: 'Stalled', status: 'True' }),
      );
      // 4. A ResourceSet impersonating a kube-system service account is never stored, so never applied.
      const [admin] = rejected('ResourceSet', 'kube-system', 'admin');
      expect(ready(admin)).toMatchObject({ reason: 'NamespaceNotGranted' });
      expect(ready(admin).message).toContain(
        "namespace 'kube-system' is not granted to component:default/attacker",
      );
      const victim = await objectsOf('victim');
      expect(victim.map(o => o.id).sort()).toEqual([
        'GitRepository/victim/repo',
        'ImagePolicy/shared/first',
        'ImagePolicy/victim/app',
        'ImageRepository/victim/app',
        'ImageRepository/victim/public',
      ]);

      // 3. References into the victim's namespace: Stalled, naming the reference; no credential in sight.
      const steal = byId('ImageUpdateAutomation/attacker/steal');
      expect(ready(steal)).toMatchObject({
        status: 'False',
        reason: 'AccessDenied',
        message:
          "spec.sourceRef: cross-namespace reference to GitRepository 'victim/repo' denied: namespace 'victim' is not granted to component:default/attacker (imageAutomation.tenancy.namespaces)",
      });
      expect(steal.status.conditions).toContainEqual(
        expect.objectContaining({ type: 'Stalled', status: 'True' }),
      );
      expect(JSON.stringify(attacker)).not.toContain('victim-git-s3cret');
      expect(ready(byId('ImagePolicy/attacker/peek'))).toMatchObject({
        reason: 'AccessDenied',
        message:
          "spec.imageRepositoryRef: cross-namespace reference to ImageRepository 'victim/app' denied: namespace 'victim' is not granted to component:default/attacker and the ImageRepository's accessFrom does not admit namespace 'attacker' (imageAutomation.tenancy.namespaces)",
      });
      expect(
        byId('ImagePolicy/attacker/peek').status.latestRef,
      ).toBeUndefined();
      // accessFrom admits `friend` only.
      expect(ready(byId('ImagePolicy/attacker/peek-public'))).toMatchObject({
        reason: 'AccessDenied',
      });
      const explained = await request(backend.server)
        .get('/api/image-automation/objects/ImagePolicy/attacker/peek/explain')
        .set('Authorization', user);
      expect(explained.status).toBe(403);
      expect(explained.body.error.message).toContain(
        "cross-namespace reference to ImageRepository 'victim/app' denied",
      );
      expect(ready(byId('ResourceSet/attacker/waits'))).toMatchObject({
        reason: 'AccessDenied',
        message:
          "spec.dependsOn: cross-namespace reference to ResourceSet 'victim/infra' denied: namespace 'victim' is not granted to component:default/attacker (imageAutomation.tenancy.namespaces)",
      });

      // 2. The id the victim declared first stays the victim's; both sides say so.
      const [squat] = rejected('ImagePolicy', 'shared', 'first');
      expect(ready(squat)).toMatchObject({
        reason: 'AlreadyDeclared',
        message:
          "ImagePolicy 'shared/first' rejected: already declared by component:default/victim",
      });
      const first = victim.find(o => o.id === 'ImagePolicy/shared/first');
      expect(first.entityRef).toBe('component:default/victim');
      expect(first.spec.imageRepositoryRef).toEqual({
        name: 'app',
        namespace: 'victim',
      });
      expect(first.status.conditions).toContainEqual(
        expect.objectContaining({
          type: 'DeclarationConflict',
          status: 'True',
          reason: 'AlsoDeclared',
          message:
            'also declared by component:default/attacker; that declaration is rejected and this one is kept',
        }),
      );
      const [twice] = rejected('ImageRepository', 'attacker', 'twice');
      expect(ready(twice)).toMatchObject({
        reason: 'DuplicateDeclaration',
        message:
          "ImageRepository 'attacker/twice' rejected: declared more than once by component:default/attacker; the first declaration is used",
      });
      expect((byId('ImageRepository/attacker/twice').spec as any).image).toBe(
        '127.0.0.1:1/attacker/a',
      );

      // The neighbours keep working: the victim's policies (also the squatted one, which refers into
      // a namespace granted to the victim) and the friend the accessFrom admits.
      expect(
        ready(victim.find(o => o.id === 'ImagePolicy/victim/app')),
      ).toMatchObject({ status: 'True' });
      expect(ready(first)).toMatchObject({ status: 'True' });
      expect(first.status.latestRef.tag).toBe('6.1.0');
      const [friendPolicy] = await objectsOf('friend');
      expect(ready(friendPolicy)).toMatchObject({ status: 'True' });
      expect(friendPolicy.status.latestRef.tag).toBe('6.1.0');

      // When the attacker withdraws its declaration, the victim's object says nothing more.
      await fs.writeFile(
        path.join(backend.dir, 'attacker.yaml'),
        attackerBase.join('---\n'),
      );
      await backend.sync();
      const after = (await objectsOf('victim')).find(
        o => o.id === 'ImagePolicy/shared/first',
      );
      expect(after.status.conditions.map((c: any) => c.type)).not.toContain(
        'DeclarationConflict',
      );
      expect(await objectsOf('attacker')).toHaveLength(2);
    } finally {
      await backend.stop();
    }
  });

  it('lets a platform location take over an id an entity declared first', async () => {
    const platformDir = await fs.mkdtemp(
      path.join(os.tmpdir(), 'image-automation-platform-'),
    );
    const platformFile = path.join(platformDir, 'platform.yaml');
    await fs.writeFile(platformFile, '');
    const backend = await startBackend({
      files: {
        'catalog.yaml': entity('attacker'),
        'attacker.yaml': repository(
          'attacker',
          'platform',
          '127.0.0.1:1/attacker/fake',
        ),
      },
      config: {
        fileRoots: [os.tmpdir()],
        locations: [{ target: platformFile }],
        // A namespace a platform location uses is nobody's default namespace: grant it explicitly.
        tenancy: {
          namespaces: [
            { entity: 'component:default/attacker', namespaces: ['attacker'] },
          ],
        },
      },
    });
    try {
      const get = () =>
        request(backend.server)
          .get(
            '/api/image-automation/objects/ImageRepository/attacker/platform',
          )
          .set('Authorization', user);
      await eventually(async () => {
        await backend.sync();
        return (await get()).body.entityRef === 'component:default/attacker'
          ? true
          : undefined;
      });
      await fs.writeFile(
        platformFile,
        repository('attacker', 'platform', '127.0.0.1:1/platform/real'),
      );
      await backend.sync();
      // Now the platform's: no entity owns it (and the API serves such objects to nobody).
      const taken = await get();
      expect(taken.status).toBe(403);
      expect(taken.body.error.message).toBe(
        'objects without an owning entity are managed through app-config only',
      );
      await backend.reconcile();
      const attacker = (
        await request(backend.server)
          .get(
            '/api/image-automation/entities/component/default/attacker/objects',
          )
          .set('Authorization', user)
      ).body.items as any[];
      expect(attacker).toHaveLength(1);
      expect(attacker[0].status.conditions).toContainEqual(
        expect.objectContaining({
          type: 'Ready',
          reason: 'AlreadyDeclared',
          message: `ImageRepository 'attacker/platform' rejected: already declared by the platform location ${platformFile}`,
        }),
      );
    } finally {
      await backend.stop();
      await fs.rm(platformDir, { recursive: true, force: true });
    }
  });
});
