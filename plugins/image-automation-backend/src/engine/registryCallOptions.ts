import { ImageRepositorySpec } from '@imageops/backstage-plugin-image-automation-common';
import {
  CredentialTarget,
  NamedCredentials,
} from '../credentials/NamedCredentials';
import { ImageReference, RegistryCallOptions } from '../registry';
import { parseGoDuration } from '../golib/time';
import { CloudRegistryAuth } from '../cloud/CloudRegistryAuth';
import { CloudProvider } from '../cloud/hostPatterns';

/**
 * The credentials an object names for the registry of `ref` (`secretRef`, `certSecretRef`),
 * checked against the object's entity and the hosts each credential is bound to, with the hosts
 * a token realm may be on when they are sent. Throws with a message fit for a condition.
 * @internal
 */
export function registryCredentialOptions(
  refs: { secretRef?: { name: string }; certSecretRef?: { name: string } },
  ref: ImageReference,
  entityRef: string | undefined,
  credentials: NamedCredentials,
): Pick<
  RegistryCallOptions,
  'credentials' | 'tls' | 'credentialHosts' | 'plainHttpCredentials'
> {
  const target: CredentialTarget = {
    kind: 'registry',
    host: ref.registry,
    repository: ref.repository,
  };
  return {
    credentials: refs.secretRef
      ? credentials.resolve(refs.secretRef.name, entityRef, target)
      : undefined,
    tls: refs.certSecretRef
      ? credentials.resolveTls(refs.certSecretRef.name, entityRef, target)
      : undefined,
    credentialHosts: refs.secretRef
      ? credentials.boundHosts(refs.secretRef.name)
      : undefined,
    plainHttpCredentials: credentials.plainHttpAllowed(ref.registry),
  };
}

/**
 * How to call the registry of an ImageRepository: its `secretRef` and `certSecretRef`
 * credentials (see {@link registryCredentialOptions}) and Flux's timeout (`timeout`, else
 * `interval`, at least one second). Throws with a message fit for a condition when a credential
 * cannot be used.
 * @internal
 */
export function registryCallOptions(
  spec: ImageRepositorySpec,
  ref: ImageReference,
  entityRef: string | undefined,
  credentials: NamedCredentials,
): RegistryCallOptions {
  return {
    ...registryCredentialOptions(spec, ref, entityRef, credentials),
    timeoutMs: Math.max(1000, parseGoDuration(spec.timeout ?? spec.interval)),
  };
}

/**
 * The registry call options of an object that authenticates with the backend's cloud identity
 * (`provider` aws, gcp or azure; see `CloudRegistryAuth`): admitted for the object's entity and
 * registry first (a `CloudIdentityRefusedError` before any request), then basic
 * credentials from a cached or fresh registry token (a `CloudTokenError` when the token service
 * refuses). As in Flux, `secretRef` is ignored; `certSecretRef` is still honoured.
 * @internal
 */
export async function cloudRegistryCallOptions(
  provider: CloudProvider,
  refs: { certSecretRef?: { name: string } },
  ref: ImageReference,
  entityRef: string | undefined,
  credentials: NamedCredentials,
  cloud: CloudRegistryAuth,
  call: { timeoutMs: number; signal?: AbortSignal },
): Promise<RegistryCallOptions> {
  const registry = cloud.admit(provider, ref, entityRef);
  const base = registryCredentialOptions(
    { certSecretRef: refs.certSecretRef },
    ref,
    entityRef,
    credentials,
  );
  return {
    ...base,
    credentials: await cloud.credentials(registry, call),
    credentialHosts: [],
    plainHttpCredentials: false,
    timeoutMs: call.timeoutMs,
    signal: call.signal,
  };
}

/** `CloudRegistryAuth` with nothing configured: every cloud identity refused. @internal */
export const NO_CLOUD_IDENTITY = new CloudRegistryAuth(
  {},
  { allowedRegistries: [] },
);
