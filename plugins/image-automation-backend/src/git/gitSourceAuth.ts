import { GitRepositorySpec } from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '../credentials/NamedCredentials';
import {
  GitAccessSettings,
  GitUrlRefusedError,
  integrationPushAllowed,
  integrationReadAllowed,
  isSshGitUrl,
  parseSshGitUrl,
} from './gitAccess';
import { GitAuth } from './runGit';

/** Credentials Backstage's `integrations` config holds for a URL's host, if any. @internal */
export type IntegrationGitAuth = (url: string) => Promise<GitAuth | undefined>;

/** The integration token may not push where a manifest asks. @internal */
export class IntegrationPushRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrationPushRefusedError';
  }
}

/** The integration token may not read the repository a manifest names. @internal */
export class IntegrationReadRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrationReadRefusedError';
  }
}

/**
 * The credentials a GitRepository uses: its `secretRef` names a credential in
 * `imageAutomation.credentials` (`basic` = username + password or token, `token` = bearer),
 * granted to the entity and bound to the URL's host and path; without one, the Backstage
 * integration configured for the URL's host, if any, but only for repositories
 * `imageAutomation.git` lists: to read, under `integrationRead` or `integrationPush` (else
 * {@link IntegrationReadRefusedError}); to push (`push` set), under `integrationPush` (else
 * {@link IntegrationPushRefusedError}). Both are thrown before anything is sent to the host. A
 * host without an integration is reached anonymously.
 * @internal
 */
export async function resolveGitAuth(options: {
  spec: GitRepositorySpec;
  entityRef?: string;
  /** The entity of the object that uses the source (an automation), when not the source's own: it must be granted the credential too. */
  usedBy?: { entityRef?: string };
  credentials: NamedCredentials;
  integrations?: IntegrationGitAuth;
  /** `imageAutomation.git`: which repositories the integration token may read and push. */
  access: GitAccessSettings;
  /** The source is used to push (an ImageUpdateAutomation), not only read. */
  push?: boolean;
}): Promise<GitAuth | undefined> {
  const { spec } = options;
  if (isSshGitUrl(spec.url)) {
    // Git over SSH: only with a deploy key (an sshKey credential) granted to the entity (and to the
    // automation's) and bound to the host and path; never the integration token, never anonymous.
    const location = parseSshGitUrl(spec.url);
    if (!spec.secretRef) {
      throw new GitUrlRefusedError(
        `an SSH Git URL needs spec.secretRef naming an sshKey credential bound to ${location.host}`,
      );
    }
    const target = {
      kind: 'ssh' as const,
      host: location.host,
      path: location.path,
    };
    const key = options.credentials.resolveSshKey(
      spec.secretRef.name,
      options.entityRef,
      target,
    );
    if (options.usedBy && options.usedBy.entityRef !== options.entityRef) {
      options.credentials.resolveSshKey(
        spec.secretRef.name,
        options.usedBy.entityRef,
        target,
      );
    }
    return {
      type: 'ssh',
      credential: spec.secretRef.name,
      host: location.host,
      ...key,
    };
  }
  if (spec.secretRef) {
    const target = { kind: 'git' as const, url: spec.url };
    const credential = options.credentials.resolve(
      spec.secretRef.name,
      options.entityRef,
      target,
    );
    if (options.usedBy && options.usedBy.entityRef !== options.entityRef) {
      options.credentials.resolve(
        spec.secretRef.name,
        options.usedBy.entityRef,
        target,
      );
    }
    switch (credential.type) {
      case 'basic':
        return {
          type: 'basic',
          username: credential.username,
          password: credential.password,
        };
      case 'token':
        return { type: 'bearer', token: credential.token };
      default:
        throw new Error(
          `credential '${spec.secretRef.name}' is of type ${credential.type}; a Git source needs a basic or token credential`,
        );
    }
  }
  const integration = await options.integrations?.(spec.url);
  if (!integration) return undefined;
  let where = spec.url;
  try {
    const url = new URL(spec.url);
    where = `${url.host}${url.pathname}`;
  } catch {
    // spec.url was checked before; keep it as is.
  }
  if (options.push && !integrationPushAllowed(spec.url, options.access)) {
    throw new IntegrationPushRefusedError(
      `the Backstage integration token for ${where} may not be used to push: the repository is not under an entry of imageAutomation.git.integrationPush (give the GitRepository a secretRef, or add { host, pathPrefix } there)`,
    );
  }
  if (!integrationReadAllowed(spec.url, options.access)) {
    throw new IntegrationReadRefusedError(
      `the Backstage integration token for ${where} may not be used to read: the repository is not under an entry of imageAutomation.git.integrationRead or imageAutomation.git.integrationPush (give the GitRepository a secretRef, or add { host, pathPrefix } to imageAutomation.git.integrationRead)`,
    );
  }
  return integration;
}
