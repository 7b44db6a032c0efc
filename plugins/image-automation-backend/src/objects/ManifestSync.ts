import { NotAllowedError } from '@backstage/errors';
import { AuthService, LoggerService } from '@backstage/backend-plugin-api';
import {
  Entity,
  stringifyEntityRef,
  ANNOTATION_SOURCE_LOCATION,
  ANNOTATION_LOCATION,
} from '@backstage/catalog-model';
import { CATALOG_FILTER_EXISTS } from '@backstage/catalog-client';
import { CatalogService } from '@backstage/plugin-catalog-node';
import {
  ANNOTATION_MANIFESTS,
  AutomationObject,
  formatObjectId,
  LABEL_KUBERNETES_ID,
  objectId,
} from '@imageops/backstage-plugin-image-automation-common';
import { DeclaredObject, ObjectStore } from '../store/ObjectStore';
import { DECLARATION_CONFLICT } from '../store/DatabaseObjectStore';
import { ManifestReader } from './ManifestReader';
import {
  MANIFEST_ERROR_KIND,
  MANIFEST_ERROR_REASON_ANNOTATION,
  isGeneratedError,
  manifestError,
  parseManifests,
  rejectedManifest,
  scopeGeneratedError,
} from './parseManifests';
import { rejectOverLong } from './fieldLimits';
import {
  EntityGrant,
  namespaceGranted,
  Tenancy,
  TenancySettings,
} from './tenancy';

