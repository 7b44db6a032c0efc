import {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  ActionPermission,
  imageAutomationObjectReadPermission,
  imageAutomationObjectUpdatePermission,
  imageAutomationPromotionApprovePermission,
  imageAutomationPromotionForcePermission,
  Page,
  PromotionPin,
  PromotionState,
  PromotionVersion,
  PromotionView,
} from '@imageops/backstage-plugin-image-automation-common';
import { PromotionRecord } from '../store/PromotionStore';
import {
  PROMOTION_DECISION_STATES,
  PromotionOperations,
} from './PromotionOperations';
import { actorOf } from './ObjectService';

const NO_ENTITY =
  'promotions of objects without an owning entity are managed through app-config only';

type Permission = typeof imageAutomationObjectReadPermission;

/**
 * Decides permissions on many entities in one request to the permission framework: for each
 * entity, whether each permission is allowed (in the order given).
 * @internal
 */
export async function authorizeForEntities(
  permissionsService: PermissionsService,
  permissions: Permission[],
  entityRefs: string[],
  credentials: BackstageCredentials,
): Promise<Map<string, boolean[]>> {
  const unique = [...new Set(entityRefs)];
  if (unique.length === 0) return new Map();
  const decisions = await permissionsService.authorize(
    unique.flatMap(resourceRef =>
      permissions.map(permission => ({ permission, resourceRef })),
    ),
    { credentials },
  );
  return new Map(
    unique.map((entityRef, i) => [
      entityRef,
      permissions.map(
        (_, j) =>
          decisions[i * permissions.length + j].result ===
          AuthorizeResult.ALLOW,
      ),
    ]),
  );
}

/**
 * Permission checks for promotions, all on the entity that owns the promotion's automation object:
 * reading needs `image-automation.object.read`; approving and rejecting
 * `image-automation.promotion.approve`; promote now `image-automation.promotion.force`; pins and
 * rollbacks `image-automation.object.update`. Each view says which actions the caller may take.
 * @internal
 */
export class AuthorizedPromotionService {
  constructor(
    private readonly inner: PromotionOperations,
    private readonly permissions: PermissionsService,
  ) {}

  private async decide(
    permissions: Permission[],
    entityRef: string | undefined,
    credentials: BackstageCredentials,
  ) {
    if (!entityRef) return permissions.map(() => false);
    const decisions = await this.permissions.authorize(
      permissions.map(permission => ({ permission, resourceRef: entityRef })),
      { credentials },
    );
    return decisions.map(d => d.result === AuthorizeResult.ALLOW);
  }

  private async require(
    permission: Permission,
    entityRef: string | undefined,
    credentials: BackstageCredentials,
    what: string,
  ) {
    const [allowed] = await this.decide([permission], entityRef, credentials);
    if (!allowed) {
      throw new NotAllowedError(
        entityRef
          ? `you may not ${what} of ${entityRef} (${permission.name})`
          : NO_ENTITY,
      );
    }
  }

  private async withActions(
    record: PromotionRecord,
    credentials: BackstageCredentials,
  ): Promise<PromotionView> {
    const [{ view }] = await this.withActionsAll([record], credentials);
    return view;
  }

  /**
   * Promotions with the caller's actions, each with the entity it belongs to now. The approve and
   * promote-now permissions of all their entities are decided in one request, not one per promotion.
   */
  async withActionsAll(
    records: PromotionRecord[],
    credentials: BackstageCredentials,
  ): Promise<Array<{ entityRef?: string; view: PromotionView }>> {
    const owners = await Promise.all(
      records.map(record => this.inner.ownerOf(record)),
    );
    const decisions = await authorizeForEntities(
      this.permissions,
      [
        imageAutomationPromotionApprovePermission,
        imageAutomationPromotionForcePermission,
      ],
      owners.filter((owner): owner is string => Boolean(owner)),
      credentials,
    );
    return Promise.all(
      records.map(async (record, i) => {
        const entityRef = owners[i];
        const [mayApprove, mayForce] = (entityRef &&
          decisions.get(entityRef)) || [false, false];
        return {
          entityRef,
          view: await this.viewWithActions(
            record,
            entityRef,
            mayApprove,
            mayForce,
            credentials,
          ),
        };
      }),
    );
  }

