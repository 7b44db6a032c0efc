import type { MetricsService } from '@backstage/backend-plugin-api/alpha';
import type {
  PromotionState,
  RegistryErrorKind,
} from '@imageops/backstage-plugin-image-automation-common';
import { isHostAllowed } from '../registry/allowedHosts';
import type { PromotionStore } from '../store/PromotionStore';
import type { ScanStore } from '../store/ScanStore';

/*
 * The plugin's OpenTelemetry instruments, all in one place (issue #16): call sites are one-liners
 * on ImageAutomationMetrics. Instruments come from Backstage's MetricsService, which scopes them
 * to the plugin (meter `backstage-plugin-image-automation`) and reads the global meter provider
 * the backend's instrumentation file installs; without one every instrument is a no-op.
 *
 * Attributes are bounded, never an entity ref, object name, image or tag: kinds and reasons are
 * the plugin's own constants (anything else is `other`), registries are named by the
 * `imageAutomation.allowedRegistries` entry they matched (so as many values as that list has).
 * The names and attributes are documented in docs/operations.md.
 */

/** Seconds: scans, reconciles and passes take from milliseconds to the 15-minute task timeout. */
const PROMOTION_STATES: PromotionState[] = [
  'pending',
  'approved',
  'applying',
  'applied',
  'failed',
  'rejected',
  'superseded',
];

const DURATION_BUCKETS = [
  0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900,
];

/** The kinds this plugin reconciles; any other kind an author writes is reported as `other`. */
const KINDS = new Set([
  'ImageRepository',
  'ImagePolicy',
  'ImageUpdateAutomation',
  'GitRepository',
  'ResourceSet',
  'ResourceSetInputProvider',
]);

/** How a reconcile ended, from the status it stored. @internal */
export type ReconcileResultClass = 'ready' | 'failed' | 'stalled' | 'suspended';

/** A metric attribute value from a kind an author wrote: one of ours, or `other`. @internal */
export function kindLabel(kind: string): string {
  return KINDS.has(kind) ? kind : 'other';
}

/** A condition reason (a CamelCase constant of the plugin's); anything else is `other`. */
function reasonLabel(reason: string | undefined): string {
  return reason && /^[A-Z][A-Za-z]{0,63}$/.test(reason) ? reason : 'other';
}

/** `2xx`…`5xx` for an HTTP answer; the RegistryError kind when there was none. */
function statusClass(
  status: number | undefined,
  errorKind: string | undefined,
): string {
  if (status !== undefined && status >= 100 && status < 600)
    return `${Math.floor(status / 100)}xx`;
  return errorKind ?? 'network';
}

/**
 * The value of the `registry` attribute for a request to `host`: the first
 * `imageAutomation.allowedRegistries` entry that allows it (the host itself when listed as is,
 * `*.example.com` or `*` for hosts a pattern allows). Bounded by the length of that list, however
 * many registries catalog authors name.
 * @internal
 */
export function registryLabel(
  host: string,
  allowedRegistries: string[],
): string {
  const exact = allowedRegistries.find(
    pattern => pattern.trim().toLowerCase() === host.toLowerCase(),
  );
  if (exact) return exact.trim().toLowerCase();
  const pattern = allowedRegistries.find(p => isHostAllowed(host, [p]));
  return pattern ? pattern.trim().toLowerCase() : 'other';
}

/** What the metrics read from the database when they are collected. @internal */
export interface MetricsSources {
  /** Objects due now and not leased (the engine's backlog). */
  countDue(now: Date): Promise<number>;
  /** Promotions per state. */
  countPromotionsByState(): Promise<Partial<Record<PromotionState, number>>>;
}

/**
 * The plugin's instruments. Every method is cheap and never throws.
 * @internal
 */
export class ImageAutomationMetrics {
  private readonly scans;
  private readonly scanDuration;
  private readonly registryRequests;
  private readonly reconciles;
  private readonly reconcileDuration;
  private readonly leaseLosses;
  private readonly passDuration;
  private readonly promotionTransitions;
  private readonly listings;