/** Reason of a placeholder for an object another source already declares. @internal */
export const ALREADY_DECLARED = 'AlreadyDeclared';

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
  const ref =
    annotations[ANNOTATION_SOURCE_LOCATION] ?? annotations[ANNOTATION_LOCATION];
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
      /** Namespace grants of entities (`imageAutomation.tenancy`); by default only the default namespaces. */
      tenancy?: TenancySettings;
      /** URL prefixes entities may read manifests from besides their own source directory. */
      manifestUrlPrefixes?: string[];
    },
  ) {}

  async syncAll(): Promise<{ sources: number; objects: number }> {
    const { catalog, auth, store, logger } = this.options;
    const credentials = await auth.getOwnServiceCredentials();
    const { items: entities } = await catalog.getEntities(
      {
        filter: {
          [`metadata.annotations.${ANNOTATION_MANIFESTS}`]:
            CATALOG_FILTER_EXISTS,
        },
      },
      { credentials },
    );
    const { items: labelled } = await catalog.getEntities(
      {
        filter: {
          [`metadata.annotations.${KUBERNETES_ID_ANNOTATION}`]:
            CATALOG_FILTER_EXISTS,
        },
        fields: [
          'kind',
          'metadata.namespace',
          'metadata.name',
          'metadata.annotations',
        ],
      },
      { credentials },
    );
    const byKubernetesId = new Map<string, string>();
    for (const entity of labelled) {
      const id = entity.metadata.annotations?.[KUBERNETES_ID_ANNOTATION];
      if (id && !byKubernetesId.has(id))
        byKubernetesId.set(id, stringifyEntityRef(entity));
    }

    const seen = new Set<string>();
    let objects = 0;
    // Platform locations first: they are trusted, their ids are theirs before any entity's, and the
    // namespaces they use are never an entity's default namespace.
    const platformNamespaces = new Set<string>();
    for (const location of this.options.locations) {
      const sourceKey = `config:${location.target}`;
      seen.add(sourceKey);
      objects += await this.syncSource(
        sourceKey,
        'config',
        [location.target],
        undefined,
        manifest =>
          location.entityRef ??
          byKubernetesId.get(
            manifest.metadata.labels?.[LABEL_KUBERNETES_ID] ?? '',
          ),
        undefined,
        platformNamespaces,
      );
    }
    const tenancy = new Tenancy(
      this.options.tenancy ?? { grants: [], defaultNamespace: true },
      entities,
      platformNamespaces,
    );
    for (const entity of entities) {
      const entityRef = stringifyEntityRef(entity);
      const sourceKey = `entity:${entityRef}`;
      seen.add(sourceKey);
      const base = entityBase(entity);
      const targets = splitLocations(
        entity.metadata.annotations![ANNOTATION_MANIFESTS],
      );
      objects += await this.syncSource(
        sourceKey,
        'catalog',
        targets,
        base,
        () => entityRef,
        {
          entityRef,
          ...tenancy.grantFor(entity),
        },
      );
    }
    for (const sourceKey of await store.listSourceKeys()) {
      if (!seen.has(sourceKey)) {
        logger.info(
          `Removing the automation objects of ${sourceKey}: the source no longer exists`,
        );
        await store.syncSource(sourceKey, []);
      }
    }
    await this.markDeclarationConflicts();
    return { sources: seen.size, objects };
  }

  /**
   * The object that keeps an id other sources also declare says so (`DeclarationConflict`), naming
   * them; the condition goes away when they stop.
   */
  private async markDeclarationConflicts() {
    const { store } = this.options;
    const all = await store.list();
    const declarers = new Map<string, string[]>();
    for (const object of all) {
      if (object.kind !== MANIFEST_ERROR_KIND) continue;
      if (
        object.manifest.metadata.annotations?.[
          MANIFEST_ERROR_REASON_ANNOTATION
        ] !== ALREADY_DECLARED
      )
        continue;
      const rejected = (
        object.manifest.spec as {
          rejected?: { kind: string; namespace: string; name: string };
        }
      ).rejected;
      if (!rejected) continue;
      const id = formatObjectId(rejected);
      declarers.set(id, [
        ...(declarers.get(id) ?? []),
        object.entityRef ?? object.sourceKey,
      ]);
    }
    const now = new Date();
    for (const object of all) {
      const others = declarers.get(object.id);
      const message = others
        ? `also declared by ${[...new Set(others)].sort().join(', ')}; ${
            others.length > 1 ? 'those declarations are' : 'that declaration is'
          } rejected and this one is kept`
        : undefined;
      const current = object.status.conditions?.find(
        c => c.type === DECLARATION_CONFLICT,
      )?.message;
      if (current !== message)
        await store.setDeclarationConflict(object.id, message, now);
    }
  }

  private async syncSource(
    sourceKey: string,
    type: 'catalog' | 'config',
    targets: string[],
    base: string | undefined,
    entityRefFor: (manifest: AutomationObject) => string | undefined,
    /** The entity's grants; undefined for a platform location (not limited). */
    grant?: EntityGrant & { entityRef: string },
    /** Collects the namespaces a platform location declares objects in. */
    platformNamespaces?: Set<string>,
  ): Promise<number> {
    const { reader, store, logger } = this.options;
    let declared: DeclaredObject[] = [];
    let failed = false;
    for (const target of targets) {
      let location = target;
      try {
        location = ManifestReader.resolve(target, base);
        if (
          grant &&
          !ManifestReader.entityMayRead(
            location,
            base,
            this.options.manifestUrlPrefixes ?? [],
          )
        ) {
          throw new NotAllowedError(
            `an entity's manifests are read only from its own source directory${
              base ? ` (${new URL('.', base).toString()})` : ''
            } or under imageAutomation.manifestUrlPrefixes`,
          );
        }
        const text = await reader.read(location);
        for (const manifest of parseManifests(text, location).map(m =>
          scopeGeneratedError(m, sourceKey),
        )) {
          failed ||= manifest.kind === MANIFEST_ERROR_KIND;
          declared.push({
            manifest,
            entityRef: entityRefFor(manifest),
            source: { type, location },
          });
        }
      } catch (error) {
        failed = true;
        const message = `failed to read ${location}: ${
          (error as Error).message
        }`;
        logger.warn(`${sourceKey}: ${message}`);
        declared.push({
          manifest: scopeGeneratedError(
            manifestError(location, 0, message),
            sourceKey,
          ),
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
        if (
          object.kind !== MANIFEST_ERROR_KIND &&
          !declared.some(d => sameObject(d.manifest, object.manifest))
        ) {
          declared.push({
            manifest: object.manifest,
            entityRef: object.entityRef,
            source: object.source,
          });
        }
      }
    }
    if (grant) {
      declared = this.applyGrant(sourceKey, grant, declared);
    } else {
      for (const d of declared) {
        if (d.manifest.kind !== MANIFEST_ERROR_KIND)
          platformNamespaces?.add(d.manifest.metadata.namespace ?? 'default');
      }
    }
    // A field longer than its column would fail the store's transaction (on PostgreSQL): reject
    // that object alone (issue #13).
    declared = declared.map(d => rejectOverLong(sourceKey, d));
    const first = await store.syncSource(sourceKey, declared);
    for (const { id, fromSourceKey } of first.takenOver) {
      logger.warn(
        `${sourceKey} declares ${id}, which ${fromSourceKey} declared; the platform location takes it over`,
      );
    }
    if (first.conflicts.length > 0) {
      // The first owner keeps the id; this source's declaration becomes a rejected placeholder
      // on this source (and the owner is told by markDeclarationConflicts).
      const owners = new Map(first.conflicts.map(c => [c.id, c]));
      declared = declared.map(d => {
        const conflict = owners.get(idOf(d.manifest));
        if (!conflict) return d;
        const owner =
          conflict.ownerEntityRef ?? describeSource(conflict.ownerSourceKey);
        logger.warn(
          `${sourceKey} declares ${conflict.id}, which ${owner} already declares; keeping the first`,
        );
        return {
          ...d,
          manifest: rejectedManifest(
            sourceKey,
            d.source.location,
            d.manifest,
            ALREADY_DECLARED,
            `${describe(d.manifest)} rejected: already declared by ${owner}`,
          ),
        };
      });
      await store.syncSource(sourceKey, declared);
    }
    return declared.length;
  }

  /**
   * An entity's objects outside the namespaces granted to it, and second declarations of one id,
   * become rejected placeholders; every object carries the grants for the reconcilers' checks.
   */
  private applyGrant(
    sourceKey: string,
    grant: EntityGrant & { entityRef: string },
    declared: DeclaredObject[],
  ): DeclaredObject[] {
    const ids = new Set<string>();
    return declared.map(d => {
      const withGrant = { ...d, grantedNamespaces: grant.namespaces };
      if (isGeneratedError(d.manifest)) {
        return withGrant; // a read or parse error of this source
      }
      const namespace = d.manifest.metadata.namespace ?? 'default';
      let rejection: { reason: string; message: string } | undefined;
      if (!namespaceGranted(grant.namespaces, namespace)) {
        const granted =
          grant.namespaces.length > 0 ? grant.namespaces.join(', ') : 'none';
        rejection = {
          reason: 'NamespaceNotGranted',
          message:
            `${describe(
              d.manifest,
            )} rejected: namespace '${namespace}' is not granted to ${
              grant.entityRef
            } ` +
            `(granted: ${granted}${
              grant.defaultWithheld ? `; ${grant.defaultWithheld}` : ''
            }); ` +
            'a platform admin grants namespaces in imageAutomation.tenancy.namespaces',
        };
      } else if (ids.has(idOf(d.manifest))) {
        rejection = {
          reason: 'DuplicateDeclaration',
          message: `${describe(
            d.manifest,
          )} rejected: declared more than once by ${
            grant.entityRef
          }; the first declaration is used`,
        };
      }
      ids.add(idOf(d.manifest));
      if (!rejection) return withGrant;
      return {
        ...withGrant,
        manifest: rejectedManifest(
          sourceKey,
          d.source.location,
          d.manifest,
          rejection.reason,
          rejection.message,
        ),
      };
    });
  }
}

function idOf(manifest: AutomationObject): string {
  return objectId(
    manifest.kind,
    manifest.metadata.namespace ?? 'default',
    manifest.metadata.name,
  );
}

function describe(manifest: AutomationObject): string {
  return `${manifest.kind} '${manifest.metadata.namespace ?? 'default'}/${
    manifest.metadata.name
  }'`;
}

function describeSource(sourceKey: string): string {
  return sourceKey.startsWith('config:')
    ? `the platform location ${sourceKey.slice('config:'.length)}`
    : sourceKey;
}

function sameObject(a: AutomationObject, b: AutomationObject): boolean {
  return (
    a.kind === b.kind &&
    a.metadata.name === b.metadata.name &&
    (a.metadata.namespace ?? 'default') === (b.metadata.namespace ?? 'default')
  );
}