  private async viewWithActions(
    record: PromotionRecord,
    entityRef: string | undefined,
    mayApprove: boolean,
    mayForce: boolean,
    credentials: BackstageCredentials,
  ): Promise<PromotionView> {
    const view = await this.inner.view(record);
    const actor = actorOf(credentials);
    const action = (
      permitted: boolean,
      permission: string,
      states: PromotionState[],
      extra?: string,
    ): ActionPermission => {
      if (!permitted)
        return {
          allowed: false,
          reason: entityRef
            ? `You lack the ${permission} permission for ${entityRef}`
            : NO_ENTITY,
        };
      if (!states.includes(record.state))
        return { allowed: false, reason: `The promotion is ${record.state}` };
      return extra ? { allowed: false, reason: extra } : { allowed: true };
    };
    const digest = record.to.digest ?? record.to.revision ?? record.to.tag;
    const voted = view.votes.some(
      v => v.actor === actor && v.decision === 'approve' && v.digest === digest,
    );
    return {
      ...view,
      actions: {
        approve: action(
          mayApprove,
          imageAutomationPromotionApprovePermission.name,
          PROMOTION_DECISION_STATES.approve,
          voted ? 'You approved this version already' : undefined,
        ),
        reject: action(
          mayApprove,
          imageAutomationPromotionApprovePermission.name,
          PROMOTION_DECISION_STATES.reject,
        ),
        promoteNow: action(
          mayForce,
          imageAutomationPromotionForcePermission.name,
          PROMOTION_DECISION_STATES.promoteNow,
        ),
      },
    };
  }

  async list(
    filter: {
      entityRef: string;
      states?: PromotionState[];
      limit?: number;
      cursor?: string;
    },
    credentials: BackstageCredentials,
  ): Promise<Page<PromotionView>> {
    await this.require(
      imageAutomationObjectReadPermission,
      filter.entityRef,
      credentials,
      'read the promotions',
    );
    const page = await this.inner.list(filter);
    const items = await this.withActionsAll(page.items, credentials);
    return { items: items.map(item => item.view), nextCursor: page.nextCursor };
  }

  async get(
    id: string,
    credentials: BackstageCredentials,
  ): Promise<PromotionView> {
    const record = await this.inner.find(id);
    await this.require(
      imageAutomationObjectReadPermission,
      await this.inner.ownerOf(record),
      credentials,
      'read the promotions',
    );
    return this.withActions(record, credentials);
  }

  /** The entity that owns a promotion, after checking the caller may read it (for audit records). */
  async entityOf(
    id: string,
    credentials: BackstageCredentials,
  ): Promise<string | undefined> {
    const record = await this.inner.find(id);
    const entityRef = await this.inner.ownerOf(record);
    await this.require(
      imageAutomationObjectReadPermission,
      entityRef,
      credentials,
      'read the promotions',
    );
    return entityRef;
  }

  async approve(
    id: string,
    comment: string | undefined,
    credentials: BackstageCredentials,
  ) {
    const entityRef = await this.entityOf(id, credentials);
    await this.require(
      imageAutomationPromotionApprovePermission,
      entityRef,
      credentials,
      'approve the promotions',
    );
    return this.withActions(
      await this.inner.approve(id, actorOf(credentials), comment),
      credentials,
    );
  }

  async reject(id: string, reason: string, credentials: BackstageCredentials) {
    const entityRef = await this.entityOf(id, credentials);
    await this.require(
      imageAutomationPromotionApprovePermission,
      entityRef,
      credentials,
      'reject the promotions',
    );
    return this.withActions(
      await this.inner.reject(id, actorOf(credentials), reason),
      credentials,
    );
  }

  async promoteNow(
    id: string,
    justification: string,
    credentials: BackstageCredentials,
  ) {
    const entityRef = await this.entityOf(id, credentials);
    await this.require(
      imageAutomationPromotionForcePermission,
      entityRef,
      credentials,
      'promote now',
    );
    return this.withActions(
      await this.inner.promoteNow(id, actorOf(credentials), justification),
      credentials,
    );
  }

  async rollback(
    id: string,
    reason: string,
    credentials: BackstageCredentials,
  ): Promise<PromotionPin> {
    const entityRef = await this.entityOf(id, credentials);
    await this.require(
      imageAutomationObjectUpdatePermission,
      entityRef,
      credentials,
      'roll back the image automation',
    );
    return this.inner.rollback(id, actorOf(credentials), reason);
  }

  /** The entity that owns a target, after checking the caller may change its automation. */
  async requireTargetUpdate(
    targetId: string,
    credentials: BackstageCredentials,
  ): Promise<string | undefined> {
    const object = await this.inner.targetObject(targetId);
    await this.require(
      imageAutomationObjectReadPermission,
      object.entityRef,
      credentials,
      'read the image automation',
    );
    await this.require(
      imageAutomationObjectUpdatePermission,
      object.entityRef,
      credentials,
      'pin the image automation',
    );
    return object.entityRef;
  }

  async pin(
    input: {
      targetId: string;
      subject: string;
      version: PromotionVersion;
      reason: string;
      expiresAt?: string;
    },
    credentials: BackstageCredentials,
  ): Promise<PromotionPin> {
    await this.requireTargetUpdate(input.targetId, credentials);
    return this.inner.pin({ ...input, actor: actorOf(credentials) });
  }

  async unpin(
    targetId: string,
    subject: string,
    credentials: BackstageCredentials,
  ): Promise<void> {
    await this.requireTargetUpdate(targetId, credentials);
    await this.inner.unpin(targetId, subject, actorOf(credentials));
  }
}
