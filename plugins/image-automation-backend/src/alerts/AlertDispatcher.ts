import http from 'node:http';
import https from 'node:https';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import {
  NOTIFICATION_API_VERSION,
  ObjectEvent,
  objectId,
} from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { EventStore } from '../store/EventStore';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { truncateMessage } from '../util/truncateMessage';
import {
  AlertSpec,
  alertMatches,
  DuplicateFilter,
  FluxEvent,
  metadataConflicts,
  toFluxEvent,
  withAlertMetadata,
} from './fluxEvent';
import { HttpOutcome, HttpSend, setCommitStatus } from './gitlab';
import { providerRequest, ProviderRequest } from './payloads';
import {
  maskSecrets,
  NotificationSettings,
  ProviderRefusedError,
  ProviderTarget,
  resolveProviderTarget,
} from './providerTarget';

/** Reason of the Normal event a Provider records for a notification sent. @internal */
export const NOTIFICATION_SENT_REASON = 'NotificationSent';
/** Reason of the Warning event (Provider and Alert) for a notification that could not be sent, as Flux's. @internal */
export const NOTIFICATION_FAILED_REASON = 'NotificationDispatchFailed';

/** Reason of the Warning event on an Alert whose metadata keys conflict, as Flux's. @internal */
export const METADATA_CONFLICT_REASON = 'MetadataAppendFailed';
/** Its message, Flux's words. */
const METADATA_CONFLICT_MESSAGE =
  'metadata key conflicts detected (please refer to the Alert API docs and Flux RFC 0008 for more information)';

/** Notifications sent at the same time, at most (across all Providers). */
const MAX_CONCURRENT_DELIVERIES = 8;

/** The most of a failed response's body quoted in the Warning event. */
const MAX_ERROR_BODY = 4096;

const isReady = (object: StoredObject) =>
  object.status.conditions?.some(
    c => c.type === 'Ready' && c.status === 'True',
  ) ?? false;

const describe = (event: FluxEvent) =>
  `${event.involvedObject.kind}/${event.involvedObject.namespace}/${event.involvedObject.name}`;

/** A response, or why there was none. */
type Outcome = HttpOutcome;

/**
 * One request to a Provider's service: at most `maxBody` bytes of the answer are kept (the
 * quoted part of an error; a GitLab listing), the rest is read and dropped.
 */
const send =
  (target: ProviderTarget, signal: AbortSignal): HttpSend =>
  request =>
    new Promise<Outcome>(resolve => {
      const limit = request.maxBody ?? MAX_ERROR_BODY;
      const transport = request.url.protocol === 'https:' ? https : http;
      const body = request.body;
      const req = transport.request(
        request.url,
        {
          method: request.method,
          headers: {
            ...request.headers,
            ...(body !== undefined
              ? { 'Content-Length': Buffer.byteLength(body).toString() }
              : {}),
          },
          timeout: target.timeoutMs,
          signal,
          ...(request.url.protocol === 'https:'
            ? { ca: target.ca, cert: target.cert, key: target.key }
            : {}),
          // spec.proxy: a CONNECT tunnel to an https address (TLS end to end, with the target's CA),
          // a forwarded request to a plain-HTTP one.
          ...(target.proxy
            ? {
                agent:
                  request.url.protocol === 'https:'
                    ? new HttpsProxyAgent(target.proxy)
                    : new HttpProxyAgent(target.proxy),
              }
            : {}),
        },
        res => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            if (size < limit) chunks.push(chunk);
            size += chunk.length;
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).subarray(0, limit).toString('utf8'),
              ...(size > limit ? { truncated: true } : {}),
            }),
          );
          res.on('error', error =>
            resolve({ error: error.message, retryable: true }),
          );
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`timeout after ${target.timeoutMs}ms`)),
      );
      // Node's messages name the address (host and port), never the path. A certificate that does
      // not verify is not retried (as Go's retryablehttp does not).
      req.on('error', (error: NodeJS.ErrnoException) =>
        resolve({
          error: error.message,
          retryable:
            !signal.aborted &&
            !/CERT|SELF_SIGNED|TLS|SSL/.test(error.code ?? ''),
        }),
      );
      req.end(body);
    });

