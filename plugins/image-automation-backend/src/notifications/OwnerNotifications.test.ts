import { mockServices } from '@backstage/backend-test-utils';
import {
  NotificationSendOptions,
  NotificationService,
} from '@backstage/plugin-notifications-node';
import {
  ObjectStatus,
  PROMOTION_ANNOTATIONS as A,
  PromotionVersion,
} from '@imageops/backstage-plugin-image-automation-common';
import { markFailed, markReady, markStalled } from '../engine/conditions';
import { gitTarget } from '../promotions/gitTargets';
import { clusterTarget } from '../promotions/clusterTargets';
import {
  PromotionPlanner,
  TargetSelection,
} from '../promotions/PromotionPlanner';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabasePromotionStore } from '../store/DatabasePromotionStore';
import { PromotionRecord } from '../store/PromotionStore';
import { createStoreTestDatabases } from '../store/testDatabases';
import {
  entityTabLink,
  NOTIFICATION_TOPICS,
  NOTIFICATIONS_ANNOTATION,
  objectNotice,
  OwnerNotifications,
  ownerNotifyingPromotionStore,
  promotionNotice,
} from './OwnerNotifications';

jest.setTimeout(60_000);

const databases = createStoreTestDatabases();

const shopRef = 'component:default/shop';
const subject = 'ImagePolicy/apps/web';
const prod = gitTarget('ImageUpdateAutomation/apps/prod');
const jane = 'user:default/jane';
const v1: PromotionVersion = {
  image: 'ghcr.io/acme/web',
  tag: '1.0.0',
  digest: 'sha256:1000',
};
const v2: PromotionVersion = {
  image: 'ghcr.io/acme/web',
  tag: '1.1.0',
  digest: 'sha256:1100',
};
const v3: PromotionVersion = {
  image: 'ghcr.io/acme/web',
  tag: '1.2.0',
  digest: 'sha256:1200',
};
const at = (minute: number) => new Date(Date.UTC(2030, 0, 1, 0, minute));

/** The notification service's calls, as the notifications backend would receive them. */
class RecordingNotifications implements NotificationService {
  readonly sent: NotificationSendOptions[] = [];
  failWith?: Error;
  hang = false;
  async send(options: NotificationSendOptions) {
    if (this.hang) await new Promise(() => {});
    if (this.failWith) throw this.failWith;
    this.sent.push(options);
  }
}

function owners(
  entities: Record<string, Record<string, string>>,
  notifications = new RecordingNotifications(),
) {
  const logger = mockServices.logger.mock();
  const service = new OwnerNotifications({
    notifications,
    logger,
    entityAnnotations: async ref => entities[ref],
    sendTimeoutMs: 200,
  });
  return { service, notifications, logger };
}

describe('entityTabLink', () => {
  it('links the Image updates tab as the catalog spells entity routes', () => {
    expect(entityTabLink('Component:Default/Shop')).toBe(
      '/catalog/default/component/Shop/image-updates',
    );
    expect(entityTabLink(shopRef, { object: 'ImagePolicy/apps/web' })).toBe(
      '/catalog/default/component/shop/image-updates?object=ImagePolicy%2Fapps%2Fweb',
    );
  });
});

