/**
 * The test bed: real components (PostgreSQL, OCI registries) started on 127.0.0.1 with free
 * ports, ready when returned, and always stopped — by `stop()`, or when the process exits or is
 * interrupted.
 *
 * @packageDocumentation
 */

export { freePort } from './freePort';
export { startPostgres, type TestPostgres } from './postgres';
export {
  startRegistry,
  type RegistryTokenAuth,
  type RegistryNotifications,
  type RegistryVersion,
  type StartRegistryOptions,
  type TestRegistry,
} from './registry';
export { makeCertificates, type TestCertificates } from './certificates';
export {
  addTags,
  deleteTag,
  MANIFEST_ACCEPT,
  MediaTypes,
  pushImage,
  type Platform,
  type PushedImage,
  type PushImageOptions,
} from './images';
export {
  startTokenServer,
  type TestTokenServer,
  type TokenRequest,
  type TokenServerOptions,
} from './tokenServer';
export {
  startFaultProxy,
  type Fault,
  type FaultAction,
  type FaultProxy,
} from './faultProxy';
export {
  startGitServer,
  type GitRequest,
  type GitServerOptions,
  type TestGitServer,
} from './gitServer';
export {
  startGitea,
  type GiteaApiOptions,
  type GiteaPullRequest,
  type GiteaRepository,
  type GiteaUser,
  type StartGiteaOptions,
  type TestGitea,
} from './gitea';
export {
  startSshGitServer,
  SSH_GIT_USER,
  type SshKeyPair,
  type TestSshGitServer,
} from './sshGit';
export {
  startAzureDevOpsStandIn,
  type AzureDevOpsPullRequest,
  type AzureDevOpsRepository,
  type AzureDevOpsRequest,
  type AzureDevOpsStandIn,
} from './azureDevOps';
export {
  startExternalServiceStandIn,
  type ExternalServiceRequest,
  type ExternalServiceStandIn,
} from './externalService';
export { loopbackResolver } from './resolver';
