import { Knex } from 'knex';
import { AutomationObject } from '@imageops/backstage-plugin-image-automation-common';
import { DatabaseEventStore } from './DatabaseEventStore';
import { DatabaseInventoryStore } from './DatabaseInventoryStore';
import { DatabaseObjectStore } from './DatabaseObjectStore';
import { DatabasePromotionStore } from './DatabasePromotionStore';
import { DatabaseScanStore } from './DatabaseScanStore';
import { ObjectStore } from './ObjectStore';

/**
 * Every store of the plugin on one test database: the object store runs the migrations, the
 * others share them. A test helper.
 * @internal
 */
export async function openTestStores(knex: Knex) {
  const objects = await DatabaseObjectStore.create({ knex });
  const shared = { knex, skipMigrations: true };
  return {
    objects,
    scans: await DatabaseScanStore.create(shared),
    promotions: await DatabasePromotionStore.create(shared),
    events: await DatabaseEventStore.create(shared),
    inventories: await DatabaseInventoryStore.create(shared),
  };
}

const API_VERSIONS: Record<string, string> = {
  ResourceSet: 'fluxcd.controlplane.io/v1',
  ResourceSetInputProvider: 'fluxcd.controlplane.io/v1',
  GitRepository: 'source.toolkit.fluxcd.io/v1',
};

/**
 * A manifest of `kind` with the apiVersion this plugin reads it in (`image.toolkit.fluxcd.io/v1`
 * for the image kinds). A test helper.
 * @internal
 */
export function testManifest(
  kind: string,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  labels?: Record<string, string>,
): AutomationObject {
  return {
    apiVersion: API_VERSIONS[kind] ?? 'image.toolkit.fluxcd.io/v1',
    kind,
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    spec,
  } as AutomationObject;
}

/**
 * Declares `manifests` as the objects of `entityRef`, read from a source of its own (replacing
 * what that source declared before). A test helper.
 * @internal
 */
export function declareOwned(
  objects: ObjectStore,
  entityRef: string,
  manifests: AutomationObject[],
) {
  return objects.syncSource(
    entityRef,
    manifests.map(manifest => ({
      manifest,
      entityRef,
      source: { type: 'config' as const, location: entityRef },
    })),
  );
}
