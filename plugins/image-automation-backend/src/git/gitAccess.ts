import { Config } from '@backstage/config';
import { isHostAllowed } from '../registry/allowedHosts';

/**
 * Where Git may be reached and with what, from `imageAutomation.git`:
 * - `insecureHosts`: hosts (`host[:port]`, `*.` for subdomains) that may be reached over plain
 *   `http://`; every other Git URL must be `https://`. Default none.
 * - `integrationRead`: repositories (`host` and `pathPrefix`) a GitRepository without
 *   `secretRef` may read (ls-remote, clone) with the token of Backstage's `integrations` config
 *   for that host. Default none.
 * - `integrationPush`: repositories an ImageUpdateAutomation may push to (and so also read) with
 *   that token. Default none: without a `secretRef`, an automation has no credentials to push with.
 * A repository on a host with an integration but under neither list is refused: the token is
 * never sent, and nothing is fetched anonymously in its place.
 * @internal
 */
export interface GitAccessSettings {
  insecureHosts: string[];
  integrationRead: IntegrationRepositories;
  integrationPush: IntegrationRepositories;
}

/** Repositories by `host` (lower case) and `pathPrefix` (whole segments, no slashes or `.git` at the ends). @internal */
export type IntegrationRepositories = Array<{ host: string; pathPrefix: string }>;

/** Nothing allowed beyond HTTPS: the default. @internal */
export const STRICT_GIT_ACCESS: GitAccessSettings = { insecureHosts: [], integrationRead: [], integrationPush: [] };

function readRepositories(git: Config | undefined, key: string): IntegrationRepositories {
  return (git?.getOptionalConfigArray(key) ?? []).map(c => ({
    host: c.getString('host').toLocaleLowerCase('en-US'),
    pathPrefix: c.getString('pathPrefix').replace(/^\/+|\/+$/g, '').replace(/\.git$/, ''),
  }));
}

/** Reads `imageAutomation.git`. @internal */
export function readGitAccessSettings(config: Config): GitAccessSettings {
  const git = config.getOptionalConfig('imageAutomation.git');
  return {
    insecureHosts: git?.getOptionalStringArray('insecureHosts') ?? [],
    integrationRead: readRepositories(git, 'integrationRead'),
    integrationPush: readRepositories(git, 'integrationPush'),
  };
}

/** A Git URL that may not be used. @internal */
export class GitUrlRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GitUrlRefusedError';
  }
}

function withoutUserinfo(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//');
}

/**
 * Checks that a GitRepository URL may be reached: `https://`, or `http://` to a host in
 * `imageAutomation.git.insecureHosts`; nothing else (no ssh, `file://`, `ext::`, options).
 * Throws {@link GitUrlRefusedError} with a message naming the URL (without credentials).
 * @internal
 */
export function checkGitUrl(url: string, settings: GitAccessSettings): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new GitUrlRefusedError(`'${withoutUserinfo(url)}' is not a valid URL; only https:// Git URLs are supported`);
  }
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:') {
    if (isHostAllowed(parsed.host, settings.insecureHosts)) return parsed;
    throw new GitUrlRefusedError(
      `plain HTTP Git URL '${withoutUserinfo(url)}' refused: only https:// is allowed unless the host ${parsed.host} is in imageAutomation.git.insecureHosts`,
    );
  }
  throw new GitUrlRefusedError(`only https:// Git URLs are supported, got '${withoutUserinfo(url)}'`);
}

function underRepositories(url: string, repositories: IntegrationRepositories): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (/%2e|%2f|%5c|\\/i.test(parsed.pathname)) return false;
  const host = parsed.host.toLocaleLowerCase('en-US');
  const path = parsed.pathname.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '');
  return repositories.some(
    p => p.host === host && (p.pathPrefix === '' || path === p.pathPrefix || path.startsWith(`${p.pathPrefix}/`)),
  );
}

/** Whether `imageAutomation.git.integrationPush` lets the integration token push to `url`. @internal */
export function integrationPushAllowed(url: string, settings: GitAccessSettings): boolean {
  return underRepositories(url, settings.integrationPush);
}

/**
 * Whether the integration token may read `url`: listed in `imageAutomation.git.integrationRead`
 * or in `imageAutomation.git.integrationPush` (a repository one may push to may be read).
 * @internal
 */
export function integrationReadAllowed(url: string, settings: GitAccessSettings): boolean {
  return underRepositories(url, settings.integrationRead) || underRepositories(url, settings.integrationPush);
}