describe('objectNotice', () => {
  const object = {
    id: 'ImageRepository/apps/web',
    kind: 'ImageRepository',
    namespace: 'apps',
    name: 'web',
    entityRef: shopRef,
  };
  const fresh: ObjectStatus = {};
  const stalledAuth = markStalled(
    fresh,
    'InvalidSecret',
    'secret apps/creds has no .dockerconfigjson',
    at(0),
    1,
  );

  it('tells the owners when an object becomes Stalled, and updates the same notice when it recovers', () => {
    const stalled = objectNotice(object, fresh, stalledAuth);
    expect(stalled).toEqual({
      entityRef: shopRef,
      payload: {
        title: 'ImageRepository apps/web is stalled: InvalidSecret',
        description: 'secret apps/creds has no .dockerconfigjson',
        severity: 'high',
        topic: NOTIFICATION_TOPICS.stalled,
        scope: 'image-automation.stalled:ImageRepository/apps/web',
        link: '/catalog/default/component/shop/image-updates?object=ImageRepository%2Fapps%2Fweb',
      },
    });
    // Still stalled for the same reason: nothing new to say.
    expect(
      objectNotice(
        object,
        stalledAuth,
        markStalled(stalledAuth, 'InvalidSecret', 'again', at(1), 1),
      ),
    ).toBeUndefined();
    // Stalled for another reason: the notice is updated.
    expect(
      objectNotice(
        object,
        stalledAuth,
        markStalled(stalledAuth, 'InvalidPolicy', 'bad range', at(1), 2),
      )?.payload.title,
    ).toBe('ImageRepository apps/web is stalled: InvalidPolicy');
    const recovered = objectNotice(
      object,
      stalledAuth,
      markReady(
        stalledAuth,
        'Succeeded',
        'successful scan: found 12 tags',
        at(2),
        2,
      ),
    );
    expect(recovered?.payload).toMatchObject({
      title: 'ImageRepository apps/web recovered',
      description:
        'ImageRepository apps/web is ready again: successful scan: found 12 tags (was stalled: InvalidSecret)',
      severity: 'low',
      scope: stalled!.payload.scope,
    });
    expect(
      objectNotice(
        object,
        stalledAuth,
        markFailed(stalledAuth, 'AuthenticationFailed', 'HTTP 401', at(2), 2),
      )?.payload.description,
    ).toBe(
      'ImageRepository apps/web is no longer stalled: HTTP 401 (was stalled: InvalidSecret)',
    );
  });

  it('says nothing for retried failures, ready objects, or objects without an entity', () => {
    expect(
      objectNotice(
        object,
        fresh,
        markFailed(fresh, 'AuthenticationFailed', 'HTTP 401', at(0), 1),
      ),
    ).toBeUndefined();
    expect(
      objectNotice(
        object,
        fresh,
        markReady(fresh, 'Succeeded', 'ok', at(0), 1),
      ),
    ).toBeUndefined();
    expect(
      objectNotice({ ...object, entityRef: undefined }, fresh, stalledAuth),
    ).toBeUndefined();
  });
});

describe('promotionNotice', () => {
  const record: PromotionRecord = {
    id: 'p1',
    entityRef: shopRef,
    target: clusterTarget('ResourceSet/apps/web', 'prod'),
    subject: 'ResourceSetInputProvider/apps/web',
    from: v1,
    to: v2,
    state: 'rejected',
    gates: [],
    history: [
      {
        state: 'rejected',
        at: at(1).toISOString(),
        by: jane,
        note: 'not this week',
      },
    ],
    createdAt: at(0).toISOString(),
    updatedAt: at(1).toISOString(),
    revision: 3,
  };

  it('says who rejected a promotion, naming the cluster target', () => {
    expect(promotionNotice({ ...record, state: 'pending' }, record)).toEqual({
      entityRef: shopRef,
      payload: {
        title:
          'Rejected web 1.0.0 → 1.1.0 for ResourceSet/apps/web in cluster prod',
        description: 'user:default/jane rejected it: not this week',
        severity: 'low',
        topic: NOTIFICATION_TOPICS.promotions,
        scope:
          'image-automation.promotions:cluster:ResourceSet/apps/web@prod:ResourceSetInputProvider/apps/web',
        link: '/catalog/default/component/shop/image-updates',
      },
    });
    expect(promotionNotice(record, record)).toBeUndefined();
    expect(
      promotionNotice(
        { ...record, state: 'pending' },
        { ...record, entityRef: undefined },
      ),
    ).toBeUndefined();
  });
});

