import { Config } from '@backstage/config';
import { GitAuth } from './runGit';
import { IntegrationGitAuth } from './gitSourceAuth';

interface HostAuth {
  host: string;
  auth: GitAuth;
}

function basic(username: string, password: string): GitAuth {
  return { type: 'basic', username, password };
}

/**
 * Git-over-HTTPS credentials from Backstage's `integrations` config, by host: GitHub and GitLab
 * tokens (as `x-access-token` / `oauth2` basic credentials, what both accept for git),
 * Bitbucket Server token or user/password, Bitbucket Cloud app passwords, Azure DevOps personal
 * access tokens, Gitea and Gerrit user/password. A GitRepository whose URL is on one of those
 * hosts and has no `secretRef` uses them.
 * @internal
 */
export function integrationGitAuthFromConfig(
  config: Config,
): IntegrationGitAuth {
  const hosts: HostAuth[] = [];
  const each = (
    key: string,
    defaultHost: string | undefined,
    read: (c: Config) => GitAuth | undefined,
  ) => {
    for (const c of config.getOptionalConfigArray(`integrations.${key}`) ??
      []) {
      const host = c.getOptionalString('host') ?? defaultHost;
      const auth = read(c);
      if (host && auth)
        hosts.push({ host: host.toLocaleLowerCase('en-US'), auth });
    }
  };
  each('github', 'github.com', c => {
    const token = c.getOptionalString('token');
    return token ? basic('x-access-token', token) : undefined;
  });
  each('gitlab', 'gitlab.com', c => {
    const token = c.getOptionalString('token');
    return token ? basic('oauth2', token) : undefined;
  });
  each('bitbucketServer', undefined, c => {
    const token = c.getOptionalString('token');
    if (token) return { type: 'bearer', token };
    const username = c.getOptionalString('username');
    const password = c.getOptionalString('password');
    return username && password ? basic(username, password) : undefined;
  });
  each('bitbucketCloud', 'bitbucket.org', c => {
    const username = c.getOptionalString('username');
    const appPassword = c.getOptionalString('appPassword');
    return username && appPassword ? basic(username, appPassword) : undefined;
  });
  each('azure', 'dev.azure.com', c => {
    const pat =
      c.getOptionalString('token') ??
      c
        .getOptionalConfigArray('credentials')
        ?.map(x => x.getOptionalString('personalAccessToken'))
        .find(Boolean);
    return pat ? basic('pat', pat) : undefined;
  });
  for (const key of ['gitea', 'gerrit']) {
    each(key, undefined, c => {
      const username = c.getOptionalString('username');
      const password = c.getOptionalString('password');
      return username && password ? basic(username, password) : undefined;
    });
  }
  return async url => {
    let host: string;
    try {
      host = new URL(url).host.toLocaleLowerCase('en-US');
    } catch {
      return undefined;
    }
    return hosts.find(h => h.host === host)?.auth;
  };
}