/** One attempt at a delivery: done (sent, or nothing to send), or why not and whether to try again. */
type Attempt =
  | { done: true; skipped?: string }
  | { done: false; failure: string; retryable: boolean };

/** A message Provider's attempt: one POST of the notifier's request. */
async function postOnce(
  request: ProviderRequest,
  target: ProviderTarget,
  signal: AbortSignal,
): Promise<Attempt> {
  const outcome = await send(
    target,
    signal,
  )({
    method: 'POST',
    url: request.url,
    headers: request.headers,
    body: request.body,
  });
  // Flux's postMessage accepts 200, 201 and 202; GitHub's client (githubdispatch) any 2xx (dispatches answer 204).
  const accepted =
    target.type === 'githubdispatch'
      ? (s: number) => s >= 200 && s < 300
      : (s: number) => [200, 201, 202].includes(s);
  if ('status' in outcome && accepted(outcome.status)) return { done: true };
  const retryable =
    'status' in outcome
      ? outcome.status === 429 ||
        (outcome.status >= 500 && outcome.status !== 501)
      : outcome.retryable;
  const prefix =
    target.type === 'githubdispatch'
      ? 'could not send github repository dispatch webhook'
      : 'postMessage failed';
  const failure =
    'status' in outcome
      ? `${prefix}: request failed with status code ${outcome.status}, ${outcome.body}`
      : `${prefix}: failed to execute request: ${outcome.error}`;
  return { done: false, failure, retryable };
}

/**
 * Outgoing notifications (issue #15): every event recorded for an object is offered to the
 * Alerts of the same entity (and only those: catalog authors are untrusted), matched as Flux's
 * event server matches, de-duplicated within `rateLimitSeconds`, and sent through the Alert's
 * Provider. Delivery runs in the background — `offer` never waits or throws — with retries on
 * 5xx, 429, timeouts and network errors (exponential backoff, bounded attempts); each outcome is
 * an event on the Provider (and, for a failure, on the Alert), and the Provider is made due so
 * its status shows the last delivery.
 * @internal
 */
export class AlertDispatcher {
  private readonly duplicates: DuplicateFilter;
  private readonly intake: Array<Omit<ObjectEvent, 'id'>> = [];
  private readonly inFlight = new Set<Promise<void>>();
  private draining?: Promise<void>;
  private readonly shutdown = new AbortController();
  /** Deliveries sending (or waiting to retry) now, and those waiting for a slot. */
  private active = 0;
  /** Events dropped since the queue was last full. */
  private dropped = 0;
  private readonly slots: Array<() => void> = [];

  constructor(
    private readonly deps: {
      objects: Pick<ObjectStore, 'get' | 'list' | 'markDue'>;
      /** The store delivery outcomes are recorded in (not routed again). */
      events: Pick<EventStore, 'record'>;
      credentials: NamedCredentials;
      settings: NotificationSettings;
      logger: { warn(message: string): void; debug(message: string): void };
    },
  ) {
    this.duplicates = new DuplicateFilter(deps.settings.rateLimitMs);
  }

