import { GitRepositorySpec } from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { GitAccessSettings, integrationPushAllowed } from './gitAccess';
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

/**
 * The credentials a GitRepository uses: its `secretRef` names a credential in
 * `imageAutomation.credentials` (`basic` = username + password or token, `token` = bearer),
 * granted to the entity and bound to the URL's host and path; without one, the Backstage
 * integration configured for the URL's host, if any. For a push (`push` set), the integration
 * is only used for repositories `imageAutomation.git.integrationPush` lists; elsewhere this
 * throws {@link IntegrationPushRefusedError}.
 * @internal
 */
export async function resolveGitAuth(options: {
  spec: GitRepositorySpec;
  entityRef?: string;
  /** The entity of the object that uses the source (an automation), when not the source's own: it must be granted the credential too. */
  usedBy?: { entityRef?: string };
  credentials: NamedCredentials;
  integrations?: IntegrationGitAuth;
  push?: { access: GitAccessSettings };
}): Promise<GitAuth | undefined> {
  const { spec } = options;
  if (spec.secretRef) {
    const target = { kind: 'git' as const, url: spec.url };
    const credential = options.credentials.resolve(spec.secretRef.name, options.entityRef, target);
    if (options.usedBy && options.usedBy.entityRef !== options.entityRef) {
      options.credentials.resolve(spec.secretRef.name, options.usedBy.entityRef, target);
    }
    switch (credential.type) {
      case 'basic':
        return { type: 'basic', username: credential.username, password: credential.password };
      case 'token':
        return { type: 'bearer', token: credential.token };
      default:
        throw new Error(
          `credential '${spec.secretRef.name}' is of type ${credential.type}; a Git source needs a basic or token credential`,
        );
    }
  }
  const integration = await options.integrations?.(spec.url);
  if (integration && options.push && !integrationPushAllowed(spec.url, options.push.access)) {
    let where = spec.url;
    try {
      const url = new URL(spec.url);
      where = `${url.host}${url.pathname}`;
    } catch {
      // spec.url was checked before; keep it as is.
    }
    throw new IntegrationPushRefusedError(
      `the Backstage integration token for ${where} may not be used to push: the repository is not under an entry of imageAutomation.git.integrationPush (give the GitRepository a secretRef, or add { host, pathPrefix } there)`,
    );
  }
  return integration;
}