  constructor(
    private readonly metrics: MetricsService,
    private readonly options: { allowedRegistries?: string[] } = {},
  ) {
    const duration = (name: string, description: string) =>
      metrics.createHistogram(name, {
        description,
        unit: 's',
        advice: { explicitBucketBoundaries: DURATION_BUCKETS },
      });
    this.scans = metrics.createCounter('image_automation.scans.count', {
      description:
        'Registry scans of ImageRepositories, by result: success, or the class of the registry error',
      unit: '{scan}',
    });
    this.scanDuration = duration(
      'image_automation.scans.duration',
      'Duration of registry scans (every page, auth and retry)',
    );
    this.registryRequests = metrics.createCounter(
      'image_automation.registry.requests.count',
      {
        description:
          'HTTP requests to registries (token requests and retries included), by registry and status class',
        unit: '{request}',
      },
    );
    this.reconciles = metrics.createCounter(
      'image_automation.reconciles.count',
      {
        description:
          'Reconciles of automation objects, by kind, result (ready, failed, stalled, suspended) and reason',
        unit: '{reconcile}',
      },
    );
    this.reconcileDuration = duration(
      'image_automation.reconciles.duration',
      'Duration of one reconcile, by kind and result',
    );
    this.leaseLosses = metrics.createCounter(
      'image_automation.lease.losses.count',
      {
        description:
          'Reconciles stopped because their lease was lost (taken by another instance, or not renewed in time); their result was discarded',
        unit: '{reconcile}',
      },
    );
    this.passDuration = duration(
      'image_automation.engine.pass.duration',
      'Duration of one engine pass: claim the due objects, reconcile them, store the results',
    );
    this.promotionTransitions = metrics.createCounter(
      'image_automation.promotions.transitions.count',
      {
        description:
          'Promotions entering a state (pending on creation, superseded, approved, applying, applied, …)',
        unit: '{promotion}',
      },
    );
    this.listings = metrics.createCounter(
      'image_automation.registry.listings.count',
      {
        description:
          'Tag listings wanted by scans and OCIArtifactTag providers, by whether a listing of the same repository and credential scope was reused (shared) or the registry was listed',
        unit: '{listing}',
      },
    );
  }

  /** Registers the observable gauges, read from `sources` at each collection. */
  observe(
    sources: MetricsSources,
    onError: (error: unknown) => void = () => {},
  ): void {
    this.metrics
      .createObservableGauge('image_automation.queue.depth', {
        description:
          'Automation objects due now and not leased by any instance (the backlog of the engine)',
        unit: '{object}',
      })
      .addCallback(async result => {
        try {
          result.observe(await sources.countDue(new Date()));
        } catch (error) {
          onError(error);
        }
      });
    this.metrics
      .createObservableGauge('image_automation.promotions', {
        description: 'Promotions in each state',
        unit: '{promotion}',
      })
      .addCallback(async result => {
        try {
          const counts = await sources.countPromotionsByState();
          for (const state of PROMOTION_STATES)
            result.observe(counts[state] ?? 0, { state });
        } catch (error) {
          onError(error);
        }
      });
  }

  scanned(result: {
    durationMs: number;
    errorKind?: RegistryErrorKind;
    error?: string;
  }): void {
    const label =
      result.error === undefined ? 'success' : result.errorKind ?? 'error';
    this.scans.add(1, { result: label });
    this.scanDuration.record(result.durationMs / 1000, { result: label });
  }

  registryRequest(request: {
    host: string;
    status?: number;
    errorKind?: string;
  }): void {
    this.registryRequests.add(1, {
      registry: registryLabel(
        request.host,
        this.options.allowedRegistries ?? [],
      ),
      status_class: statusClass(request.status, request.errorKind),
    });
  }

  reconciled(
    kind: string,
    result: ReconcileResultClass,
    durationMs: number,
    reason?: string,
  ): void {
    const attributes = { kind: kindLabel(kind), result };
    this.reconciles.add(1, {
      ...attributes,
      reason:
        result === 'failed' || result === 'stalled' ? reasonLabel(reason) : '',
    });
    this.reconcileDuration.record(durationMs / 1000, attributes);
  }

  /** A scan or provider got its tags from a shared listing (`shared`) or listed the registry. */
  listing(shared: boolean): void {
    this.listings.add(1, { shared: String(shared) });
  }

  leaseLost(kind: string): void {
    this.leaseLosses.add(1, { kind: kindLabel(kind) });
  }

  passCompleted(durationMs: number): void {
    this.passDuration.record(durationMs / 1000);
  }

  promotionEntered(state: PromotionState): void {
    this.promotionTransitions.add(1, { state });
  }
}

/** The scan store, counting every scan recorded (successful or not) and its duration. @internal */
export function meteredScanStore(
  store: ScanStore,
  metrics: ImageAutomationMetrics,
): ScanStore {
  return overriding<ScanStore>(store, {
    async recordScan(outcome) {
      const recorded = await store.recordScan(outcome);
      metrics.scanned(outcome);
      return recorded;
    },
  });
}

/**
 * The promotion store, counting the states promotions enter: `pending` on creation, `superseded`
 * for the open promotion a creation replaces, and the state of every update that sets one.
 * @internal
 */
export function meteredPromotionStore(
  store: PromotionStore,
  metrics: ImageAutomationMetrics,
): PromotionStore {
  return overriding<PromotionStore>(store, {
    async create(input) {
      // The open promotion this one supersedes (read first: the store supersedes it in its transaction).
      const open = await store
        .findOpen(input.target.id, input.subject)
        .catch(() => undefined);
      const created = await store.create(input);
      if (open) metrics.promotionEntered('superseded');
      metrics.promotionEntered('pending');
      return created;
    },
    async update(...args) {
      const updated = await store.update(...args);
      const state = args[2].state;
      if (updated && state) metrics.promotionEntered(state);
      return updated;
    },
  });
}

function overriding<T extends object>(store: T, overrides: Partial<T>): T {
  return new Proxy(store, {
    get(target, key) {
      if (key in overrides) return overrides[key as keyof T];
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
