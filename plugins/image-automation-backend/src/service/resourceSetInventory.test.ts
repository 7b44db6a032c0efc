import express from 'express';
import request from 'supertest';
import {
  BackstageCredentials,
  PermissionsService,
  PermissionsServiceRequestOptions,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockErrorHandler,
  mockServices,
} from '@backstage/backend-test-utils';
import {
  AuthorizePermissionRequest,
  AuthorizeResult,
} from '@backstage/plugin-permission-common';
import {
  AutomationObject,
  ResourceSetInventoryView,
} from '@imageops/backstage-plugin-image-automation-common';
import { DatabaseEventStore } from '../store/DatabaseEventStore';
import { DatabaseInventoryStore } from '../store/DatabaseInventoryStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabaseScanStore } from '../store/DatabaseScanStore';
import { DeclaredObject } from '../store/ObjectStore';
import { createStoreTestDatabases } from '../store/testDatabases';
import { AuthorizedObjectService } from './AuthorizedObjectService';
import { DefaultObjectService } from './DefaultObjectService';
import { createRouter } from './router';

jest.setTimeout(60_000);

const databases = createStoreTestDatabases();

const ALICE = 'user:default/alice';
const NOBODY = 'user:default/nobody';
const SHOP = 'component:default/shop';
const VAULT = 'component:default/vault';
/** What a failed apply's message could quote from a Secret: never in an inventory answer. */
const SECRET = 'c3VwZXItc2VjcmV0LXJlZ2lzdHJ5LXBhc3N3b3Jk';

/** Allows exactly the granted (user, permission, entity) triples. */
class StubPermissions implements PermissionsService {
  constructor(
    private readonly grants: Record<string, Record<string, string[]>>,
  ) {}

  async authorize(
    requests: AuthorizePermissionRequest[],
    options: PermissionsServiceRequestOptions,
  ) {
    const user =
      (options.credentials as BackstageCredentials<{ userEntityRef?: string }>)
        .principal.userEntityRef ?? '';
    return requests.map(r => ({
      result: this.grants[user]?.[r.permission.name]?.includes(
        r.resourceRef ?? '',
      )
        ? AuthorizeResult.ALLOW
        : AuthorizeResult.DENY,
    })) as any;
  }

  async authorizeConditional(): Promise<never> {
    throw new Error('reading an inventory needs definitive decisions only');
  }
}

function resourceSet(name: string, entityRef?: string): DeclaredObject {
  const manifest: AutomationObject = {
    apiVersion: 'fluxcd.controlplane.io/v1',
    kind: 'ResourceSet',
    metadata: { name, namespace: 'apps' },
    spec: { resources: [] },
  } as AutomationObject;
  return entityRef
    ? {
        manifest,
        entityRef,
        source: { type: 'catalog', location: `file:///catalog/${name}.yaml` },
      }
    : {
        manifest,
        source: { type: 'config', location: 'file:///config/automation.yaml' },
      };
}

/**
 * shop's ResourceSet web, applied to prod (a Deployment, a Service, a Secret and a Namespace) and
 * failing on staging, and its ResourceSet fresh that applied nothing yet; vault's ResourceSet vault on prod; a ResourceSet from app-config; Alice may
 * read shop only.
 */
async function setUp(databaseId: Parameters<typeof databases.init>[0]) {
  const knex = await databases.init(databaseId);
  const objects = await DatabaseObjectStore.create({ knex });
  const scans = await DatabaseScanStore.create({ knex, skipMigrations: true });
  const events = await DatabaseEventStore.create({
    knex,
    skipMigrations: true,
  });
  const inventories = await DatabaseInventoryStore.create({
    knex,
    skipMigrations: true,
  });
  await objects.syncSource('entity:component:default/shop', [
    resourceSet('web', SHOP),
    resourceSet('fresh', SHOP),
  ]);
  await objects.syncSource('entity:component:default/vault', [
    resourceSet('vault', VAULT),
  ]);
  await objects.syncSource('config', [resourceSet('platform')]);

  await inventories.put({
    owner: 'ResourceSet/apps/web',
    cluster: 'staging',
    entries: [
      { id: 'apps_web_apps_Deployment', v: 'v1' },
      { id: 'apps_web-registry__Secret', v: 'v1' },
    ],
    state: 'failed',
    lastAppliedRevision: 'sha256:1111',
    message: `Secret/apps/web-registry dry-run failed: data.password: Invalid value: "${SECRET}"`,
  });
  await inventories.put({
    owner: 'ResourceSet/apps/web',
    cluster: 'prod',
    entries: [
      { id: 'apps_web_apps_Deployment', v: 'v1' },
      { id: 'apps_web__Service', v: 'v1' },
      { id: 'apps_web-registry__Secret', v: 'v1' },
      { id: '_apps__Namespace', v: 'v1' },
    ],
    state: 'applied',
    lastAppliedRevision: 'sha256:2222',
  });
  await inventories.put({
    owner: 'ResourceSet/apps/vault',
    cluster: 'prod',
    entries: [{ id: 'vault_keys__Secret', v: 'v1' }],
    state: 'applied',
  });

  const permissions = new StubPermissions({
    [ALICE]: { 'image-automation.object.read': [SHOP] },
  });
  const service = new AuthorizedObjectService(
    new DefaultObjectService({ objects, scans, events, inventories }),
    permissions,
  );
  const app = async (user: string) =>
    express()
      .use(
        await createRouter({
          httpAuth: mockServices.httpAuth({
            defaultCredentials: mockCredentials.user(user),
          }),
          objects: service,
        }),
      )
      .use(mockErrorHandler());
  return { app };
}

