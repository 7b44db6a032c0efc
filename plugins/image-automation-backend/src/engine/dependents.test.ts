import { TestDatabases } from '@backstage/backend-test-utils';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { StoredObject } from '../store/ObjectStore';
import { DEPENDENTS, dependentsOf } from './dependents';

// The table of dependents on a real object store (SQLite): which objects become due when one
// produces something new.

const IMAGE = 'image.toolkit.fluxcd.io/v1';
const OPERATOR = 'fluxcd.controlplane.io/v1';
const NOTIFICATION = 'notification.toolkit.fluxcd.io/v1beta3';

function object(
  apiVersion: string,
  kind: string,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  labels?: Record<string, string>,
) {
  return {
    apiVersion,
    kind,
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    spec,
  };
}

describe('dependentsOf', () => {
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });
  let objects: DatabaseObjectStore;
  const get = async (id: string): Promise<StoredObject> => {
    const found = await objects.get(id);
    if (!found) throw new Error(`${id} was not stored`);
    return found;
  };

  beforeAll(async () => {
    const knex = await databases.init('SQLITE_3');
    objects = await DatabaseObjectStore.create({ knex });
    const manifests = [
      object(IMAGE, 'ImageRepository', 'apps', 'app', {
        image: 'registry.example.com/team/app',
        interval: '5m',
      }),
      // Policies of the repository: same namespace by default, or another one named.
      object(IMAGE, 'ImagePolicy', 'apps', 'same-ns', {
        imageRepositoryRef: { name: 'app' },
        policy: { semver: { range: '1.x' } },
      }),
      object(IMAGE, 'ImagePolicy', 'other', 'cross-ns', {
        imageRepositoryRef: { name: 'app', namespace: 'apps' },
        policy: { semver: { range: '1.x' } },
      }),
      // Not dependents: another repository's name, or the same name in the policy's own namespace.
      object(IMAGE, 'ImagePolicy', 'apps', 'unrelated', {
        imageRepositoryRef: { name: 'web' },
        policy: { semver: { range: '1.x' } },
      }),
      object(IMAGE, 'ImagePolicy', 'other', 'own-ns', {
        imageRepositoryRef: { name: 'app' },
        policy: { semver: { range: '1.x' } },
      }),
      // Input providers listing the same repository (OCI and a cloud type), and ones that do not.
      object(OPERATOR, 'ResourceSetInputProvider', 'apps', 'tags', {
        type: 'OCIArtifactTag',
        url: 'oci://registry.example.com/team/app',
      }),
      object(OPERATOR, 'ResourceSetInputProvider', 'apps', 'tags-ecr', {
        type: 'ECRArtifactTag',
        url: 'oci://registry.example.com/team/app',
      }),
      object(OPERATOR, 'ResourceSetInputProvider', 'apps', 'other-repo', {
        type: 'OCIArtifactTag',
        url: 'oci://registry.example.com/team/web',
      }),
      object(
        OPERATOR,
        'ResourceSetInputProvider',
        'apps',
        'static',
        { type: 'Static' },
        { team: 'a' },
      ),
      // Automations: of the policies' namespace, and one using a GitRepository elsewhere.
      object(IMAGE, 'ImageUpdateAutomation', 'apps', 'auto', {
        interval: '5m',
        sourceRef: { kind: 'GitRepository', name: 'repo' },
        git: { commit: { author: { email: 'bot@example.com' } } },
      }),
      object(IMAGE, 'ImageUpdateAutomation', 'other', 'auto-cross', {
        interval: '5m',
        sourceRef: { kind: 'GitRepository', name: 'repo', namespace: 'apps' },
        git: { commit: { author: { email: 'bot@example.com' } } },
      }),
      object(IMAGE, 'ImageUpdateAutomation', 'other', 'auto-own', {
        interval: '5m',
        sourceRef: { kind: 'GitRepository', name: 'repo' },
        git: { commit: { author: { email: 'bot@example.com' } } },
      }),
      object('source.toolkit.fluxcd.io/v1', 'GitRepository', 'apps', 'repo', {
        url: 'https://git.example.com/repo.git',
        interval: '5m',
      }),
      // ResourceSets reading providers by name or by labels.
      object(OPERATOR, 'ResourceSet', 'apps', 'by-name', {
        inputsFrom: [{ kind: 'ResourceSetInputProvider', name: 'static' }],
      }),
      object(OPERATOR, 'ResourceSet', 'apps', 'by-label', {
        inputsFrom: [
          {
            kind: 'ResourceSetInputProvider',
            selector: { matchLabels: { team: 'a' } },
          },
        ],
      }),
      object(OPERATOR, 'ResourceSet', 'apps', 'other-provider', {
        inputsFrom: [{ kind: 'ResourceSetInputProvider', name: 'tags' }],
      }),
      object(OPERATOR, 'ResourceSet', 'apps', 'no-inputs', {}),
      object(NOTIFICATION, 'Provider', 'apps', 'slack', {
        type: 'slack',
        address: 'https://hooks.example.com/x',
      }),
      object(NOTIFICATION, 'Alert', 'apps', 'mine', {
        providerRef: { name: 'slack' },
        eventSources: [{ kind: 'ImageRepository', name: '*' }],
      }),
      object(NOTIFICATION, 'Alert', 'apps', 'other-provider', {
        providerRef: { name: 'teams' },
        eventSources: [{ kind: 'ImageRepository', name: '*' }],
      }),
      // Each rule reads its dependents' kind only: an object of another kind carrying every
      // reference field above (as a catalog author may declare) is nobody's dependent.
      object('example.com/v1', 'Decoy', 'apps', 'decoy', {
        imageRepositoryRef: { name: 'app' },
        type: 'OCIArtifactTag',
        url: 'oci://registry.example.com/team/app',
        sourceRef: { kind: 'GitRepository', name: 'repo' },
        inputsFrom: [{ kind: 'ResourceSetInputProvider', name: 'static' }],
        providerRef: { name: 'slack' },
      }),
      // Input provider types that only contain an artifact-tag type's name.
      object(OPERATOR, 'ResourceSetInputProvider', 'apps', 'prefixed-type', {
        type: 'MyOCIArtifactTag',
        url: 'oci://registry.example.com/team/app',
      }),
      object(OPERATOR, 'ResourceSetInputProvider', 'apps', 'suffixed-type', {
        type: 'OCIArtifactTags',
        url: 'oci://registry.example.com/team/app',
      }),
      // A ResourceSet whose inputsFrom is invalid (neither name nor selector) selects nothing.
      object(OPERATOR, 'ResourceSet', 'apps', 'invalid-inputs', {
        inputsFrom: [{ kind: 'ResourceSetInputProvider' }],
      }),
    ];
    await objects.syncSource(
      'entity',
      manifests.map(manifest => ({
        manifest,
        source: { type: 'catalog', location: 'url:https://example.com/a.yaml' },
        entityRef: 'component:default/app',
      })),
    );
    // The same Alert name declared by another entity, in another source.
    await objects.syncSource('other-entity', [
      {
        manifest: object(NOTIFICATION, 'Alert', 'apps', 'theirs', {
          providerRef: { name: 'slack' },
          eventSources: [{ kind: 'ImageRepository', name: '*' }],
        }),
        source: { type: 'catalog', location: 'url:https://example.com/b.yaml' },
        entityRef: 'component:default/other',
      },
    ]);
  });

  it('makes the policies of a repository and the input providers listing it due after a new scan', async () => {
    const due = await dependentsOf(
      await get('ImageRepository/apps/app'),
      objects,
    );
    // Policies first, then providers, as the engine has always marked them.
    expect(due.slice(0, 2).sort()).toEqual([
      'ImagePolicy/apps/same-ns',
      'ImagePolicy/other/cross-ns',
    ]);
    expect(due.slice(2).sort()).toEqual([
      'ResourceSetInputProvider/apps/tags',
      'ResourceSetInputProvider/apps/tags-ecr',
    ]);
  });

  it('makes every automation of the namespace due after a new selection', async () => {
    const due = await dependentsOf(
      await get('ImagePolicy/apps/same-ns'),
      objects,
    );
    expect(due).toEqual(['ImageUpdateAutomation/apps/auto']);
    expect(
      await dependentsOf(await get('ImagePolicy/other/cross-ns'), objects),
    ).toEqual(
      expect.arrayContaining([
        'ImageUpdateAutomation/other/auto-cross',
        'ImageUpdateAutomation/other/auto-own',
      ]),
    );
  });

  it('makes the automations whose sourceRef names a GitRepository due when its revision moves', async () => {
    const due = await dependentsOf(
      await get('GitRepository/apps/repo'),
      objects,
    );
    expect(due.sort()).toEqual([
      'ImageUpdateAutomation/apps/auto',
      'ImageUpdateAutomation/other/auto-cross',
    ]);
  });

  it('makes the ResourceSets selecting a provider, by name or labels, due after a new export', async () => {
    const due = await dependentsOf(
      await get('ResourceSetInputProvider/apps/static'),
      objects,
    );
    expect(due.sort()).toEqual([
      'ResourceSet/apps/by-label',
      'ResourceSet/apps/by-name',
    ]);
  });

  it("makes a Provider's Alerts of the same entity due, not another entity's", async () => {
    const due = await dependentsOf(await get('Provider/apps/slack'), objects);
    expect(due).toEqual(['Alert/apps/mine']);
  });

  it('has no dependents for kinds without a rule (their promotions name their own)', async () => {
    expect(Object.keys(DEPENDENTS).sort()).toEqual([
      'GitRepository',
      'ImagePolicy',
      'ImageRepository',
      'Provider',
      'ResourceSetInputProvider',
    ]);
    expect(
      await dependentsOf(await get('ResourceSet/apps/by-name'), objects),
    ).toEqual([]);
  });

  it('makes nothing due for a repository whose image does not parse', async () => {
    const repository = await get('ImageRepository/apps/app');
    const broken = {
      ...repository,
      manifest: {
        ...repository.manifest,
        spec: { ...repository.manifest.spec, image: 'UPPER/case!' },
      },
    };
    const due = await dependentsOf(broken, objects);
    expect(due.filter(id => id.startsWith('ResourceSetInputProvider'))).toEqual(
      [],
    );
  });
});