describe.each(databases.eachSupportedId())(
  'owner notifications of the promotion planner on %p',
  databaseId => {
    async function setup(entities: Record<string, Record<string, string>>) {
      const knex = await databases.init(databaseId);
      const store = await DatabasePromotionStore.create({ knex });
      const objects = await DatabaseObjectStore.create({
        knex,
        skipMigrations: true,
      });
      const { service, notifications, logger } = owners(entities);
      const promotions = ownerNotifyingPromotionStore(store, service);
      const planner = new PromotionPlanner({
        promotions,
        objects,
        entityAnnotations: async ref => entities[ref],
      });
      return { planner, promotions, service, notifications, logger };
    }
    const approvals = { [A.approvals]: '2' };
    const selection = (
      overrides: Partial<TargetSelection> = {},
    ): TargetSelection => ({
      entityRef: shopRef,
      target: prod,
      subject,
      carried: v1,
      selected: v2,
      ...overrides,
    });

    it('asks the owners to approve once, then updates the same notice when the promotion is applied', async () => {
      const { planner, promotions, service, notifications } = await setup({
        [shopRef]: approvals,
      });
      const decision = await planner.decide(selection(), at(0), []);
      expect(decision).toMatchObject({
        action: 'hold',
        promotion: { state: 'pending' },
      });
      // Later passes that find nothing new, and a vote short of the gate, say nothing again.
      await planner.decide(selection(), at(1), []);
      const pending = (decision as { promotion: PromotionRecord }).promotion;
      await promotions.vote(pending.id, {
        actor: jane,
        decision: 'approve',
        digest: v2.digest!,
        at: at(1).toISOString(),
      });
      expect(await planner.decide(selection(), at(1), [])).toMatchObject({
        promotion: {
          state: 'pending',
          gates: [expect.objectContaining({ summary: 'approval 1/2' })],
        },
      });
      await service.idle();
      const scope = `image-automation.promotions:${prod.id}:${subject}`;
      expect(notifications.sent).toEqual([
        {
          recipients: { type: 'entity', entityRef: shopRef },
          payload: {
            title:
              'Approve web 1.0.0 → 1.1.0 for ImageUpdateAutomation/apps/prod',
            description: `${subject} waits for approval on ${prod.id} (approval 0/2). Approve or reject it on the Image updates tab.`,
            severity: 'normal',
            topic: NOTIFICATION_TOPICS.promotions,
            scope,
            link: '/catalog/default/component/shop/image-updates',
          },
        },
      ]);

      await promotions.vote(pending.id, {
        actor: 'user:default/bob',
        decision: 'approve',
        digest: v2.digest!,
        at: at(2).toISOString(),
      });
      const write = await planner.decide(selection(), at(3), []);
      expect(write.action).toBe('write');
      const applying = (write as { promotion: PromotionRecord }).promotion;
      await planner.applied(
        applying,
        { commit: 'abcdef0123456789abcdef' },
        at(4),
        [],
      );
      await service.idle();
      expect(notifications.sent.map(n => n.payload)).toEqual([
        expect.objectContaining({ scope, severity: 'normal' }),
        {
          title: 'Applied web 1.0.0 → 1.1.0 to ImageUpdateAutomation/apps/prod',
          description: `${subject} on ${prod.id} now carries 1.1.0 in commit abcdef012345.`,
          severity: 'low',
          topic: NOTIFICATION_TOPICS.promotions,
          scope,
          link: '/catalog/default/component/shop/image-updates',
        },
      ]);

      // A newer selection asks again, in the same notice.
      await planner.decide(selection({ carried: v2, selected: v3 }), at(5), []);
      await service.idle();
      expect(notifications.sent).toHaveLength(3);
      expect(notifications.sent[2].payload).toMatchObject({
        title: 'Approve web 1.1.0 → 1.2.0 for ImageUpdateAutomation/apps/prod',
        scope,
      });
    });

    it('tells of the first failure and of a different error, not of every retry', async () => {
      const { planner, service, notifications } = await setup({
        [shopRef]: {},
      });
      let write = await planner.decide(selection(), at(0), []);
      await planner.failed(
        (write as { promotion: PromotionRecord }).promotion,
        'push rejected: HTTP 403',
        at(0),
        [],
      );
      write = await planner.decide(selection(), at(1), []);
      await planner.failed(
        (write as { promotion: PromotionRecord }).promotion,
        'push rejected: HTTP 403',
        at(1),
        [],
      );
      write = await planner.decide(selection(), at(2), []);
      await planner.failed(
        (write as { promotion: PromotionRecord }).promotion,
        'clone failed: HTTP 404',
        at(2),
        [],
      );
      await service.idle();
      expect(
        notifications.sent.map(n => [
          n.payload.title,
          n.payload.description,
          n.payload.severity,
        ]),
      ).toEqual([
        [
          'Failed to apply web 1.0.0 → 1.1.0 to ImageUpdateAutomation/apps/prod',
          'push rejected: HTTP 403 (retried on every pass while the promotion is open)',
          'high',
        ],
        [
          'Failed to apply web 1.0.0 → 1.1.0 to ImageUpdateAutomation/apps/prod',
          'clone failed: HTTP 404 (retried on every pass while the promotion is open)',
          'high',
        ],
      ]);
    });

    it('sends nothing for an entity annotated image-automation.io/notifications: disabled, or one that is gone', async () => {
      const { planner, service, notifications } = await setup({
        [shopRef]: { ...approvals, [NOTIFICATIONS_ANNOTATION]: ' Disabled ' },
      });
      await planner.decide(selection(), at(0), []);
      await planner.decide(
        selection({
          entityRef: 'component:default/gone',
          target: gitTarget('ImageUpdateAutomation/apps/gone'),
        }),
        at(0),
        [],
      );
      await service.idle();
      expect(notifications.sent).toEqual([]);
    });
  },
);

