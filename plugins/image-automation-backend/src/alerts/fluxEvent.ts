import { createHash } from 'node:crypto';
import { ObjectEvent } from '@imageops/backstage-plugin-image-automation-common';
import { compileGoRegexp } from '../golib/regexp';
import { StoredObject } from '../store/ObjectStore';

/**
 * An event as Flux's controllers send it to the notification-controller (`event/v1beta1.Event`),
 * with the fields in Go's JSON order. `metadata` keys are written sorted, as Go writes maps.
 * @internal
 */
export interface FluxEvent {
  involvedObject: {
    kind: string;
    namespace: string;
    name: string;
    apiVersion: string;
  };
  severity: 'info' | 'error';
  timestamp: string;
  message: string;
  reason: string;
  metadata?: Record<string, string>;
  reportingController: string;
}

/** The controller that reports each kind's events in Flux. */
const REPORTING_CONTROLLER: Record<string, string> = {
  ImageRepository: 'image-reflector-controller',
  ImagePolicy: 'image-reflector-controller',
  ImageUpdateAutomation: 'image-automation-controller',
  GitRepository: 'source-controller',
  ResourceSet: 'flux-operator',
  ResourceSetInputProvider: 'flux-operator',
};

/** Our stored event of `object` as the Flux event a controller would have sent. @internal */
export function toFluxEvent(
  event: Omit<ObjectEvent, 'id'>,
  object: StoredObject,
): FluxEvent {
  return {
    involvedObject: {
      kind: object.kind,
      namespace: object.namespace,
      name: object.name,
      apiVersion: object.apiVersion,
    },
    severity: event.type === 'Warning' ? 'error' : 'info',
    // metav1.Time: RFC 3339 in seconds.
    timestamp: new Date(event.time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    message: event.message,
    reason: event.reason,
    ...(event.metadata && Object.keys(event.metadata).length > 0
      ? { metadata: sortedKeys(event.metadata) }
      : {}),
    reportingController:
      REPORTING_CONTROLLER[object.kind] ?? 'image-automation',
  };
}

/** A string map with its keys in Go's order (sorted by bytes, as encoding/json writes a map). */
function sortedKeys(map: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(map).sort(([a], [b]) => Number(a > b) - Number(a < b)),
  );
}

/** An Alert's spec (notification.toolkit.fluxcd.io/v1beta3). @internal */
export interface AlertSpec {
  providerRef: { name: string };
  eventSeverity?: 'info' | 'error';
  eventSources: Array<{
    apiVersion?: string;
    kind: string;
    name: string;
    namespace?: string;
    matchLabels?: Record<string, string>;
  }>;
  inclusionList?: string[];
  exclusionList?: string[];
  eventMetadata?: Record<string, string>;
  summary?: string;
  suspend?: boolean;
}

/** The first inclusion or exclusion pattern Go would not compile, as Flux words it; undefined when all compile. @internal */
export function invalidPattern(spec: AlertSpec): string | undefined {
  for (const [list, what] of [
    [spec.inclusionList, 'inclusion'],
    [spec.exclusionList, 'exclusion'],
  ] as const) {
    for (const pattern of list ?? []) {
      const compiled = compileGoRegexp(pattern);
      if (!compiled.ok)
        return `failed to compile ${what} regex: ${pattern.slice(0, 200)}: ${
          compiled.message
        }`;
    }
  }
  return undefined;
}

function anyMatches(patterns: string[], message: string): boolean {
  return patterns.some(pattern => {
    const compiled = compileGoRegexp(pattern);
    // Linear-time engine (Go semantics); a pattern that does not compile never matches.
    return compiled.ok && compiled.regexp.regexp.test(message);
  });
}

/**
 * Whether an Alert in `alertNamespace` takes `event` of an object with `labels`, as Flux's event
 * server decides: one of `eventSources` has the object's kind and namespace (the Alert's when
 * unset), `*` or its name, and its `matchLabels` all on the object; the severity is `info` (all)
 * or the event's; the message matches an `inclusionList` pattern (when any) and no
 * `exclusionList` pattern. A suspended Alert takes nothing.
 * @internal
 */