  /** Queues an event for routing; returns at once and never throws. */
  offer(event: Omit<ObjectEvent, 'id'>): void {
    if (this.shutdown.signal.aborted) return;
    if (
      this.intake.length + this.inFlight.size >=
      this.deps.settings.queueSize
    ) {
      // Logged once per overflow, not once per event.
      if (this.dropped++ === 0) {
        this.deps.logger.warn(
          `Notification queue full (imageAutomation.notifications.queueSize ${this.deps.settings.queueSize}): dropping events until it drains`,
        );
      }
      return;
    }
    if (this.dropped > 0) {
      this.deps.logger.warn(
        `Notification queue drained; ${this.dropped} events were dropped`,
      );
      this.dropped = 0;
    }
    this.intake.push(event);
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  /** Resolves once everything offered so far has been routed and delivered or given up (tests). */
  async idle(): Promise<void> {
    while (this.draining || this.inFlight.size > 0) {
      await this.draining;
      await Promise.all([...this.inFlight]);
    }
  }

  /** Stops retries and drops what is queued (backend shutdown). */
  close(): void {
    this.shutdown.abort();
    this.intake.length = 0;
    for (
      let release = this.slots.shift();
      release;
      release = this.slots.shift()
    )
      release();
  }

  private async drain() {
    // The event being routed stays in the queue (and counts against its size) until it is.
    for (let event = this.intake[0]; event; event = this.intake[0]) {
      try {
        await this.route(event);
      } catch (error) {
        this.deps.logger.warn(
          `Routing an event of ${event.objectId} to alerts failed: ${
            (error as Error).message
          }`,
        );
      }
      this.intake.shift();
    }
  }

  private async route(event: Omit<ObjectEvent, 'id'>) {
    const object = await this.deps.objects.get(event.objectId);
    // Events of Alerts and Providers themselves are never routed (Flux's are Kubernetes events only).
    if (!object || object.apiVersion === NOTIFICATION_API_VERSION) return;
    const flux = toFluxEvent(event, object);
    // Tenancy: only the Alerts the same entity declares (platform objects: those without an entity).
    const alerts = (
      await this.deps.objects.list({
        kind: 'Alert',
        ...(object.entityRef ? { entityRef: object.entityRef } : {}),
      })
    )
      .filter(
        alert =>
          alert.apiVersion === NOTIFICATION_API_VERSION &&
          alert.entityRef === object.entityRef,
      )
      .filter(alert => !alert.suspended && isReady(alert))
      .filter(alert =>
        alertMatches(
          alert.manifest.spec as unknown as AlertSpec,
          alert.namespace,
          flux,
          object.manifest.metadata.labels,
        ),
      );
    if (alerts.length === 0) return;
    if (!this.duplicates.admit(flux, Date.now())) {
      this.deps.logger.debug(
        `Discarding event of ${event.objectId}, rate limiting duplicate events`,
      );
      return;
    }
    for (const alert of alerts) {
      const spec = alert.manifest.spec as unknown as AlertSpec;
      const provider = await this.deps.objects.get(
        objectId('Provider', alert.namespace, spec.providerRef.name),
      );
      if (
        !provider ||
        provider.apiVersion !== NOTIFICATION_API_VERSION ||
        provider.entityRef !== alert.entityRef ||
        provider.suspended ||
        (provider.manifest.spec as { suspend?: boolean }).suspend ||
        !isReady(provider)
      ) {
        continue;
      }
      // As Flux's event server: keys given by more than one source (RFC 0008) are a Warning on the Alert.
      if (metadataConflicts(flux, spec).length > 0) {
        await this.deps.events.record({
          objectId: alert.id,
          time: new Date().toISOString(),
          type: 'Warning',
          reason: METADATA_CONFLICT_REASON,
          message: METADATA_CONFLICT_MESSAGE,
        });
      }
      const delivery = this.deliver(
        alert,
        provider,
        withAlertMetadata(flux, spec),
      ).finally(() => {
        this.inFlight.delete(delivery);
      });
      this.inFlight.add(delivery);
    }
  }

  /** At most {@link MAX_CONCURRENT_DELIVERIES} deliveries at a time; the rest wait in order. */
  private async deliver(
    alert: StoredObject,
    provider: StoredObject,
    event: FluxEvent,
  ) {
    if (this.active >= MAX_CONCURRENT_DELIVERIES)
      await new Promise<void>(resolve => this.slots.push(resolve));
    this.active++;
    try {
      await this.send(alert, provider, event);
    } finally {
      this.active--;
      this.slots.shift()?.();
    }
  }

  private async send(
    alert: StoredObject,
    provider: StoredObject,
    event: FluxEvent,
  ) {
    if (this.shutdown.signal.aborted) return;
    const { settings } = this.deps;
    let target: ProviderTarget | undefined;
    let failure: string | undefined;
    let skipped: string | undefined;
    try {
      // Flux's GitLab notifier skips Progressing events before anything else.
      if (
        (provider.manifest.spec as { type?: string }).type === 'gitlab' &&
        event.reason === 'Progressing'
      )
        return;
      const resolved = resolveProviderTarget(
        provider,
        this.deps.credentials,
        settings,
      );
      target = resolved;
      const signal = this.shutdown.signal;
      let once: () => Promise<Attempt>;
      if (resolved.type === 'gitlab') {
        // GET the commit's statuses, then POST unless the same status is there (gitlab.ts).
        once = async () => {
          const outcome = await setCommitStatus(
            resolved.url,
            resolved.token!,
            event,
            provider.id,
            send(resolved, signal),
          );
          if (outcome.result === 'failed')
            return {
              done: false,
              failure: outcome.failure,
              retryable: outcome.retryable,
            };
          return outcome.result === 'skipped'
            ? { done: true, skipped: outcome.why }
            : { done: true };
        };
      } else {
        const request = providerRequest(resolved, event);
        once = () => postOnce(request, resolved, signal);
      }
      for (let attempt = 1; ; attempt++) {
        const outcome = await once();
        if (outcome.done) {
          failure = undefined;
          skipped = outcome.skipped;
          break;
        }
        failure = outcome.failure;
        if (
          !outcome.retryable ||
          attempt >= settings.attempts ||
          this.shutdown.signal.aborted
        ) {
          if (attempt > 1) failure += ` (giving up after ${attempt} attempts)`;
          break;
        }
        const wait = Math.min(
          settings.retryMaxMs,
          settings.retryMinMs * 2 ** (attempt - 1),
        );
        await new Promise<void>(resolve => {
          const timer = setTimeout(resolve, wait);
          this.shutdown.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    } catch (error) {
      failure =
        error instanceof ProviderRefusedError
          ? `failed to initialize notifier for provider '${provider.name}': ${error.message}`
          : `failed to send notification: ${(error as Error).message}`;
    }
    if (this.shutdown.signal.aborted) return;
    if (skipped) {
      // Nothing was sent (a commit status that is already set): no event, as Flux records none.
      this.deps.logger.debug(
        `${provider.id}: nothing to send for ${describe(event)}: ${skipped}`,
      );
      return;
    }
    const now = new Date().toISOString();
    const secrets = target?.secrets ?? [];
    try {
      if (failure) {
        const message = truncateMessage(
          maskSecrets(
            `failed to send notification for ${describe(event)}: ${failure}`,
            secrets,
          ),
        );
        this.deps.logger.warn(`${provider.id}: ${message}`);
        for (const id of [provider.id, alert.id]) {
          await this.deps.events.record({
            objectId: id,
            time: now,
            type: 'Warning',
            reason: NOTIFICATION_FAILED_REASON,
            message,
          });
        }
      } else {
        await this.deps.events.record({
          objectId: provider.id,
          time: now,
          type: 'Normal',
          reason: NOTIFICATION_SENT_REASON,
          message: `sent notification for ${describe(event)} (Alert ${
            alert.name
          }): ${truncateMessage(event.message, 512)}`,
        });
      }
      await this.deps.objects.markDue([provider.id], new Date());
    } catch (error) {
      this.deps.logger.warn(
        `Recording the delivery of a notification through ${
          provider.id
        } failed: ${(error as Error).message}`,
      );
    }
  }
}

/**
 * An event store that also offers every event it records to the Alerts (the engine, the
 * reconcilers and the services all record through it).
 * @internal
 */
export function alertingEventStore<T extends EventStore>(
  events: T,
  dispatcher: Pick<AlertDispatcher, 'offer'>,
): T {
  return new Proxy(events, {
    get(target, property, receiver) {
      if (property === 'record') {
        return async (event: Omit<ObjectEvent, 'id'>) => {
          await target.record(event);
          dispatcher.offer(event);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
