import { ImageRepositorySpec } from '@imageops/backstage-plugin-image-automation-common';
import { CredentialTarget, NamedCredentials } from '../credentials/NamedCredentials';
import { ImageReference, RegistryCallOptions } from '../registry';
import { parseGoDuration } from '../util/goDuration';

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
): Pick<RegistryCallOptions, 'credentials' | 'tls' | 'credentialHosts' | 'plainHttpCredentials'> {
  const target: CredentialTarget = { kind: 'registry', host: ref.registry, repository: ref.repository };
  return {
    credentials: refs.secretRef ? credentials.resolve(refs.secretRef.name, entityRef, target) : undefined,
    tls: refs.certSecretRef ? credentials.resolveTls(refs.certSecretRef.name, entityRef, target) : undefined,
    credentialHosts: refs.secretRef ? credentials.boundHosts(refs.secretRef.name) : undefined,
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