export function alertMatches(
  spec: AlertSpec,
  alertNamespace: string,
  event: FluxEvent,
  labels: Record<string, string> = {},
): boolean {
  if (spec.suspend) return false;
  const severity = spec.eventSeverity ?? 'info';
  if (severity !== 'info' && event.severity !== severity) return false;
  const sourceMatches = (spec.eventSources ?? []).some(source => {
    const namespace = source.namespace || alertNamespace;
    if (
      event.involvedObject.namespace !== namespace ||
      event.involvedObject.kind !== source.kind
    )
      return false;
    if (source.name !== '*' && source.name !== event.involvedObject.name)
      return false;
    return Object.entries(source.matchLabels ?? {}).every(
      ([key, value]) => labels[key] === value,
    );
  });
  if (!sourceMatches) return false;
  if (
    spec.inclusionList?.length &&
    !anyMatches(spec.inclusionList, event.message)
  )
    return false;
  if (
    spec.exclusionList?.length &&
    anyMatches(spec.exclusionList, event.message)
  )
    return false;
  return true;
}

/**
 * The event an Alert sends, its metadata combined as Flux's event server combines it (RFC 0008):
 * the Alert's `eventMetadata`, then `summary` under the key `summary`, then — winning — the
 * metadata the reporting controller attached to the event (in Flux, the keys prefixed with the
 * object's API group, e.g. a push's or an artifact's `revision`).
 * @internal
 */
export function withAlertMetadata(
  event: FluxEvent,
  spec: AlertSpec,
): FluxEvent {
  const metadata: Record<string, string> = { ...(spec.eventMetadata ?? {}) };
  if (spec.summary) metadata.summary = spec.summary;
  Object.assign(metadata, event.metadata ?? {});
  const sorted = sortedKeys(metadata);
  return Object.keys(sorted).length > 0
    ? { ...event, metadata: sorted }
    : event;
}

/**
 * The metadata keys of the sent event that more than one source gives — the Alert's
 * `eventMetadata`, its `summary` (key `summary`), the controller's metadata — sorted. Flux's event
 * server records a Warning `MetadataAppendFailed` on the Alert when there is any (the event is sent
 * all the same, with the winner of {@link withAlertMetadata}).
 * @internal
 */
export function metadataConflicts(event: FluxEvent, spec: AlertSpec): string[] {
  const sources = new Map<string, number>();
  const add = (keys: string[]) => {
    for (const key of keys) sources.set(key, (sources.get(key) ?? 0) + 1);
  };
  add(Object.keys(spec.eventMetadata ?? {}));
  if (spec.summary) add(['summary']);
  add(Object.keys(event.metadata ?? {}));
  return [...sources]
    .filter(([, count]) => count > 1)
    .map(([key]) => key)
    .sort();
}

/**
 * Flux's rate limit of identical events (`--rate-limit-interval`, default 5m): an event with the
 * same involved object, message and `originRevision`, `revision` and `token` metadata as one let
 * through within the window is dropped.
 * @internal
 */
export class DuplicateFilter {
  private readonly seen = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  /** True when the event may go; records it. */
  admit(event: FluxEvent, nowMs: number): boolean {
    if (this.windowMs <= 0) return true;
    const { kind, namespace, name } = event.involvedObject;
    const components = [
      'event',
      `name=${name}`,
      `namespace=${namespace}`,
      `kind=${kind}`,
      `message=${event.message}`,
    ];
    for (const meta of ['originRevision', 'revision', 'token']) {
      const value = event.metadata?.[meta];
      if (value !== undefined) components.push(`${meta}=${value}`);
    }
    const key = createHash('sha256').update(components.join('/')).digest('hex');
    const until = this.seen.get(key);
    if (until !== undefined && until > nowMs) return false;
    if (this.seen.size > 10_000) {
      for (const [k, expiry] of this.seen)
        if (expiry <= nowMs) this.seen.delete(k);
    }
    this.seen.set(key, nowMs + this.windowMs);
    return true;
  }
}
