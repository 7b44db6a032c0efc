import {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError } from '@backstage/errors';
import { CatalogService } from '@backstage/plugin-catalog-node';
import {
  FLEET_OBJECT_HEALTHS,
  FleetFilter,
  FleetObject,
  FleetObjectHealth,
  FleetPromotion,
  FleetView,
  FLUX_OPERATOR_API_VERSION,
  IMAGE_API_VERSION,
  imageAutomationObjectReadPermission,
  imageAutomationObjectUpdatePermission,
  isSupportedKind,
  objectStateLabel,
  OPEN_PROMOTION_STATES,
  SOURCE_API_VERSION,
  tryParseObjectId,
} from '@imageops/backstage-plugin-image-automation-common';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { PromotionRecord, PromotionStore } from '../store/PromotionStore';
import { withObjectActions } from './objectActions';
import {
  AuthorizedPromotionService,
  authorizeForEntities,
} from './AuthorizedPromotionService';
import { toView } from './DefaultObjectService';

/** How long a reconcile may run before the fleet page lists the object as stuck in Reconciling. */
const DEFAULT_RECONCILING_GRACE_MS = 10 * 60_000;

/** What `state=` accepts: an open promotion's state or a failing object's health. */
const FLEET_STATES: readonly string[] = [
  ...OPEN_PROMOTION_STATES,
  ...FLEET_OBJECT_HEALTHS,
];

const PAGE_SIZE = 500;

/** `group:default/team-a` from `team-a`, `group:team-a` or a full ref; lower case, as entity refs compare. */
function normalizeOwner(ref: string, defaultNamespace: string): string {
  return stringifyEntityRef(
    parseEntityRef(ref, { defaultKind: 'group', defaultNamespace }),
  ).toLocaleLowerCase('en-US');
}

/** The kind part of an object id (`<kind>/<namespace>/<name>`); empty for a malformed id. */
function kindOf(id: string): string {
  return tryParseObjectId(id)?.kind ?? '';
}

/**
 * Reads the query of `GET /fleet`: each filter at most once; an unknown kind or state, or an
 * owner that is not an entity ref, is an InputError naming the parameter.
 * @internal
 */
