import { Config } from '@backstage/config';
import {
  Entity,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';

/**
 * Which namespaces the objects of a catalog entity may live in and refer to (issue #13: catalog
 * authors are untrusted). Objects from `imageAutomation.locations` are platform-owned and are not
 * limited here.
 * @internal
 */
export interface TenancySettings {
  grants: Array<{ entity?: string; owner?: string; namespaces: string[] }>;
  /** Whether an entity may use the namespace named after it (see {@link Tenancy}). Default true. */
  defaultNamespace: boolean;
}

/** Namespaces never granted by default: only an explicit grant gives them. @internal */
export function isReservedNamespace(namespace: string): boolean {
  return (
    namespace === 'default' ||
    namespace === 'flux-system' ||
    namespace.startsWith('kube-')
  );
}

function normalizeRef(ref: string, defaultKind: string): string {
  return stringifyEntityRef(
    parseEntityRef(ref.trim(), { defaultKind, defaultNamespace: 'default' }),
  ).toLowerCase();
}

/** Reads `imageAutomation.tenancy`; a malformed grant fails the plugin's start (fail closed). @internal */
export function readTenancySettings(
  config: Config | undefined,
): TenancySettings {
  const tenancy = config?.getOptionalConfig('tenancy');
  const grants = (tenancy?.getOptionalConfigArray('namespaces') ?? []).map(
    grant => {
      const entity = grant.getOptionalString('entity');
      const owner = grant.getOptionalString('owner');
      if (Boolean(entity) === Boolean(owner)) {
        throw new Error(
          'imageAutomation.tenancy.namespaces: each grant needs exactly one of entity or owner',
        );
      }
      return {
        ...(entity ? { entity: normalizeRef(entity, 'component') } : {}),
        ...(owner ? { owner: normalizeRef(owner, 'group') } : {}),
        namespaces: grant.getStringArray('namespaces'),
      };
    },
  );
  return {
    grants,
    defaultNamespace: tenancy?.getOptionalBoolean('defaultNamespace') ?? true,
  };
}

/** Whether `namespace` is among `granted` (`*` grants every namespace). @internal */
export function namespaceGranted(
  granted: readonly string[] | undefined,
  namespace: string,
): boolean {
  return Boolean(
    granted && (granted.includes('*') || granted.includes(namespace)),
  );
}

/** The entity's owners as lower-case refs: its `ownedBy` relations and `spec.owner` (a group by default). */
function ownersOf(entity: Entity): Set<string> {
  const owners = new Set<string>();
  for (const relation of entity.relations ?? []) {
    if (relation.type === 'ownedBy')
      owners.add(relation.targetRef.toLowerCase());
  }
  const owner = (entity.spec as { owner?: unknown } | undefined)?.owner;
  if (typeof owner === 'string' && owner) {
    try {
      owners.add(
        stringifyEntityRef(
          parseEntityRef(owner, {
            defaultKind: 'group',
            defaultNamespace: entity.metadata.namespace ?? 'default',
          }),
        ).toLowerCase(),
      );
    } catch {
      // An unparsable owner grants nothing.
    }
  }
  return owners;
}

/** What one entity was granted, and why its default namespace was withheld, if it was. @internal */
export interface EntityGrant {
  namespaces: string[];
  /** Why the namespace named after the entity is not granted by default. */
  defaultWithheld?: string;
}

/**
 * The namespace grants of one manifest sync. An entity gets every namespace its grants name (by
 * entity ref, or by an owner group), plus by default the namespace named after it
 * (`metadata.name`) unless that namespace is reserved (`default`, `flux-system`, `kube-*`), named
 * by any explicit grant, used by a platform location, or also the name of another entity with
 * manifests: a default never lets one tenant reach into a namespace someone else may use.
 * @internal
 */
export class Tenancy {
  private readonly explicitNamespaces = new Set<string>();
  private readonly nameCounts = new Map<string, number>();

  constructor(
    private readonly settings: TenancySettings,
    entities: Entity[],
    private readonly platformNamespaces: ReadonlySet<string>,
  ) {
    for (const grant of settings.grants)
      grant.namespaces.forEach(ns => this.explicitNamespaces.add(ns));
    for (const entity of entities) {
      const name = entity.metadata.name;
      this.nameCounts.set(name, (this.nameCounts.get(name) ?? 0) + 1);
    }
  }

  grantFor(entity: Entity): EntityGrant {
    const entityRef = stringifyEntityRef(entity).toLowerCase();
    const owners = ownersOf(entity);
    const namespaces = new Set<string>();
    for (const grant of this.settings.grants) {
      if (
        (grant.entity && grant.entity === entityRef) ||
        (grant.owner && owners.has(grant.owner))
      ) {
        grant.namespaces.forEach(ns => namespaces.add(ns));
      }
    }
    const name = entity.metadata.name;
    let defaultWithheld: string | undefined;
    if (!this.settings.defaultNamespace) {
      defaultWithheld =
        'default namespaces are disabled (imageAutomation.tenancy.defaultNamespace: false)';
    } else if (isReservedNamespace(name)) {
      defaultWithheld = `the namespace '${name}' named after the entity is reserved`;
    } else if (this.explicitNamespaces.has(name)) {
      defaultWithheld = `the namespace '${name}' named after the entity is granted explicitly in imageAutomation.tenancy.namespaces`;
    } else if (this.platformNamespaces.has(name)) {
      defaultWithheld = `the namespace '${name}' named after the entity is used by a platform location`;
    } else if ((this.nameCounts.get(name) ?? 0) > 1) {
      defaultWithheld = `the namespace '${name}' named after the entity is also named after another entity`;
    } else {
      namespaces.add(name);
    }
    return {
      namespaces: [...namespaces].sort(),
      ...(defaultWithheld && !namespaces.has(name) ? { defaultWithheld } : {}),
    };
  }
}

/** The labels a namespace has as far as `accessFrom` sees them: Kubernetes' automatic name label. */
function namespaceLabels(namespace: string): Record<string, string> {
  return { 'kubernetes.io/metadata.name': namespace };
}

/**
 * Flux's `accessFrom`: the object may be referred to from `namespace` when one of its namespace
 * selectors matches. Namespaces are not read from a cluster here, so the only label a namespace has
 * is the one Kubernetes sets on every namespace, `kubernetes.io/metadata.name: <name>`; an empty
 * `matchLabels` matches every namespace (as in Flux).
 * @internal
 */
export function accessFromAdmits(
  accessFrom:
    | { namespaceSelectors?: Array<{ matchLabels?: Record<string, string> }> }
    | undefined,
  namespace: string,
): boolean {
  const labels = namespaceLabels(namespace);
  return (accessFrom?.namespaceSelectors ?? []).some(selector =>
    Object.entries(selector?.matchLabels ?? {}).every(
      ([key, value]) => labels[key] === value,
    ),
  );
}

/** The fields of a stored object that decide what it may refer to. @internal */
export interface Referrer {
  namespace: string;
  entityRef?: string;
  source: { type: string };
  grantedNamespaces?: string[];
}

/**
 * Why an object may not refer to `Kind namespace/name`, or undefined when it may: a platform object
 * may (its own kind's rules still apply), an entity's object may refer into its own namespace and the
 * namespaces granted to its entity, or to an object whose `accessFrom` admits the referrer's namespace.
 * The answer does not depend on whether the target exists.
 * @internal
 */
export function referenceDenied(
  referrer: Referrer,
  field: string,
  target: { kind: string; namespace: string; name: string },
  targetAccessFrom?: Parameters<typeof accessFromAdmits>[0],
  supportsAccessFrom = false,
): string | undefined {
  if (referrer.source.type !== 'catalog') return undefined;
  if (
    target.namespace === referrer.namespace &&
    namespaceGranted(referrer.grantedNamespaces, referrer.namespace)
  ) {
    return undefined;
  }
  if (namespaceGranted(referrer.grantedNamespaces, target.namespace))
    return undefined;
  if (
    supportsAccessFrom &&
    accessFromAdmits(targetAccessFrom, referrer.namespace)
  )
    return undefined;
  const accessFrom = supportsAccessFrom
    ? ` and the ${target.kind}'s accessFrom does not admit namespace '${referrer.namespace}'`
    : '';
  return (
    `${field}: cross-namespace reference to ${target.kind} '${target.namespace}/${target.name}' denied: ` +
    `namespace '${target.namespace}' is not granted to ${
      referrer.entityRef ?? 'this object'
    }` +
    `${accessFrom} (imageAutomation.tenancy.namespaces)`
  );
}
