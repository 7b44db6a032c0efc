import { ImageRepositorySpec } from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { RegistryCallOptions } from '../registry';
import { parseGoDuration } from '../util/goDuration';

/**
 * How to call the registry of an ImageRepository: its `secretRef` and `certSecretRef`
 * credentials and Flux's timeout (`timeout`, else `interval`, at least one second). Throws
 * with a message fit for a condition when a credential cannot be used.
 * @internal
 */
export function registryCallOptions(
  spec: ImageRepositorySpec,
  entityRef: string | undefined,
  credentials: NamedCredentials,
): RegistryCallOptions {
  return {
    credentials: spec.secretRef ? credentials.resolve(spec.secretRef.name, entityRef) : undefined,
    tls: spec.certSecretRef ? credentials.resolveTls(spec.certSecretRef.name, entityRef) : undefined,
    timeoutMs: Math.max(1000, parseGoDuration(spec.timeout ?? spec.interval)),
  };
}
