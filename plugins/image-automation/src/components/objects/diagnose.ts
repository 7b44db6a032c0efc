import { AutomationObjectView } from '@imageops/backstage-plugin-image-automation-common';
import { formatTime } from '../format';
import { ObjectState } from './objectState';

/** One cause of a failure: a field of the manifest and what is wrong with it, and how to fix it. @internal */
export interface Cause {
  /** The field path, e.g. `spec.interval`; absent when the message names none. */
  field?: string;
  message: string;
  fix: string;
}

/** "Detected → Cause → Fix → Docs" for an object that is Stalled or Failing. @internal */
export interface Diagnosis {
  /** What was detected, e.g. `Stalled: InvalidManifest`. */
  detected: string;
  /** When the condition last changed. */
  since?: string;
  causes: Cause[];
  /** What to do about the object as a whole, after the causes are fixed. */
  fix: string;
  docs?: { title: string; url: string };
}

const DOCS: Record<string, string> = {
  ImageRepository: 'https://fluxcd.io/flux/components/image/imagerepositories/',
  ImagePolicy: 'https://fluxcd.io/flux/components/image/imagepolicies/',
  ImageUpdateAutomation:
    'https://fluxcd.io/flux/components/image/imageupdateautomations/',
  GitRepository: 'https://fluxcd.io/flux/components/source/gitrepositories/',
  ResourceSet: 'https://fluxcd.control-plane.io/operator/resourceset/',
  ResourceSetInputProvider:
    'https://fluxcd.control-plane.io/operator/resourcesetinputprovider/',
};

/** The fix for a reason that has no field path to point at. */
const REASON_FIXES: Record<string, string> = {
  ImageURLInvalid:
    'Correct spec.image: it must be an image name without a tag, e.g. ghcr.io/org/app.',
  ProviderNotSupported:
    'This provider or type is not supported here: the message names the ones that are. For a GitRepository, set spec.provider to generic and name a credential in spec.secretRef.',
  RegistryNotAllowed:
    "The backend's configuration does not allow this registry: use an allowed one, or ask a Backstage admin to allow it.",
  AuthenticationFailed:
    'Check the credential named in spec.secretRef (or the provider); its value is never shown here.',
  CloudIdentityNotGranted:
    "The backend's cloud identity for this provider is not granted to this entity: ask a Backstage admin to add it to imageAutomation.cloudIdentity.<provider>.allowedEntities, or use provider 'generic' with a credential.",
  RegistryHostMismatch:
    "The image's registry is not one of the provider's (ECR, Artifact Registry/GCR, ACR): correct spec.provider or the image name.",
  KindNotSupported:
    "This plugin does not reconcile this kind: remove it from the entity's manifests, or leave it to Flux.",
  InvalidPolicySelector: 'Correct spec.policySelector.',
  InvalidUpdateStrategy: 'Set spec.update.strategy to Setters.',
  UnsupportedAPIVersion:
    'Set the apiVersion the message names, and move or remove the fields it lists.',
  FieldNotSupported:
    'Remove the field the message names (this plugin cannot honour it), or leave this object to Flux.',
};

/**
 * Reads `Kind "name" is invalid: spec.a: msg, spec.b: msg` (the API server's words, which the
 * backend uses for manifest validation) into one cause per field; any other message is one
 * cause without a field.
 * @internal
 */
export function parseCauses(message: string): Array<Omit<Cause, 'fix'>> {
  const invalid = /^[A-Za-z]+ "[^"]*" is invalid: ([\s\S]*)$/.exec(message);
  const details = invalid ? invalid[1] : message;
  const field =
    /(?:^|, )((?:apiVersion|kind|metadata|spec)(?:\.[A-Za-z0-9_$-]+|\[\d+\])*): /g;
  const starts = [...details.matchAll(field)];
  if (starts.length === 0 || starts[0].index !== 0) {
    return [{ message }];
  }
  return starts.map((match, i) => {
    const end = i + 1 < starts.length ? starts[i + 1].index : details.length;
    return {
      field: match[1],
      message: details.slice(match.index + match[0].length, end),
    };
  });
}

function fieldFix(field: string, message: string, location: string): string {
  if (/^unknown field/.test(message)) {
    return `Remove ${field} from ${location}, or correct its spelling.`;
  }
  if (/^Required value/.test(message)) {
    return `Add ${field} to ${location}.`;
  }
  return `Correct ${field} in ${location}.`;
}

/**
 * What is wrong with a Stalled or Failing object, why, and how to fix it, in the shape of the
 * Kubernetes plugin's fix dialog; undefined for objects that are not failing.
 * @internal
 */
export function diagnose(
  object: AutomationObjectView,
  state: ObjectState,
): Diagnosis | undefined {
  const condition = state.condition;
  const failing =
    state.label === 'Stalled' ||
    state.label === 'Failing' ||
    (state.label === 'Suspended' && condition?.status === 'False');
  if (!failing || !condition) return undefined;
  const location = object.source.location;
  const causes = parseCauses(condition.message || condition.reason).map(
    cause => ({
      ...cause,
      fix: cause.field
        ? fieldFix(cause.field, cause.message, location)
        : REASON_FIXES[condition.reason] ??
          (state.label === 'Stalled'
            ? `Fix the manifest in ${location}.`
            : 'Fix the cause outside the manifest (credentials, network, the registry or Git host).'),
    }),
  );
  const fix =
    state.label === 'Stalled'
      ? 'A Stalled object is not retried until its manifest changes: once the manifest is fixed, the catalog reads it again and the object is reconciled.'
      : `The engine retries by itself${
          object.nextRunAt ? ` (next run ${formatTime(object.nextRunAt)})` : ''
        }; Reconcile retries now.`;
  const docsUrl = DOCS[object.kind];
  return {
    detected: `${state.label}: ${condition.reason || 'no reason given'}`,
    since: condition.lastTransitionTime || undefined,
    causes,
    fix,
    docs: docsUrl
      ? { title: `${object.kind} reference`, url: docsUrl }
      : undefined,
  };
}
