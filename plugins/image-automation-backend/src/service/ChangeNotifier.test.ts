import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { SignalPayload, SignalsService } from '@backstage/plugin-signals-node';
import {
  AutomationObject,
  ImageAutomationSignal,
  ObjectEvent,
} from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { Engine } from '../engine/Engine';
import { ImageRepositoryReconciler } from '../engine/ImageRepositoryReconciler';
import { gitTarget } from '../promotions/gitTargets';
import { PromotionPlanner } from '../promotions/PromotionPlanner';
import { RegistryClient } from '../registry';
import { DatabaseEventStore } from '../store/DatabaseEventStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabasePromotionStore } from '../store/DatabasePromotionStore';
import { DatabaseScanStore } from '../store/DatabaseScanStore';
import { createStoreTestDatabases } from '../store/testDatabases';
import {
  Change,
  ChangeNotifier,
  COALESCE_WINDOW_MS,
  notifyingPromotionStore,
  notifyingScanStore,
  SignalsChangeNotifier,
} from './ChangeNotifier';
import { DefaultObjectService } from './DefaultObjectService';
import { DefaultPromotionService } from './DefaultPromotionService';

jest.setTimeout(60_000);

const shop = 'component:default/shop';
const cart = 'component:default/cart';
const shopChannel = 'image-automation:component:default/shop';
const cartChannel = 'image-automation:component:default/cart';
const fleet = 'image-automation:fleet';

/** The signals service of the backend, keeping what was published (or failing every publish). */
function recordingSignals(failure?: Error) {
  const published: Array<{ channel: string; message: ImageAutomationSignal }> =
    [];
  const signals: SignalsService = {
    async publish(signal: SignalPayload) {
      if (failure) throw failure;
      expect(signal.recipients).toEqual({ type: 'broadcast' });
      published.push({
        channel: signal.channel,
        message: signal.message as ImageAutomationSignal,
      });
    },
  };
  return { signals, published };
}

describe('SignalsChangeNotifier', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('publishes what changed on the entity channel and the fleet channel, and nothing else', async () => {
    const { signals, published } = recordingSignals();
    const notifier = new SignalsChangeNotifier({
      signals,
      logger: mockServices.logger.mock(),
    });
    notifier.changed('objects', shop);
    notifier.changed('promotions', shop);
    await jest.advanceTimersByTimeAsync(0);
    expect(published).toEqual([
      { channel: shopChannel, message: { change: 'objects', entityRef: shop } },
      { channel: fleet, message: { change: 'objects', entityRef: shop } },
      {
        channel: shopChannel,
        message: { change: 'promotions', entityRef: shop },
      },
      { channel: fleet, message: { change: 'promotions', entityRef: shop } },
    ]);
  });

  it('sends the changes of an object without an entity to the fleet channel only', async () => {
    const { signals, published } = recordingSignals();
    new SignalsChangeNotifier({
      signals,
      logger: mockServices.logger.mock(),
    }).changed('scans');
    await jest.advanceTimersByTimeAsync(0);
    expect(published).toEqual([
      { channel: fleet, message: { change: 'scans' } },
    ]);
  });

  it('coalesces a burst into the first signal and one at the end of the window', async () => {
    const { signals, published } = recordingSignals();
    const notifier = new SignalsChangeNotifier({
      signals,
      logger: mockServices.logger.mock(),
    });
    for (let i = 0; i < 50; i++) notifier.changed('objects', shop);
    await jest.advanceTimersByTimeAsync(0);
    expect(published).toHaveLength(2);

    await jest.advanceTimersByTimeAsync(COALESCE_WINDOW_MS);
    expect(published).toHaveLength(4);
    expect(published.slice(2)).toEqual([
      { channel: shopChannel, message: { change: 'objects', entityRef: shop } },
      { channel: fleet, message: { change: 'objects', entityRef: shop } },
    ]);

    // Quiet for a window: nothing more; the next change is sent at once again.
    await jest.advanceTimersByTimeAsync(COALESCE_WINDOW_MS * 3);
    expect(published).toHaveLength(4);
    notifier.changed('objects', shop);
    await jest.advanceTimersByTimeAsync(0);
    expect(published).toHaveLength(6);
  });

  it('keeps the entities apart, and names none on the fleet channel when several changed', async () => {
    const { signals, published } = recordingSignals();
    const notifier = new SignalsChangeNotifier({
      signals,
      logger: mockServices.logger.mock(),
    });
    notifier.changed('objects', shop);
    notifier.changed('objects', cart);
    notifier.changed('objects', shop);
    await jest.advanceTimersByTimeAsync(COALESCE_WINDOW_MS);
    expect(published).toEqual([
      { channel: shopChannel, message: { change: 'objects', entityRef: shop } },
      { channel: fleet, message: { change: 'objects', entityRef: shop } },
      { channel: cartChannel, message: { change: 'objects', entityRef: cart } },
      // The end of the window: shop changed again; on the fleet channel, shop and cart did.
      { channel: shopChannel, message: { change: 'objects', entityRef: shop } },
      { channel: fleet, message: { change: 'objects' } },
    ]);
  });

  it('logs a signal that cannot be published, and never throws', async () => {
    const { signals } = recordingSignals(
      new Error('events backend unreachable'),
    );
    const logger = mockServices.logger.mock();
    const notifier = new SignalsChangeNotifier({ signals, logger });
    expect(() => notifier.changed('promotions', shop)).not.toThrow();
    await jest.advanceTimersByTimeAsync(0);
    expect(logger.warn).toHaveBeenCalledWith(
      `Could not publish the promotions signal on ${shopChannel}: Error: events backend unreachable`,
    );
  });
});