export function parseFleetFilter(query: Record<string, unknown>): FleetFilter {
  const one = (name: keyof FleetFilter): string | undefined => {
    const value = query[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string')
      throw new InputError(`${name} must be given at most once`);
    return value.trim() || undefined;
  };
  const filter: FleetFilter = {};
  const owner = one('owner');
  if (owner !== undefined) {
    try {
      filter.owner = normalizeOwner(owner, 'default');
    } catch {
      throw new InputError(
        `owner must be an entity ref such as group:default/team-a, got '${owner}'`,
      );
    }
  }
  const kind = one('kind');
  if (kind !== undefined) {
    if (
      ![IMAGE_API_VERSION, SOURCE_API_VERSION, FLUX_OPERATOR_API_VERSION].some(
        v => isSupportedKind(v, kind),
      )
    ) {
      throw new InputError(
        `unknown kind '${kind}': expected a kind of automation object, e.g. ImagePolicy`,
      );
    }
    filter.kind = kind;
  }
  const state = one('state');
  if (state !== undefined) {
    if (!FLEET_STATES.includes(state)) {
      throw new InputError(
        `unknown state '${state}'; known: ${FLEET_STATES.join(', ')}`,
      );
    }
    filter.state = state;
  }
  return filter;
}

/** Why an object is listed, and since when. */
type FailingState = Pick<
  FleetObject,
  'health' | 'reason' | 'message' | 'since'
>;

/**
 * The fleet page: across the catalog, every open promotion the caller may act on (approve,
 * reject or promote now) and every automation object that is not Ready, on entities the caller
 * may read (`image-automation.object.read`), with each entity's owner. Permissions are decided
 * in two batched requests whatever the number of entities: the promotions' actions, then read and
 * update on every entity.
 * @internal
 */
export class FleetService {
  constructor(
    private readonly deps: {
      objects: ObjectStore;
      promotionStore: PromotionStore;
      /** The caller's actions on promotions (AuthorizedPromotionService). */
      promotions: Pick<AuthorizedPromotionService, 'withActionsAll'>;
      permissions: PermissionsService;
      catalog: CatalogService;
      now?: () => Date;
      /** How long a reconcile may run before the object is listed; default 10 minutes. */
      reconcilingGraceMs?: number;
    },
  ) {}

  async fleet(
    filter: FleetFilter,
    credentials: BackstageCredentials,
  ): Promise<FleetView> {
    const now = this.deps.now?.() ?? new Date();
    const [objects, records] = await Promise.all([
      this.deps.objects.list(),
      this.openPromotions(),
    ]);
    const promotions = await this.deps.promotions.withActionsAll(
      records,
      credentials,
    );
    const decisions = await authorizeForEntities(
      this.deps.permissions,
      [
        imageAutomationObjectReadPermission,
        imageAutomationObjectUpdatePermission,
      ],
      [
        ...objects.map(o => o.entityRef),
        ...promotions.map(p => p.entityRef),
      ].filter((ref): ref is string => Boolean(ref)),
      credentials,
    );
    const readable = (entityRef: string | undefined): entityRef is string =>
      Boolean(entityRef && decisions.get(entityRef)?.[0]);

    const actionable = promotions.filter(
      p =>
        readable(p.entityRef) &&
        Object.values(p.view.actions).some(action => action.allowed),
    );
    const failing = objects
      .filter(o => readable(o.entityRef))
      .map(object => {
        const view = toView(object);
        return {
          object,
          view,
          state: this.failingState(object, view.suspended, now),
        };
      })
      .filter(
        (f): f is typeof f & { state: FailingState } => f.state !== undefined,
      );

    const owners = await this.ownersOf(
      [
        ...actionable.map(p => p.entityRef!),
        ...failing.map(f => f.object.entityRef!),
      ],
      credentials,
    );
    const fleetPromotions: FleetPromotion[] = actionable.map(
      ({ entityRef, view }) => ({
        ...view,
        entityRef,
        owner: owners.get(entityRef!),
      }),
    );
    const fleetObjects: FleetObject[] = failing
      .map(({ object, view, state }) => ({
        ...withObjectActions(
          view,
          Boolean(decisions.get(object.entityRef!)?.[1]),
        ),
        owner: owners.get(object.entityRef!),
        ...state,
      }))
      .sort(
        (a, b) =>
          FLEET_OBJECT_HEALTHS.indexOf(a.health) -
            FLEET_OBJECT_HEALTHS.indexOf(b.health) || a.id.localeCompare(b.id),
      );

    const promotionKinds = (p: FleetPromotion) => [
      kindOf(p.subject),
      kindOf(p.target.objectId),
    ];
    const matches = (
      owner: string | undefined,
      kinds: string[],
      state: string,
    ) =>
      (!filter.owner || owner === filter.owner) &&
      (!filter.kind || kinds.includes(filter.kind)) &&
      (!filter.state || state === filter.state);
    const states = new Set<string>([
      ...fleetPromotions.map(p => p.state),
      ...fleetObjects.map(o => o.health),
    ]);
    return {
      promotions: fleetPromotions.filter(p =>
        matches(p.owner, promotionKinds(p), p.state),
      ),
      failing: fleetObjects.filter(o => matches(o.owner, [o.kind], o.health)),
      facets: {
        owners: sortedUnique(
          [...fleetPromotions, ...fleetObjects].map(item => item.owner),
        ),
        kinds: sortedUnique([
          ...fleetPromotions.flatMap(promotionKinds),
          ...fleetObjects.map(o => o.kind),
        ]),
        states: FLEET_STATES.filter(s => states.has(s)),
      },
    };
  }

  /** Every open promotion, newest first, page by page. */
  private async openPromotions(): Promise<PromotionRecord[]> {
    const records: PromotionRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.deps.promotionStore.list({
        states: [...OPEN_PROMOTION_STATES],
        limit: PAGE_SIZE,
        cursor,
      });
      records.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return records;
  }

  /**
   * The state an object is listed in, or undefined when it is Ready, still reconciling within the
   * grace period, or has not been reconciled yet. Stalled wins even over Suspended: resuming would
   * not fix it, only a manifest change does.
   */
  private failingState(
    object: StoredObject,
    suspended: boolean,
    now: Date,
  ): FailingState | undefined {
    const { label, condition } = objectStateLabel(object.status, suspended);
    const explained = (state: FleetObjectHealth): FailingState => ({
      health: state,
      ...(condition?.reason ? { reason: condition.reason } : {}),
      ...(condition?.message ? { message: condition.message } : {}),
      ...(condition?.lastTransitionTime
        ? { since: condition.lastTransitionTime }
        : {}),
    });
    switch (label) {
      case 'Stalled':
      case 'Failing':
        return explained(label);
      case 'Suspended':
        // Suspended by a person, or by `spec.suspend` in the manifest.
        return object.suspended
          ? {
              health: 'Suspended',
              message: `Suspended by ${object.suspendedBy ?? 'someone'}`,
              ...(object.suspendedAt ? { since: object.suspendedAt } : {}),
            }
          : {
              health: 'Suspended',
              message: 'Suspended by spec.suspend in the manifest',
            };
      case 'Reconciling': {
        const grace =
          this.deps.reconcilingGraceMs ?? DEFAULT_RECONCILING_GRACE_MS;
        const since = condition?.lastTransitionTime;
        return since && now.getTime() - Date.parse(since) >= grace
          ? explained('Reconciling')
          : undefined;
      }
      case 'Unknown':
        return object.lastRunAt ? explained('Unknown') : undefined;
      default:
        return undefined;
    }
  }

  /** The owner (`spec.owner`) of each entity, read from the catalog in one request with the caller's credentials. */
  private async ownersOf(
    entityRefs: string[],
    credentials: BackstageCredentials,
  ): Promise<Map<string, string>> {
    const refs = [...new Set(entityRefs)];
    if (refs.length === 0) return new Map();
    const { items } = await this.deps.catalog.getEntitiesByRefs(
      {
        entityRefs: refs,
        fields: ['kind', 'metadata.namespace', 'metadata.name', 'spec.owner'],
      },
      { credentials },
    );
    const owners = new Map<string, string>();
    items.forEach((entity, i) => {
      const owner = entity?.spec?.owner;
      if (typeof owner !== 'string') return;
      try {
        owners.set(
          refs[i],
          normalizeOwner(owner, entity!.metadata.namespace ?? 'default'),
        );
      } catch {
        // An owner the catalog accepted but that is no entity ref: the entity is listed without one.
      }
    });
    return owners;
  }
}

function sortedUnique(values: Array<string | undefined>): string[] {
  return [...new Set(values.filter((v): v is string => Boolean(v)))].sort();
}
