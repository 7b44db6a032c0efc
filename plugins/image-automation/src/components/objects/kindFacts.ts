import {
  DEFAULT_EXCLUSION_LIST,
  ImageRef,
  ObjectEvent,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';

/**
 * How an ImageRepository authenticates to its registry, by names only (never a secret's value):
 * a named secret, a cloud provider's workload identity, a service account's pull secrets, or
 * anonymous.
 * @internal
 */
export function authMode(spec: Record<string, unknown>): string {
  const secret = nameOf(spec.secretRef);
  if (secret) return `Secret ${secret} (spec.secretRef)`;
  if (typeof spec.provider === 'string' && spec.provider !== 'generic') {
    return `Cloud provider ${spec.provider} (spec.provider)`;
  }
  if (typeof spec.serviceAccountName === 'string' && spec.serviceAccountName) {
    return `Pull secrets of service account ${spec.serviceAccountName}`;
  }
  return 'Anonymous';
}

function nameOf(ref: unknown): string | undefined {
  const name = (ref as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name ? name : undefined;
}

/**
 * The exclusion list in force: what the last scan observed, else the spec's, else Flux's default.
 * @internal
 */
export function exclusionList(
  spec: Record<string, unknown>,
  status: ObjectStatus,
): { patterns: string[]; origin: 'observed' | 'spec' | 'default' } {
  if (status.observedExclusionList?.length) {
    return { patterns: status.observedExclusionList, origin: 'observed' };
  }
  const fromSpec = Array.isArray(spec.exclusionList)
    ? spec.exclusionList.filter((p): p is string => typeof p === 'string')
    : [];
  if (fromSpec.length > 0) return { patterns: fromSpec, origin: 'spec' };
  return { patterns: DEFAULT_EXCLUSION_LIST, origin: 'default' };
}

/** A `$imagepolicy` marker of an ImageUpdateAutomation's status, with whether it carries the selection and why not. @internal */
export interface MarkerVerdict {
  file: string;
  line: number;
  setter: string;
  value: string;
  applied: boolean;
  /** Why the marker does not carry the policy's selection. */
  why?: string;
}

function refString(ref: ImageRef): string {
  return `${ref.name}:${ref.tag}${ref.digest ? `@${ref.digest}` : ''}`;
}

/**
 * Checks each marker the last run found against the policies it applied (`observedPolicies`),
 * reading the setter name (`ns:policy[:tag|:name|:digest]`) as the automation does.
 * @internal
 */
export function markerVerdicts(
  namespace: string,
  status: ObjectStatus,
): MarkerVerdict[] {
  const policies = status.observedPolicies ?? {};
  return (status.markers ?? []).map(marker => {
    const verdict = (applied: boolean, why?: string): MarkerVerdict => ({
      ...marker,
      applied,
      ...(why ? { why } : {}),
    });
    const [ns, policy, field, ...rest] = marker.setter.split(':');
    if (!ns || !policy || rest.length > 0) {
      return verdict(
        false,
        'not of the form <namespace>:<policy>[:tag|:name|:digest]',
      );
    }
    if (ns !== namespace) {
      return verdict(
        false,
        `names a policy in namespace ${ns}; only policies in the automation's namespace ${namespace} are applied`,
      );
    }
    const ref = policies[policy];
    if (!ref) {
      return verdict(
        false,
        `ImagePolicy ${policy} was not applied by the last run: it is not selected by spec.policySelector, does not exist, or has not selected a tag yet`,
      );
    }
    let expected: string | undefined;
    if (field === undefined) expected = refString(ref);
    else if (field === 'tag') expected = ref.tag;
    else if (field === 'name') expected = ref.name;
    else if (field === 'digest') expected = ref.digest;
    else
      return verdict(
        false,
        `asks for '${field}'; only tag, name and digest exist`,
      );
    if (expected === undefined) {
      return verdict(false, `ImagePolicy ${policy} reflects no digest`);
    }
    if (marker.value !== expected) {
      const pr = status.pullRequest;
      if (pr?.state === 'open' && pr.versions?.[policy] !== undefined) {
        return verdict(
          false,
          `holds ${marker.value}, the policy selects ${expected}: proposed in pull request #${pr.number} (${policy} ${pr.versions[policy]}), written when it is merged`,
        );
      }
      return verdict(
        false,
        `holds ${marker.value}, the policy selects ${expected}: held by a pin or a promotion gate, or written by the next run`,
      );
    }
    return verdict(true);
  });
}

/** Consecutive events with the same type, reason and message, shown once with their count. @internal */
export interface CollapsedEvent {
  type: ObjectEvent['type'];
  reason: string;
  message: string;
  count: number;
  /** The newest and the oldest time of the run. */
  last: string;
  first: string;
}

/** Collapses repeats in a newest-first list of events, keeping the order. @internal */
export function collapseEvents(events: ObjectEvent[]): CollapsedEvent[] {
  const runs: CollapsedEvent[] = [];
  for (const event of events) {
    const previous = runs[runs.length - 1];
    if (
      previous &&
      previous.type === event.type &&
      previous.reason === event.reason &&
      previous.message === event.message
    ) {
      previous.count += 1;
      previous.first = event.time;
    } else {
      runs.push({
        type: event.type,
        reason: event.reason,
        message: event.message,
        count: 1,
        last: event.time,
        first: event.time,
      });
    }
  }
  return runs;
}
