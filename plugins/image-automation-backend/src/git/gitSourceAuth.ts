import { GitRepositorySpec } from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { GitAuth } from './runGit';

/** Credentials Backstage's `integrations` config holds for a URL's host, if any. @internal */
export type IntegrationGitAuth = (url: string) => Promise<GitAuth | undefined>;

/**
 * The credentials a GitRepository uses: its `secretRef` names a credential in
 * `imageAutomation.credentials` (`basic` = username + password or token, `token` = bearer);
 * without one, the Backstage integration configured for the URL's host, if any.
 * @internal
 */
export async function resolveGitAuth(options: {
  spec: GitRepositorySpec;
  entityRef?: string;
  credentials: NamedCredentials;
  integrations?: IntegrationGitAuth;
}): Promise<GitAuth | undefined> {
  const { spec } = options;
  if (spec.secretRef) {
    const credential = options.credentials.resolve(spec.secretRef.name, options.entityRef);
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
  return options.integrations?.(spec.url);
}