const databases = createStoreTestDatabases();

function manifest(
  kind: string,
  name: string,
  spec: Record<string, unknown>,
): AutomationObject {
  const apiVersion =
    kind === 'Widget' ? 'example.com/v1' : 'image.toolkit.fluxcd.io/v1';
  return { apiVersion, kind, metadata: { name, namespace: 'apps' }, spec };
}

describe.each(databases.eachSupportedId())(
  'what reports changes, on %p',
  databaseId => {
    async function setup() {
      const knex = await databases.init(databaseId);
      const objects = await DatabaseObjectStore.create({ knex });
      const scans = await DatabaseScanStore.create({
        knex,
        skipMigrations: true,
      });
      const events = await DatabaseEventStore.create({
        knex,
        skipMigrations: true,
      });
      const promotions = await DatabasePromotionStore.create({
        knex,
        skipMigrations: true,
      });
      const changes: Array<[Change, string | undefined]> = [];
      const notifier: ChangeNotifier = {
        changed: (change, entityRef) => changes.push([change, entityRef]),
      };
      const source = { type: 'config' as const, location: 'test.yaml' };
      await objects.syncSource('config:test.yaml', [
        {
          manifest: manifest('ImageRepository', 'web', {
            image: 'ghcr.io/acme/web',
            interval: '5m',
          }),
          entityRef: shop,
          source,
        },
        {
          manifest: manifest('ImagePolicy', 'web', {
            imageRepositoryRef: { name: 'web' },
            policy: { semver: { range: '*' } },
          }),
          entityRef: shop,
          source,
        },
        {
          manifest: manifest('ImageUpdateAutomation', 'prod', {
            interval: '5m',
          }),
          entityRef: shop,
          source,
        },
        { manifest: manifest('Widget', 'orphan', {}), source },
      ]);
      return { objects, scans, events, promotions, changes, notifier };
    }

    it('the Engine reports every run it stored, and a scan recorded through the notifying scan store', async () => {
      const { objects, scans, changes, notifier } = await setup();
      const engine = new Engine({
        objects,
        logger: mockServices.logger.mock(),
        batchSize: 10,
        leaseMs: 60_000,
        notifier,
        reconcilers: [
          new ImageRepositoryReconciler({
            objects,
            scans: notifyingScanStore(scans, objects, notifier),
            // The registry is not allowed: the scan fails at once, and is recorded as failed.
            registry: new RegistryClient({
              allowedHosts: ['registry.example.com'],
            }),
            credentials: NamedCredentials.fromConfig(new ConfigReader({})),
            logger: mockServices.logger.mock(),
          }),
        ],
      });
      expect(await engine.runPass(() => new Date(Date.now() + 1000))).toBe(4);
      expect(
        (await scans.listScans('ImageRepository/apps/web')).items,
      ).toHaveLength(1);
      expect(changes.filter(([change]) => change === 'scans')).toEqual([
        ['scans', shop],
      ]);
      // One per object; the one without an entity goes to the fleet channel only.
      const objectChanges = changes
        .filter(([change]) => change === 'objects')
        .map(([, ref]) => ref ?? '(none)');
      expect(objectChanges.sort()).toEqual(['(none)', shop, shop, shop]);
    });

    it('DefaultObjectService reports suspend and reconcile requests', async () => {
      const { objects, scans, events, changes, notifier } = await setup();
      const service = new DefaultObjectService({
        objects,
        scans,
        events,
        notifier,
      });
      await service.act(
        'ImageRepository/apps/web',
        'suspend',
        mockCredentials.user(),
      );
      await service.act(
        'Widget/apps/orphan',
        'reconcile',
        mockCredentials.user(),
      );
      expect(changes).toEqual([
        ['objects', shop],
        ['objects', undefined],
      ]);
    });

    it('DefaultPromotionService reports pins, and the planner its decisions through the notifying promotion store', async () => {
      const { objects, events, promotions, changes, notifier } = await setup();
      const target = gitTarget('ImageUpdateAutomation/apps/prod');
      const planner = new PromotionPlanner({
        promotions: notifyingPromotionStore(promotions, notifier),
        objects,
      });
      const decisionEvents: Array<
        Pick<ObjectEvent, 'type' | 'reason' | 'message'>
      > = [];
      const decision = await planner.decide(
        {
          entityRef: shop,
          target,
          subject: 'ImagePolicy/apps/web',
          carried: {
            image: 'ghcr.io/acme/web',
            tag: '1.0.0',
            digest: 'sha256:1',
          },
          selected: {
            image: 'ghcr.io/acme/web',
            tag: '1.1.0',
            digest: 'sha256:2',
          },
        },
        new Date(),
        decisionEvents,
      );
      // Created, approved (no gates) and taken into applying: each write is reported.
      expect(decision.action).toBe('write');
      expect(changes).toEqual([
        ['promotions', shop],
        ['promotions', shop],
        ['promotions', shop],
      ]);

      changes.length = 0;
      const service = new DefaultPromotionService({
        promotions,
        objects,
        events,
        notifier,
      });
      const version = {
        image: 'ghcr.io/acme/web',
        tag: '1.0.0',
        digest: 'sha256:1',
      };
      await service.pin({
        targetId: target.id,
        subject: 'ImagePolicy/apps/web',
        version,
        reason: 'incident',
        actor: 'user:default/jane',
      });
      await service.unpin(
        target.id,
        'ImagePolicy/apps/web',
        'user:default/jane',
      );
      expect(changes).toEqual([
        ['promotions', shop],
        ['promotions', shop],
      ]);
    });
  },
);
