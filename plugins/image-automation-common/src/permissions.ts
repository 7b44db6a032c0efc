import { createPermission } from '@backstage/plugin-permission-common';

/**
 * Reading the automation objects, scans and tags that belong to an entity.
 * A resource permission on the entity, so policies can use catalog conditions such as ownership.
 * @public
 */
export const imageAutomationObjectReadPermission = createPermission({
  name: 'image-automation.object.read',
  attributes: { action: 'read' },
  resourceType: 'catalog-entity',
});

/**
 * Suspending, resuming and requesting a reconcile of an entity's automation objects.
 * @public
 */
export const imageAutomationObjectUpdatePermission = createPermission({
  name: 'image-automation.object.update',
  attributes: { action: 'update' },
  resourceType: 'catalog-entity',
});

/**
 * Approving or rejecting an entity's pending promotions. Approvals count toward a promotion's
 * approval gate; the demo policy grants it to the entity's owners.
 * @public
 */
export const imageAutomationPromotionApprovePermission = createPermission({
  name: 'image-automation.promotion.approve',
  attributes: { action: 'update' },
  resourceType: 'catalog-entity',
});

/**
 * "Promote now": carrying out a promotion whose gates have not passed, with a justification.
 * Separate from approving, so few people hold it.
 * @public
 */
export const imageAutomationPromotionForcePermission = createPermission({
  name: 'image-automation.promotion.force',
  attributes: { action: 'update' },
  resourceType: 'catalog-entity',
});

/** Every permission the plugin defines. @public */
export const imageAutomationPermissions = [
  imageAutomationObjectReadPermission,
  imageAutomationObjectUpdatePermission,
  imageAutomationPromotionApprovePermission,
  imageAutomationPromotionForcePermission,
];
