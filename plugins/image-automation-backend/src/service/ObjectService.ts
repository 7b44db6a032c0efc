import { BackstageCredentials } from '@backstage/backend-plugin-api';
import {
  AutomationObjectView,
  ObjectAction,
  ObjectEvent,
  PolicyExplanation,
  PolicyPreviewRequest,
  Page,
  ResourceSetInventoryView,
  ScanRecord,
} from '@imageops/backstage-plugin-image-automation-common';
import { TagRecord } from '../store/ScanStore';

/** The operations behind the HTTP API, on behalf of a caller. @internal */
export interface ObjectService {
  listForEntity(
    entityRef: string,
    credentials: BackstageCredentials,
  ): Promise<AutomationObjectView[]>;
  get(
    id: string,
    credentials: BackstageCredentials,
  ): Promise<AutomationObjectView>;
  listScans(
    id: string,
    page: { limit?: number; cursor?: string },
    credentials: BackstageCredentials,
  ): Promise<Page<ScanRecord>>;
  listTags(
    id: string,
    page: {
      limit?: number;
      cursor?: string;
      search?: string;
      includeGone?: boolean;
    },
    credentials: BackstageCredentials,
  ): Promise<Page<TagRecord>>;
  listEvents(
    id: string,
    page: { limit?: number; cursor?: string },
    credentials: BackstageCredentials,
  ): Promise<Page<ObjectEvent>>;
  /** What a ResourceSet (its id) applied, per cluster: object references only. */
  resourceSetInventory(
    id: string,
    credentials: BackstageCredentials,
  ): Promise<ResourceSetInventoryView>;
  /** Every stored tag's verdict under an ImagePolicy (the policy's id). */
  explainPolicy(
    id: string,
    credentials: BackstageCredentials,
  ): Promise<PolicyExplanation>;
  /** The same for a policy spec that is not saved. */
  previewPolicy(
    request: PolicyPreviewRequest,
    credentials: BackstageCredentials,
  ): Promise<PolicyExplanation>;
  act(
    id: string,
    action: ObjectAction,
    credentials: BackstageCredentials,
  ): Promise<AutomationObjectView>;
}

/**
 * The same operations without a caller's permission checks (DefaultObjectService implements them
 * over the stores): what AuthorizedObjectService decorates. A view's actions are those the object's
 * state allows, and `act` refuses (ConflictError) an action the state does not allow.
 * @internal
 */
export interface ObjectOperations {
  /** The object's owning entity, for permission checks; NotFoundError without such an object. */
  find(id: string): Promise<{ entityRef?: string }>;
  /** The ImageRepository a policy spec (in `namespace`) refers to, for permission checks on previews. */
  repositoryOf(
    namespace: string,
    spec: unknown,
  ): Promise<{ entityRef?: string }>;
  listForEntity(entityRef: string): Promise<AutomationObjectView[]>;
  get(id: string): Promise<AutomationObjectView>;
  listScans(
    id: string,
    page: { limit?: number; cursor?: string },
  ): Promise<Page<ScanRecord>>;
  listTags(
    id: string,
    page: {
      limit?: number;
      cursor?: string;
      search?: string;
      includeGone?: boolean;
    },
  ): Promise<Page<TagRecord>>;
  listEvents(
    id: string,
    page: { limit?: number; cursor?: string },
  ): Promise<Page<ObjectEvent>>;
  resourceSetInventory(id: string): Promise<ResourceSetInventoryView>;
  explainPolicy(id: string): Promise<PolicyExplanation>;
  previewPolicy(request: PolicyPreviewRequest): Promise<PolicyExplanation>;
  /** Records the action of the caller `credentials` name (the actor). */
  act(
    id: string,
    action: ObjectAction,
    credentials: BackstageCredentials,
  ): Promise<AutomationObjectView>;
}

/** Who is acting, as recorded with suspensions and reconcile requests. @internal */
export function actorOf(credentials: BackstageCredentials): string {
  const principal = credentials.principal as {
    type: string;
    userEntityRef?: string;
    subject?: string;
  };
  if (principal.type === 'user' && principal.userEntityRef)
    return principal.userEntityRef;
  if (principal.type === 'service' && principal.subject)
    return principal.subject;
  return principal.type;
}

/**
 * The reasons of the events a suspend and a resume record. Flux's controllers record none
 * (`flux suspend` only patches `spec.suspend`); here the object keeps only the last one, so the
 * events are the history, named in Flux's style (a CamelCase reason, the sentence in the message).
 * @internal
 */
export const SUSPENSION_REASONS = {
  suspend: 'Suspended',
  resume: 'Resumed',
} as const;

const SUSPENSION_VERBS = { suspend: 'suspended', resume: 'resumed' } as const;

/** The event of a suspend or resume: `user:default/jane suspended ImagePolicy/apps/web`. @internal */
export function suspensionEvent(
  objectId: string,
  action: 'suspend' | 'resume',
  actor: string,
  now: Date,
): Omit<ObjectEvent, 'id'> {
  return {
    objectId,
    time: now.toISOString(),
    type: 'Normal',
    reason: SUSPENSION_REASONS[action],
    message: `${actor} ${SUSPENSION_VERBS[action]} ${objectId}`,
  };
}

/** The action and actor of an event {@link suspensionEvent} made; undefined for any other event. @internal */
export function suspensionOfEvent(
  event: ObjectEvent,
): { action: 'suspend' | 'resume'; actor?: string } | undefined {
  const action = (['suspend', 'resume'] as const).find(
    a => SUSPENSION_REASONS[a] === event.reason,
  );
  if (!action) return undefined;
  const tail = ` ${SUSPENSION_VERBS[action]} ${event.objectId}`;
  const actor = event.message.endsWith(tail)
    ? event.message.slice(0, -tail.length)
    : '';
  return { action, ...(actor ? { actor } : {}) };
}
