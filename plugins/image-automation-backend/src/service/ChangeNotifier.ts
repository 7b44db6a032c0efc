import { LoggerService } from '@backstage/backend-plugin-api';
import { SignalsService } from '@backstage/plugin-signals-node';
import {
  entitySignalChannel,
  FLEET_SIGNAL_CHANNEL,
  ImageAutomationSignal,
} from '@imageops/backstage-plugin-image-automation-common';
import { ObjectStore } from '../store/ObjectStore';
import { PromotionStore } from '../store/PromotionStore';
import { ScanStore } from '../store/ScanStore';

/** What changed: an object's status or schedule, a scan, or a promotion or pin. @internal */
export type Change = ImageAutomationSignal['change'];

/**
 * Tells open pages that an entity's data changed, so they reload it. It is told what changed
 * and for which entity, never a value. Where changes are reported: the Engine (each stored run),
 * DefaultObjectService (suspend, resume, reconcile), DefaultPromotionService (decisions, pins),
 * and the promotion and scan stores wrapped by {@link notifyingPromotionStore} and
 * {@link notifyingScanStore} (what the planner and the ImageRepository reconciler write).
 * @internal
 */
export interface ChangeNotifier {
  /** Never throws and never waits: a change that cannot be reported is logged. */
  changed(change: Change, entityRef?: string): void;
}

/** How long the signals of one channel and change kind are held together. @internal */
export const COALESCE_WINDOW_MS = 500;

interface Window {
  timer: ReturnType<typeof setTimeout>;
  /** The entities changed since the last signal (undefined: an object without one); empty when none. */
  pending: Set<string | undefined>;
}

/**
 * Publishes changes as Backstage signals, broadcast, on the entity's channel
 * ({@link entitySignalChannel}) and on {@link FLEET_SIGNAL_CHANNEL}; changes of objects without
 * an entity go to the fleet channel only. At most one signal per channel and change kind leaves
 * per window: the first at once, the rest of the window as one signal at its end (a pass
 * touching 50 objects of an entity sends one or two, not 50). On the fleet channel, a signal
 * names the entity only when it was the only one changed.
 * @internal
 */
export class SignalsChangeNotifier implements ChangeNotifier {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly deps: {
      signals: SignalsService;
      logger: LoggerService;
      windowMs?: number;
    },
  ) {}

  changed(change: Change, entityRef?: string): void {
    if (entityRef)
      this.coalesce(entitySignalChannel(entityRef), change, entityRef);
    this.coalesce(FLEET_SIGNAL_CHANNEL, change, entityRef);
  }

  private coalesce(
    channel: string,
    change: Change,
    entityRef: string | undefined,
  ) {
    const key = `${channel} ${change}`;
    const open = this.windows.get(key);
    if (open) {
      open.pending.add(entityRef);
      return;
    }
    this.publish(channel, change, new Set([entityRef]));
    this.open(key, channel, change);
  }

  private open(key: string, channel: string, change: Change) {
    const window: Window = {
      pending: new Set(),
      timer: setTimeout(() => {
        this.windows.delete(key);
        if (window.pending.size > 0) {
          this.publish(channel, change, window.pending);
          this.open(key, channel, change);
        }
      }, this.deps.windowMs ?? COALESCE_WINDOW_MS),
    };
    // A pending signal never keeps the backend (or a test) running.
    window.timer.unref?.();
    this.windows.set(key, window);
  }

  private publish(
    channel: string,
    change: Change,
    entities: Set<string | undefined>,
  ) {
    const [entityRef] = entities;
    const message: ImageAutomationSignal = {
      change,
      ...(entities.size === 1 && entityRef ? { entityRef } : {}),
    };
    Promise.resolve()
      .then(() =>
        this.deps.signals.publish({
          recipients: { type: 'broadcast' },
          channel,
          message,
        }),
      )
      .catch(error =>
        this.deps.logger.warn(
          `Could not publish the ${change} signal on ${channel}: ${error}`,
        ),
      );
  }
}

/** `store`, with `overrides` in place of some of its methods; the others are the store's own. */
function overriding<T extends object>(store: T, overrides: Partial<T>): T {
  return new Proxy(store, {
    get(target, key) {
      if (key in overrides) return overrides[key as keyof T];
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * The promotion store, reporting every promotion it creates or changes (the planner's decisions
 * during a pass: created, superseded, approved, applying, applied, failed, gates re-evaluated).
 * @internal
 */
export function notifyingPromotionStore(
  store: PromotionStore,
  notifier: ChangeNotifier,
): PromotionStore {
  return overriding<PromotionStore>(store, {
    async create(input) {
      const created = await store.create(input);
      notifier.changed('promotions', created.entityRef);
      return created;
    },
    async update(...args) {
      const updated = await store.update(...args);
      if (updated) notifier.changed('promotions', updated.entityRef);
      return updated;
    },
  });
}

/** The scan store, reporting every scan recorded, successful or not, for the repository's entity. @internal */
export function notifyingScanStore(
  store: ScanStore,
  objects: ObjectStore,
  notifier: ChangeNotifier,
): ScanStore {
  return overriding<ScanStore>(store, {
    async recordScan(outcome) {
      const recorded = await store.recordScan(outcome);
      const entityRef = await objects.get(outcome.objectId).then(
        object => object?.entityRef,
        () => undefined,
      );
      notifier.changed('scans', entityRef);
      return recorded;
    },
  });
}