describe.each(databases.eachSupportedId())(
  'GET /objects/ResourceSet/:namespace/:name/inventory on %p',
  databaseId => {
    it("answers with the ResourceSet's inventory per cluster: object references only", async () => {
      const { app } = await setUp(databaseId);
      const response = await request(await app(ALICE)).get(
        '/objects/ResourceSet/apps/web/inventory',
      );

      expect(response.status).toBe(200);
      const body = response.body as ResourceSetInventoryView;
      expect(body.id).toBe('ResourceSet/apps/web');
      // By cluster name, each cluster's objects by kind, namespace and name.
      expect(
        body.clusters.map(c => [c.cluster, c.state, c.lastAppliedRevision]),
      ).toEqual([
        ['prod', 'applied', 'sha256:2222'],
        ['staging', 'failed', 'sha256:1111'],
      ]);
      expect(body.clusters[0].entries).toEqual([
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: 'apps',
          name: 'web',
        },
        { apiVersion: 'v1', kind: 'Namespace', name: 'apps' },
        {
          apiVersion: 'v1',
          kind: 'Secret',
          namespace: 'apps',
          name: 'web-registry',
        },
        { apiVersion: 'v1', kind: 'Service', namespace: 'apps', name: 'web' },
      ]);
      expect(Number.isNaN(Date.parse(body.clusters[0].updatedAt))).toBe(false);
      // Nothing but references: no failure message (it may quote a value), no other owner's objects.
      for (const cluster of body.clusters) {
        expect(Object.keys(cluster).sort()).toEqual([
          'cluster',
          'entries',
          'lastAppliedRevision',
          'state',
          'updatedAt',
        ]);
        for (const entry of cluster.entries) {
          expect(
            Object.keys(entry).every(k =>
              ['apiVersion', 'kind', 'namespace', 'name'].includes(k),
            ),
          ).toBe(true);
        }
      }
      expect(response.text).not.toContain(SECRET);
      expect(response.text).not.toContain('dry-run failed');
      expect(response.text).not.toContain('keys');
    });

    it('answers an empty list for a ResourceSet that applied nothing yet', async () => {
      const { app } = await setUp(databaseId);
      const response = await request(await app(ALICE)).get(
        '/objects/ResourceSet/apps/fresh/inventory',
      );
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        id: 'ResourceSet/apps/fresh',
        clusters: [],
      });
    });

    it('refuses a user without read permission on the entity, as the object route does', async () => {
      const { app } = await setUp(databaseId);
      const nobody = await app(NOBODY);
      const inventory = await request(nobody).get(
        '/objects/ResourceSet/apps/web/inventory',
      );
      const detail = await request(nobody).get('/objects/ResourceSet/apps/web');

      expect(inventory.status).toBe(403);
      expect(inventory.body.error).toMatchObject({
        name: 'NotAllowedError',
        message: `you may not read the image automation of ${SHOP} (image-automation.object.read)`,
      });
      expect(detail.status).toBe(403);
      expect(inventory.body.error).toEqual(detail.body.error);
      expect(inventory.text).not.toContain('Deployment');
    });

    it("refuses the inventory of another entity's ResourceSet named in the URL", async () => {
      const { app } = await setUp(databaseId);
      const alice = await app(ALICE);
      const inventory = await request(alice).get(
        '/objects/ResourceSet/apps/vault/inventory',
      );
      const detail = await request(alice).get(
        '/objects/ResourceSet/apps/vault',
      );

      expect(inventory.status).toBe(403);
      expect(inventory.body.error).toMatchObject({
        name: 'NotAllowedError',
        message: `you may not read the image automation of ${VAULT} (image-automation.object.read)`,
      });
      expect(inventory.body.error).toEqual(detail.body.error);
      expect(inventory.text).not.toContain('keys');

      // A ResourceSet from app-config has no entity: never readable through the API.
      const config = await request(alice).get(
        '/objects/ResourceSet/apps/platform/inventory',
      );
      expect(config.status).toBe(403);
      expect(config.body.error.message).toBe(
        'objects without an owning entity are managed through app-config only',
      );
    });

    it('answers 404 for a ResourceSet that does not exist, as the object route does', async () => {
      const { app } = await setUp(databaseId);
      const alice = await app(ALICE);
      const inventory = await request(alice).get(
        '/objects/ResourceSet/apps/missing/inventory',
      );
      const detail = await request(alice).get(
        '/objects/ResourceSet/apps/missing',
      );

      expect(inventory.status).toBe(404);
      expect(inventory.body.error).toMatchObject({
        name: 'NotFoundError',
        message: 'no automation object ResourceSet/apps/missing',
      });
      expect(inventory.body.error).toEqual(detail.body.error);
    });
  },
);