describe('OwnerNotifications delivery', () => {
  const object = {
    id: 'ImagePolicy/apps/web',
    kind: 'ImagePolicy',
    namespace: 'apps',
    name: 'web',
    entityRef: shopRef,
  };
  const stalledStatus = markStalled({}, 'InvalidPolicy', 'bad range', at(0), 1);
  const readyStatus = markReady(
    stalledStatus,
    'Succeeded',
    'selected 1.1.0',
    at(1),
    2,
  );

  it('never throws or waits, and logs a failing delivery once until one succeeds again', async () => {
    const notifications = new RecordingNotifications();
    const { service, logger } = owners({ [shopRef]: {} }, notifications);
    notifications.failWith = new Error(
      'Failed to send notifications: Error: Request failed with status 404',
    );
    expect(service.objectChanged(object, {}, stalledStatus)).toBeUndefined();
    service.objectChanged(object, stalledStatus, readyStatus);
    service.objectChanged(object, readyStatus, stalledStatus);
    await service.idle();
    expect(notifications.sent).toEqual([]);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0][0]).toMatch(
      /^Could not notify the owners of component:default\/shop \(image-automation\.stalled\); further failures are not logged .* Request failed with status 404$/,
    );

    notifications.failWith = undefined;
    service.objectChanged(object, stalledStatus, readyStatus);
    await service.idle();
    expect(notifications.sent.map(n => n.payload.title)).toEqual([
      'ImagePolicy apps/web recovered',
    ]);
    expect(logger.info).toHaveBeenCalledWith(
      'Owner notifications are delivered again',
    );
  });

  it('gives up on a delivery that hangs and goes on with the next', async () => {
    const notifications = new RecordingNotifications();
    const { service, logger } = owners({ [shopRef]: {} }, notifications);
    notifications.hang = true;
    service.objectChanged(object, {}, stalledStatus);
    await service.idle();
    expect(logger.warn.mock.calls[0][0]).toMatch(/timed out$/);
    notifications.hang = false;
    service.objectChanged(object, stalledStatus, readyStatus);
    await service.idle();
    expect(notifications.sent).toHaveLength(1);
  });

  it('warns once about an annotation value other than disabled or enabled, and keeps notifying', async () => {
    const { service, notifications, logger } = owners({
      [shopRef]: { [NOTIFICATIONS_ANNOTATION]: 'off' },
    });
    service.objectChanged(object, {}, stalledStatus);
    service.objectChanged(object, stalledStatus, readyStatus);
    await service.idle();
    expect(notifications.sent).toHaveLength(2);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith(
      "component:default/shop: annotation image-automation.io/notifications is 'off'; only 'disabled' turns notifications off (they stay on)",
    );
  });
});
