import {
  AuthService,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef, ANNOTATION_SOURCE_LOCATION, ANNOTATION_LOCATION } from '@backstage/catalog-model';
import { CATALOG_FILTER_EXISTS } from '@backstage/catalog-client';
import { CatalogService } from '@backstage/plugin-catalog-node';
import {
  ANNOTATION_MANIFESTS,
  AutomationObject,
  LABEL_KUBERNETES_ID,
} from '@imageops/backstage-plugin-image-automation-common';
import { DeclaredObject, ObjectStore } from '../store/ObjectStore';
import { ManifestReader } from './ManifestReader';
import { MANIFEST_ERROR_KIND, manifestError, parseManifests } from './parseManifests';

/** A manifest location from `imageAutomation.locations`. @internal */
export interface ConfigLocation {
  target: string;
  entityRef?: string;
}

const KUBERNETES_ID_ANNOTATION = 'backstage.io/kubernetes-id';

function splitLocations(value: string): string[] {
  return value
    .split(/[,\n]/)
    .map(s => s.trim())
    .filter(Boolean);
}

/** The base that relative manifest locations of an entity resolve against. */
function entityBase(entity: Entity): string | undefined {
  const annotations = entity.metadata.annotations ?? {};
  const ref = annotations[ANNOTATION_SOURCE_LOCATION] ?? annotations[ANNOTATION_LOCATION];
  if (!ref) return undefined;
  const separator = ref.indexOf(':');
  const type = ref.slice(0, separator);
  const target = ref.slice(separator + 1);
  if (type === 'url') return target;
  if (type === 'file') return `file://${target}`;
  return undefined;
}

/**
 * Reads every manifest source (catalog entities with the manifests annotation, and
 * `imageAutomation.locations`) and replaces what the store holds for each. A location that
 * cannot be read keeps the objects it declared before; if it declared none, a placeholder
 * object carries the error so it is visible on the entity.
 * @internal
 */
export class ManifestSync {
  constructor(
    private readonly options: {
      store: ObjectStore;
      reader: ManifestReader;
      catalog: CatalogService;
      auth: AuthService;
      logger: LoggerService;
      locations: ConfigLocation[];
    },
  ) {}

  async syncAll(): Promise<{ sources: number; objects: number }> {
    const { catalog, auth, store, logger } = this.options;
    const credentials = await auth.getOwnServiceCredentials();
    const { items: entities } = await catalog.getEntities(
      { filter: { [`metadata.annotations.${ANNOTATION_MANIFESTS}`]: CATALOG_FILTER_EXISTS } },
      { credentials },
    );
    const { items: labelled } = await catalog.getEntities(
      {
        filter: { [`metadata.annotations.${KUBERNETES_ID_ANNOTATION}`]: CATALOG_FILTER_EXISTS },
        fields: ['kind', 'metadata.namespace', 'metadata.name', 'metadata.annotations'],
      },
      { credentials },
    );
    const byKubernetesId = new Map<string, string>();
    for (const entity of labelled) {
      const id = entity.metadata.annotations?.[KUBERNETES_ID_ANNOTATION];
      if (id && !byKubernetesId.has(id)) byKubernetesId.set(id, stringifyEntityRef(entity));
    }

    const seen = new Set<string>();
    let objects = 0;
    for (const entity of entities) {
      const entityRef = stringifyEntityRef(entity);
      const sourceKey = `entity:${entityRef}`;
      seen.add(sourceKey);
      const base = entityBase(entity);
      const targets = splitLocations(entity.metadata.annotations![ANNOTATION_MANIFESTS]);
      objects += await this.syncSource(sourceKey, 'catalog', targets, base, () => entityRef);
    }
    for (const location of this.options.locations) {
      const sourceKey = `config:${location.target}`;
      seen.add(sourceKey);
      objects += await this.syncSource(sourceKey, 'config', [location.target], undefined, manifest =>
        location.entityRef ?? byKubernetesId.get(manifest.metadata.labels?.[LABEL_KUBERNETES_ID] ?? ''),
      );
    }
    for (const sourceKey of await store.listSourceKeys()) {
      if (!seen.has(sourceKey)) {
        logger.info(`Removing the automation objects of ${sourceKey}: the source no longer exists`);
        await store.syncSource(sourceKey, []);
      }
    }
    return { sources: seen.size, objects };
  }

  private async syncSource(
    sourceKey: string,
    type: 'catalog' | 'config',
    targets: string[],
    base: string | undefined,
    entityRefFor: (manifest: AutomationObject) => string | undefined,
  ): Promise<number> {
    const { reader, store, logger } = this.options;
    const declared: DeclaredObject[] = [];
    let failed = false;
    for (const target of targets) {
      let location = target;
      try {
        location = ManifestReader.resolve(target, base);
        const text = await reader.read(location);
        for (const manifest of parseManifests(text, location)) {
          failed ||= manifest.kind === MANIFEST_ERROR_KIND;
          declared.push({ manifest, entityRef: entityRefFor(manifest), source: { type, location } });
        }
      } catch (error) {
        failed = true;
        const message = `failed to read ${location}: ${(error as Error).message}`;
        logger.warn(`${sourceKey}: ${message}`);
        declared.push({
          manifest: manifestError(location, 0, message),
          entityRef: entityRefFor({ metadata: {} } as AutomationObject),
          source: { type, location },
        });
      }
    }
    if (failed) {
      // Keep what a failed location or a broken document declared before: a transient read
      // error or a bad edit must not delete objects (and, later, what they applied).
      const previous = await store.list({ sourceKey });
      for (const object of previous) {
        if (object.kind !== MANIFEST_ERROR_KIND && !declared.some(d => sameObject(d.manifest, object.manifest))) {
          declared.push({ manifest: object.manifest, entityRef: object.entityRef, source: object.source });
        }
      }
    }
    const { conflicts } = await store.syncSource(sourceKey, declared);
    for (const conflict of conflicts) {
      logger.warn(
        `${sourceKey} declares ${conflict.id}, which ${conflict.ownerSourceKey} already declares; keeping the first`,
      );
    }
    return declared.length;
  }
}

function sameObject(a: AutomationObject, b: AutomationObject): boolean {
  return (
    a.kind === b.kind &&
    a.metadata.name === b.metadata.name &&
    (a.metadata.namespace ?? 'default') === (b.metadata.namespace ?? 'default')
  );
}
