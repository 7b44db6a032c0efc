import { BackstageCredentials } from '@backstage/backend-plugin-api';
import {
  ActionPermission,
  AutomationObjectView,
  ObjectAction,
  ObjectEvent,
  PolicyExplanation,
  PolicyPreviewRequest,
  Page,
  ScanRecord,
} from '@imageops/backstage-plugin-image-automation-common';
import { TagRecord } from '../store/ScanStore';

/** The operations behind the HTTP API, on behalf of a caller. @internal */
export interface ObjectService {
  listForEntity(entityRef: string, credentials: BackstageCredentials): Promise<AutomationObjectView[]>;
  get(id: string, credentials: BackstageCredentials): Promise<AutomationObjectView>;
  listScans(
    id: string,
    page: { limit?: number; cursor?: string },
    credentials: BackstageCredentials,
  ): Promise<Page<ScanRecord>>;
  listTags(
    id: string,
    page: { limit?: number; cursor?: string; search?: string; includeGone?: boolean },
    credentials: BackstageCredentials,
  ): Promise<Page<TagRecord>>;
  listEvents(
    id: string,
    page: { limit?: number; cursor?: string },
    credentials: BackstageCredentials,
  ): Promise<Page<ObjectEvent>>;
  /** Every stored tag's verdict under an ImagePolicy (the policy's id). */
  explainPolicy(id: string, credentials: BackstageCredentials): Promise<PolicyExplanation>;
  /** The same for a policy spec that is not saved. */
  previewPolicy(request: PolicyPreviewRequest, credentials: BackstageCredentials): Promise<PolicyExplanation>;
  act(id: string, action: ObjectAction, credentials: BackstageCredentials): Promise<AutomationObjectView>;
}

/** Who is acting, as recorded with suspensions and reconcile requests. @internal */
export function actorOf(credentials: BackstageCredentials): string {
  const principal = credentials.principal as { type: string; userEntityRef?: string; subject?: string };
  if (principal.type === 'user' && principal.userEntityRef) return principal.userEntityRef;
  if (principal.type === 'service' && principal.subject) return principal.subject;
  return principal.type;
}

/** Every action allowed: the undecorated view; AuthorizedObjectService narrows it. @internal */
export const allActionsAllowed: Record<ObjectAction, ActionPermission> = {
  suspend: { allowed: true },
  resume: { allowed: true },
  reconcile: { allowed: true },
};
