import { requireEntityRead } from './requireEntityRead';
import {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import {
  parseObjectId,
  PromotionPreview,
} from '@imageops/backstage-plugin-image-automation-common';
import { ImageUpdateAutomationReconciler } from '../engine/ImageUpdateAutomationReconciler';
import { ResourceSetReconciler } from '../engine/ResourceSetReconciler';
import { refOfVersion } from '../promotions/gitTargets';
import { ObjectStore } from '../store/ObjectStore';
import { PromotionStore } from '../store/PromotionStore';

/**
 * The exact change a promotion would make, computed on demand: for a Git target, the setter-line
 * diff and commit message against the tip of the push branch (a dry run on a fresh clone); for a
 * cluster target, the server-side dry run of the rendered objects with each changed object's diff
 * and what would be pruned. The preview is stored with the promotion. Reading a preview needs
 * `image-automation.object.read` on the owning entity, as reading the promotion does.
 * @internal
 */
export class PromotionPreviewService {
  constructor(
    private readonly deps: {
      promotions: PromotionStore;
      objects: ObjectStore;
      permissions: PermissionsService;
      automations: Pick<ImageUpdateAutomationReconciler, 'preview'>;
      resourceSets: Pick<ResourceSetReconciler, 'preview'>;
      now?: () => Date;
    },
  ) {}

  async preview(
    id: string,
    credentials: BackstageCredentials,
  ): Promise<PromotionPreview> {
    const record = await this.deps.promotions.get(id);
    if (!record) throw new NotFoundError(`no promotion ${id}`);
    const object = await this.deps.objects.get(record.target.objectId);
    const entityRef = object ? object.entityRef : record.entityRef;
    await requireEntityRead(this.deps.permissions, entityRef, credentials);
    if (!object)
      throw new NotFoundError(`${record.target.objectId} no longer exists`);
    const now = this.deps.now?.() ?? new Date();
    let preview: PromotionPreview;
    if (record.target.type === 'git') {
      const policy = parseObjectId(record.subject).name;
      const { diff, commitMessage } = await this.deps.automations.preview(
        object,
        policy,
        refOfVersion(record.to, record.to.image ?? policy),
        now,
      );
      preview = {
        promotionId: id,
        diff,
        ...(commitMessage ? { commitMessage } : {}),
        computedAt: now.toISOString(),
      };
    } else {
      const cluster = record.target.cluster!;
      const changes = await this.deps.resourceSets.preview(
        object,
        cluster,
        record.subject,
        record.to,
      );
      const changed = changes.filter(
        c => c.action !== 'unchanged' && c.action !== 'skipped',
      );
      preview = {
        promotionId: id,
        diff: changed.map(c => c.diff ?? `${c.subject} ${c.action}\n`).join(''),
        objects: changed.map(c => ({
          cluster,
          object: c.subject,
          action: c.action,
          ...(c.diff ? { diff: c.diff } : {}),
        })),
        computedAt: now.toISOString(),
      };
    }
    const current = await this.deps.promotions.get(id);
    if (current)
      await this.deps.promotions.update(
        id,
        current.revision,
        { preview: JSON.stringify(preview) },
        now,
      );
    return preview;
  }
}
