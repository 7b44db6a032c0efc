import { Config } from '@backstage/config';
import { LoggerService } from '@backstage/backend-plugin-api';
import {
  objectId,
  ObjectStatus,
  RECEIVER_API_VERSION,
  ReceiverSpec,
} from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { EventStore } from '../store/EventStore';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { RECEIVER_TARGET_KINDS } from './ReceiverReconciler';
import { verifyWebhook, WebhookCall } from './verifyWebhook';

/** `imageAutomation.receivers` (config.d.ts). @internal */
export interface ReceiverSettings {
  /** Larger bodies are refused with 413 before they are read. */
  maxBodyBytes: number;
  /** Authenticated calls one receiver may make per interval (per replica); more get 429. */
  rateLimit: { requests: number; intervalMs: number };
  /** A receiver's calls are answered at once and acted on when it has been quiet this long… */
  coalesceMs: number;
  /** …or this long after the first call of a burst, whichever comes first. */
  maxDelayMs: number;
  /** How often the index of webhook paths is re-read from the database (other replicas' receivers). */
  refreshMs: number;
}

/** Reads {@link ReceiverSettings} from `imageAutomation.receivers`, with the defaults. @internal */
export function readReceiverSettings(
  config: Config | undefined,
): ReceiverSettings {
  const c = config?.getOptionalConfig('imageAutomation.receivers');
  const coalesceMs = c?.getOptionalNumber('coalesceMilliseconds') ?? 1000;
  return {
    maxBodyBytes: c?.getOptionalNumber('maxBodyBytes') ?? 1024 * 1024,
    rateLimit: {
      requests: c?.getOptionalNumber('rateLimit.requests') ?? 120,
      intervalMs:
        (c?.getOptionalNumber('rateLimit.intervalSeconds') ?? 60) * 1000,
    },
    coalesceMs,
    maxDelayMs:
      c?.getOptionalNumber('maxDelayMilliseconds') ??
      Math.max(10 * coalesceMs, 1000),
    refreshMs: (c?.getOptionalNumber('refreshSeconds') ?? 10) * 1000,
  };
}

/** The answer to one call: the status, and headers (Retry-After). Bodies are always empty. @internal */
export interface HookAnswer {
  status: number;
  headers?: Record<string, string>;
}

/** A Receiver that is Ready with a webhook path, as the index keeps it. */
interface IndexedReceiver {
  id: string;
  name: string;
  namespace: string;
  entityRef?: string;
  spec: ReceiverSpec;
  suspended: boolean;
}

/** What every refusal of an unknown receiver or a bad signature is answered with (Flux: unknown path). */
const NOT_FOUND: HookAnswer = { status: 404 };
/** Refusal events of one receiver and reason are recorded at most this often; the rest are counted. */
const EVENT_INTERVAL_MS = 10_000;
/** The key an unknown path's body is signed with, only to spend the time a known one takes. */
const UNKNOWN_KEY = 'unknown-receiver';
/** An unknown path re-reads the index in the background at most this often. */
const MISS_REFRESH_MS = 1000;

function isReady(status: ObjectStatus): boolean {
  return (
    !!status.webhookPath &&
    !!status.conditions?.some(c => c.type === 'Ready' && c.status === 'True')
  );
}

/**
 * Serves `POST /hook/:digest` for Receivers: finds the receiver by its webhook path in an
 * in-memory index (re-read from the database every `refreshMs`, and soon after an unknown path),
 * verifies the call for its type, applies the per-receiver rate limit, answers at once and, when
 * the receiver's burst of calls is over, asks for a reconcile of the objects it lists, only among
 * those of its own entity (catalog authors are untrusted). A burst of calls therefore makes each
 * object due once. Refusals of a known receiver are Warning events on it.
 * @internal
 */
