/**
 * What the online commands read: an entity's automation objects, or those of every entity the
 * caller may read (the catalog's entities with the manifests annotation or a kubernetes id).
 */

import { mapLimit } from '../../util/mapLimit';
import type { AutomationObjectView } from '@imageops/backstage-plugin-image-automation-common';
import { BackendClient, CliError } from './client';

/** An entity ref split into its parts, lower case. @internal */
export interface EntityName {
  kind: string;
  namespace: string;
  name: string;
}

/**
 * `component:default/podinfo`, `component:podinfo` or `podinfo` (kind `component`, namespace
 * `default` when left out), as Backstage reads entity refs.
 * @internal
 */
export function parseEntity(ref: string): EntityName {
  const m = ref.trim().match(/^(?:([^:/\s]+):)?(?:([^:/\s]+)\/)?([^:/\s]+)$/);
  if (!m) {
    throw new CliError(
      `invalid --entity '${ref}': expected an entity ref such as component:default/podinfo`,
      2,
    );
  }
  const lower = (s: string) => s.toLocaleLowerCase('en-US');
  return {
    kind: lower(m[1] ?? 'component'),
    namespace: lower(m[2] ?? 'default'),
    name: lower(m[3]),
  };
}

/** `component:default/podinfo`. @internal */
export function entityRefString(e: EntityName): string {
  return `${e.kind}:${e.namespace}/${e.name}`;
}

/** `/entities/component/default/podinfo`. @internal */
export function entityPath(e: EntityName): string {
  return `/entities/${[e.kind, e.namespace, e.name]
    .map(encodeURIComponent)
    .join('/')}`;
}

/** The objects of one entity, as the API lists them. @internal */
export async function objectsOfEntity(
  client: BackendClient,
  entity: EntityName,
): Promise<AutomationObjectView[]> {
  const ref = entityRefString(entity);
  const body = await client.get<{ items: AutomationObjectView[] }>(
    `${entityPath(entity)}/objects`,
    `entity ${ref}`,
  );
  if (body.items.length === 0) {
    // The API lists nothing for an entity the catalog does not have: say so, a typo is likelier.
    await client.request(
      'GET',
      `/entities/by-name/${entityPath(entity).slice('/entities/'.length)}`,
      {
        what: `entity ${ref} (the catalog has no such entity)`,
        plugin: 'catalog',
      },
    );
  }
  return body.items;
}

/** The annotations that give an entity automation objects. */
const ENTITY_FILTERS = [
  'metadata.annotations.image-automation.io/manifests',
  'metadata.annotations.backstage.io/kubernetes-id',
];

/** Every catalog entity that may have automation objects and that the caller may read. @internal */
export async function automationEntities(
  client: BackendClient,
): Promise<EntityName[]> {
  const entities: EntityName[] = [];
  let cursor: string | undefined;
  do {
    const query = cursor
      ? `cursor=${encodeURIComponent(cursor)}`
      : [
          ...ENTITY_FILTERS.map(f => `filter=${encodeURIComponent(f)}`),
          'fields=kind,metadata.namespace,metadata.name',
          'limit=500',
        ].join('&');
    const page = await client.request<{
      items: Array<{
        kind: string;
        metadata: { namespace?: string; name: string };
      }>;
      pageInfo?: { nextCursor?: string };
    }>('GET', `/entities/by-query?${query}`, {
      what: 'the catalog',
      plugin: 'catalog',
    });
    for (const item of page.items) {
      entities.push(
        parseEntity(
          `${item.kind}:${item.metadata.namespace ?? 'default'}/${
            item.metadata.name
          }`,
        ),
      );
    }
    cursor = page.pageInfo?.nextCursor;
  } while (cursor);
  return entities;
}

/**
 * The objects `get` and `tree` show: those of `--entity`, or of every entity the caller may
 * read (an entity whose objects the caller may not read is skipped, as the fleet page does),
 * narrowed to one namespace with `-n`. Sorted by kind order, namespace, name.
 * @internal
 */
export async function listObjects(
  client: BackendClient,
  options: { entity?: EntityName; namespace?: string },
): Promise<AutomationObjectView[]> {
  let objects: AutomationObjectView[];
  if (options.entity) {
    objects = await objectsOfEntity(client, options.entity);
  } else {
    const entities = await automationEntities(client);
    const lists = await mapLimit(entities, 8, async entity => {
      try {
        return await objectsOfEntity(client, entity);
      } catch (error) {
        if (
          error instanceof CliError &&
          /^(forbidden|not found)/.test(error.message)
        )
          return [];
        throw error;
      }
    });
    const seen = new Set<string>();
    objects = lists.flat().filter(o => !seen.has(o.id) && seen.add(o.id));
  }
  return objects
    .filter(
      o => options.namespace === undefined || o.namespace === options.namespace,
    )
    .sort(
      (a, b) =>
        a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name),
    );
}

/**
 * An object named on the command line: `KIND/NAME` (with `-n`, default `flux-system` as flux) or
 * `KIND/NAMESPACE/NAME`; the kind by any name `get` accepts.
 * @internal
 */
export function parseObjectRef(
  ref: string,
  namespace: string | undefined,
  kindOf: (word: string) => string | undefined,
): { kind: string; namespace: string; name: string; id: string } {
  const parts = ref.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some(p => !p)) {
    throw new CliError(
      `invalid object '${ref}': expected KIND/NAME (with -n NAMESPACE) or KIND/NAMESPACE/NAME`,
      2,
    );
  }
  const kind = kindOf(parts[0]);
  if (!kind) {
    throw new CliError(
      `unknown kind '${parts[0]}': expected GitRepository, ImageRepository, ImagePolicy, ImageUpdateAutomation, ResourceSetInputProvider or ResourceSet`,
      2,
    );
  }
  if (parts.length === 3 && namespace !== undefined && namespace !== parts[1]) {
    throw new CliError(
      `'${ref}' names namespace '${parts[1]}' but -n says '${namespace}'`,
      2,
    );
  }
  const ns = parts.length === 3 ? parts[1] : namespace ?? 'flux-system';
  const name = parts[parts.length - 1];
  // The object id's format (the common package's `objectId`), written out: the bundled CLI imports
  // only types from the common package, whose index would bundle the permission framework too.
  return { kind, namespace: ns, name, id: `${kind}/${ns}/${name}` };
}

/** `/objects/<kind>/<ns>/<name>`. @internal */
export function objectPath(ref: {
  kind: string;
  namespace: string;
  name: string;
}): string {
  return `/objects/${[ref.kind, ref.namespace, ref.name]
    .map(encodeURIComponent)
    .join('/')}`;
}
