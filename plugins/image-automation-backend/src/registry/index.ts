/**
 * The OCI distribution client: image names as Flux parses them, tag listing and digests with
 * authentication, pagination, TLS, retries and limits.
 *
 * @packageDocumentation
 */

export {
  parseImageReference,
  type ImageReference,
} from './parseImageReference';
export {
  MANIFEST_MEDIA_TYPES,
  RegistryClient,
  type ManifestDigest,
  type RegistryCallOptions,
  type RegistryClientOptions,
  type RegistryCredentials,
  type RegistryLogger,
  type RegistryRetryOptions,
  type RegistryTls,
} from './RegistryClient';
export { RegistryError, type RegistryErrorKind } from './RegistryError';
export { findDockerConfigAuth, type DockerConfigAuth } from './dockerConfig';