export class ReceiverHooks {
  private index = new Map<string, IndexedReceiver>();
  private refreshing?: Promise<void>;
  private lastRefresh = 0;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly pending = new Map<
    string,
    { first: number; calls: number; timer: NodeJS.Timeout }
  >();
  private readonly throttledEvents = new Map<
    string,
    { at: number; suppressed: number }
  >();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly deps: {
      objects: ObjectStore;
      events: EventStore;
      credentials: NamedCredentials;
      logger: LoggerService;
      settings: ReceiverSettings;
      /** Called after objects were made due (runs a reconcile pass now). */
      afterRequest?: () => void;
    },
  ) {
    this.timer = setInterval(() => this.refresh(), deps.settings.refreshMs);
    this.timer.unref();
  }

  /** Stops the refresh timer and acts on pending bursts now. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.soon);
    await Promise.all([...this.pending.keys()].map(id => this.flush(id)));
  }

  private soon?: NodeJS.Timeout;

  /**
   * Re-reads the index shortly (a Receiver was reconciled here: its status is stored just after),
   * once for any number of calls within 200 ms.
   */
  refreshSoon(): void {
    if (this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.refresh();
    }, 200);
    this.soon.unref();
  }

  /** Re-reads the index from the database (single flight). */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const next = new Map<string, IndexedReceiver>();
        for (const o of await this.deps.objects.list({ kind: 'Receiver' })) {
          if (o.apiVersion !== RECEIVER_API_VERSION || !isReady(o.status))
            continue;
          const spec = o.manifest.spec as unknown as ReceiverSpec;
          next.set(o.status.webhookPath!.slice('/hook/'.length), {
            id: o.id,
            name: o.name,
            namespace: o.namespace,
            entityRef: o.entityRef,
            spec,
            suspended: o.suspended || !!spec.suspend,
          });
        }
        this.index = next;
      } catch (error) {
        this.deps.logger.warn(
          `Could not read the receivers' webhook paths: ${error}`,
        );
      } finally {
        this.lastRefresh = Date.now();
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** Records that a call to `digest` was refused for its size (the route answered 413 already). */
  tooLarge(digest: string): void {
    const receiver = this.index.get(digest);
    if (receiver)
      this.refused(
        receiver,
        'PayloadTooLarge',
        `the body exceeds imageAutomation.receivers.maxBodyBytes (${this.deps.settings.maxBodyBytes})`,
      );
  }

  /** Answers one call to `/hook/<digest>`. */
  async handle(digest: string, call: WebhookCall): Promise<HookAnswer> {
    // The first call after start waits for the index (afterwards it is never waited for).
    if (this.lastRefresh === 0) await this.refresh();
    const receiver = this.index.get(digest);
    if (!receiver) {
      // Maybe a receiver another replica just made Ready: look again soon, but answer now.
      if (Date.now() - this.lastRefresh > MISS_REFRESH_MS) void this.refresh();
      // As much work as checking a signature, so the time taken does not tell either.
      verifyWebhook('generic-hmac', UNKNOWN_KEY, undefined, call);
      return NOT_FOUND;
    }
    let token: string;
    try {
      token = this.deps.credentials.resolveWebhookToken(
        receiver.spec.secretRef.name,
        receiver.entityRef,
      );
    } catch (error) {
      this.refused(receiver, 'TokenNotFound', (error as Error).message);
      return NOT_FOUND;
    }
    const verdict = verifyWebhook(
      receiver.spec.type,
      token,
      receiver.spec.events,
      call,
    );
    if (verdict.outcome === 'unauthenticated') {
      this.refused(receiver, 'AuthenticationFailed', verdict.detail);
      return NOT_FOUND;
    }
    if (receiver.suspended) {
      this.refused(receiver, 'ReceiverSuspended', 'the receiver is suspended');
      return { status: 503 };
    }
    const retryAfterMs = this.take(receiver.id);
    if (retryAfterMs > 0) {
      this.refused(
        receiver,
        'RateLimited',
        `more than ${this.deps.settings.rateLimit.requests} calls in ${
          this.deps.settings.rateLimit.intervalMs / 1000
        }s (imageAutomation.receivers.rateLimit)`,
      );
      return {
        status: 429,
        headers: { 'Retry-After': String(Math.ceil(retryAfterMs / 1000)) },
      };
    }
    if (verdict.outcome === 'invalid') {
      this.refused(receiver, verdict.reason, verdict.detail);
      return { status: 400 };
    }
    if (verdict.act) this.schedule(receiver.id);
    return { status: 200 };
  }

  /** Takes a token from the receiver's bucket; the wait until one is free when none is. */
  private take(id: string): number {
    const { requests, intervalMs } = this.deps.settings.rateLimit;
    const now = Date.now();
    const perMs = requests / intervalMs;
    const bucket = this.buckets.get(id) ?? { tokens: requests, at: now };
    bucket.tokens = Math.min(
      requests,
      bucket.tokens + (now - bucket.at) * perMs,
    );
    bucket.at = now;
    this.buckets.set(id, bucket);
    if (bucket.tokens < 1) return (1 - bucket.tokens) / perMs;
    bucket.tokens -= 1;
    return 0;
  }

  /** Coalesces a receiver's calls: acted on once it is quiet for `coalesceMs` (at most `maxDelayMs` after the first). */
  private schedule(id: string) {
    const { coalesceMs, maxDelayMs } = this.deps.settings;
    const now = Date.now();
    const burst = this.pending.get(id);
    if (burst) clearTimeout(burst.timer);
    const first = burst?.first ?? now;
    const delay = Math.max(0, Math.min(coalesceMs, first + maxDelayMs - now));
    const timer = setTimeout(() => void this.flush(id), delay);
    timer.unref();
    this.pending.set(id, { first, calls: (burst?.calls ?? 0) + 1, timer });
  }

  /** Requests a reconcile of every object the receiver lists, among its own entity's objects. */
  private async flush(id: string): Promise<void> {
    const burst = this.pending.get(id);
    if (!burst) return;
    clearTimeout(burst.timer);
    this.pending.delete(id);
    const receiver = [...this.index.values()].find(r => r.id === id);
    if (!receiver) return;
    try {
      const targets = await this.targets(receiver);
      const now = new Date();
      for (const target of targets.found) {
        await this.deps.objects.requestReconcile(
          target.id,
          objectId('Receiver', receiver.namespace, receiver.name),
          now,
        );
      }
      const events: Array<{
        type: 'Normal' | 'Warning';
        reason: string;
        message: string;
      }> = [];
      if (targets.found.length > 0) {
        events.push({
          type: 'Normal',
          reason: 'ReconcileRequested',
          message: `${burst.calls} call${
            burst.calls === 1 ? '' : 's'
          }: requested reconciliation of ${targets.found
            .map(t => t.id)
            .join(', ')}`,
        });
      }
      for (const missing of targets.missing) {
        events.push({
          type: 'Warning',
          reason: 'ResourceNotFound',
          message: missing,
        });
      }
      for (const e of events)
        await this.deps.events.record({
          objectId: id,
          time: now.toISOString(),
          ...e,
        });
      if (targets.found.length > 0) this.deps.afterRequest?.();
    } catch (error) {
      this.deps.logger.warn(
        `Receiver ${id}: requesting reconciliation failed: ${error}`,
      );
    }
  }

  /**
   * The objects `spec.resources` names, as Flux resolves them (namespace defaulting to the
   * receiver's, `*` with matchLabels), but only among objects of the receiver's own entity.
   */
  private async targets(
    receiver: IndexedReceiver,
  ): Promise<{ found: StoredObject[]; missing: string[] }> {
    const own = (
      await this.deps.objects.list(
        receiver.entityRef ? { entityRef: receiver.entityRef } : {},
      )
    ).filter(o => o.entityRef === receiver.entityRef);
    const found = new Map<string, StoredObject>();
    const missing: string[] = [];
    const owner = receiver.entityRef ?? 'the platform locations';
    for (const resource of receiver.spec.resources ?? []) {
      const group = RECEIVER_TARGET_KINDS[resource.kind]?.group;
      const namespace = resource.namespace ?? receiver.namespace;
      const matches = own.filter(
        o =>
          o.kind === resource.kind &&
          o.apiVersion.startsWith(`${group}/`) &&
          o.namespace === namespace &&
          (resource.name === '*'
            ? Object.entries(resource.matchLabels ?? {}).every(
                ([k, v]) => o.manifest.metadata.labels?.[k] === v,
              )
            : o.name === resource.name),
      );
      for (const o of matches) found.set(o.id, o);
      if (matches.length === 0) {
        missing.push(
          resource.name === '*'
            ? `no ${
                resource.kind
              } in namespace ${namespace} declared by ${owner} matches labels ${JSON.stringify(
                resource.matchLabels,
              )}`
            : `${resource.kind}/${namespace}/${resource.name} is not declared by ${owner}`,
        );
      }
    }
    return { found: [...found.values()], missing };
  }

  /** Records a refusal as a Warning event on the receiver, at most one per reason every 10 s (the rest counted). */
  private refused(receiver: IndexedReceiver, reason: string, detail: string) {
    const key = `${receiver.id}\u0000${reason}`;
    const now = Date.now();
    const last = this.throttledEvents.get(key);
    if (last && now - last.at < EVENT_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    this.throttledEvents.set(key, { at: now, suppressed: 0 });
    const more = last?.suppressed
      ? ` (${last.suppressed} more refused for this reason since ${new Date(
          last.at,
        ).toISOString()})`
      : '';
    this.deps.events
      .record({
        objectId: receiver.id,
        time: new Date(now).toISOString(),
        type: 'Warning',
        reason,
        message: `webhook call refused: ${detail}${more}`,
      })
      .catch(error =>
        this.deps.logger.warn(
          `Could not record a refusal of receiver ${receiver.id}: ${error}`,
        ),
      );
  }
}
