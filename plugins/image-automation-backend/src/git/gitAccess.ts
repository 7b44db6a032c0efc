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
export type IntegrationRepositories = Array<{
  host: string;
  pathPrefix: string;
}>;

/** Nothing allowed beyond HTTPS: the default. @internal */
export const STRICT_GIT_ACCESS: GitAccessSettings = {
  insecureHosts: [],
  integrationRead: [],
  integrationPush: [],
};

function readRepositories(
  git: Config | undefined,
  key: string,
): IntegrationRepositories {
  return (git?.getOptionalConfigArray(key) ?? []).map(c => ({
    host: c.getString('host').toLocaleLowerCase('en-US'),
    pathPrefix: c
      .getString('pathPrefix')
      .replace(/^\/+|\/+$/g, '')
      .replace(/\.git$/, ''),
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
 * A Git remote over SSH, from `ssh://[user@]host[:port]/path` or the scp-like
 * `[user@]host:path` (with a port: `[user@][host:port]:path`). `host` is `host[:port]` in lower
 * case (the port only when given), `path` the repository path without leading or trailing `/`
 * or `.git` (what a credential's `hosts` path prefix is matched against).
 * @internal
 */
export interface SshGitLocation {
  user?: string;
  host: string;
  path: string;
}

const SSH_USER = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const SSH_HOST =
  /^([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/;

/** Whether `url` is an `ssh://` or scp-like Git URL (valid or not). @internal */
export function isSshGitUrl(url: string): boolean {
  if (/^ssh:\/\//i.test(url)) return true;
  // Another scheme, or git's `<transport>::<address>` (ext::, fd::): not SSH.
  if (/^[a-z][a-z0-9+.-]*:(\/\/|:)/i.test(url)) return false;
  // git's scp-like rule: a colon before any slash.
  const colon = url.indexOf(':');
  const slash = url.indexOf('/');
  return colon > 0 && (slash < 0 || colon < slash);
}

/**
 * Parses an `ssh://` or scp-like Git URL, refusing (with {@link GitUrlRefusedError}) anything git
 * could read as an option or a local command, a password in the URL, and paths that a server
 * could resolve elsewhere than where the credential binding checks them (`.`/`..` segments,
 * `~` expansion, percent-encoding, backslashes).
 * @internal
 */
export function parseSshGitUrl(url: string): SshGitLocation {
  const refuse = (why: string) =>
    new GitUrlRefusedError(
      `SSH Git URL '${withoutUserinfo(url)}' refused: ${why}`,
    );
  // Control characters are what this check refuses.
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f\\%]/.test(url))
    throw refuse(
      'it has whitespace, control characters, a backslash or percent-encoding',
    );
  let user: string | undefined;
  let authority: string;
  let rawPath: string;
  if (/^ssh:\/\//i.test(url)) {
    const rest = url.slice('ssh://'.length);
    const slash = rest.indexOf('/');
    if (slash < 0) throw refuse('it has no repository path');
    authority = rest.slice(0, slash);
    rawPath = rest.slice(slash + 1);
    const at = authority.lastIndexOf('@');
    if (at >= 0) {
      user = authority.slice(0, at);
      authority = authority.slice(at + 1);
    }
    if (user?.includes(':'))
      throw refuse(
        'a password in an SSH URL is not supported; use an sshKey credential',
      );
  } else {
    // scp-like: [user@]host:path, or [user@][host:port]:path.
    const match = /^(?:([^@:/\[\]]+)@)?(\[[^\]]+\]|[^:/@\[\]]+):(.*)$/.exec(
      url,
    );
    if (!match)
      throw refuse('write ssh://user@host[:port]/path or user@host:path');
    user = match[1];
    authority =
      match[2].startsWith('[') && /^\[[^\]:]+:\d+\]$/.test(match[2])
        ? match[2].slice(1, -1)
        : match[2];
    rawPath = match[3];
  }
  if (user !== undefined && !SSH_USER.test(user))
    throw refuse(`'${user}' is not a valid user name`);
  const host = authority.toLocaleLowerCase('en-US');
  const hostMatch = SSH_HOST.exec(host);
  if (!hostMatch) throw refuse(`'${authority}' is not a valid host[:port]`);
  if (
    hostMatch[2] !== undefined &&
    (Number(hostMatch[2]) < 1 || Number(hostMatch[2]) > 65535)
  )
    throw refuse(`port ${hostMatch[2]} is out of range`);
  const segments = rawPath.replace(/^\/+/, '').split('/');
  if (rawPath.replace(/^\/+|\/+$/g, '') === '')
    throw refuse('it has no repository path');
  if (segments.some(s => s === '.' || s === '..'))
    throw refuse("the path has a '.' or '..' segment");
  if (segments[0].startsWith('~'))
    throw refuse("'~' home-directory paths are not supported");
  if (segments.some(s => s.startsWith('-')))
    throw refuse("a path segment starts with '-'");
  return {
    user,
    host,
    path: rawPath.replace(/^\/+|\/+$/g, '').replace(/\.git$/, ''),
  };
}

/**
 * Checks that a GitRepository URL may be reached: `https://`, or `http://` to a host in
 * `imageAutomation.git.insecureHosts`, or SSH (`ssh://` or scp-like) when the object has a
 * `secretRef` (`hasSecretRef`: it must name an `sshKey` credential, checked when it is resolved);
 * nothing else (`file://`, `ext::`, `git://`, options). Throws {@link GitUrlRefusedError} with a
 * message naming the URL (without credentials).
 * @internal
 */
export function checkGitUrl(
  url: string,
  settings: GitAccessSettings,
  hasSecretRef = false,
): URL | SshGitLocation {
  if (isSshGitUrl(url)) {
    const location = parseSshGitUrl(url);
    if (!hasSecretRef) {
      throw new GitUrlRefusedError(
        `SSH Git URL '${withoutUserinfo(
          url,
        )}' needs spec.secretRef naming an sshKey credential (a deploy key with knownHosts) granted to the entity and bound to ${
          location.host
        }`,
      );
    }
    return location;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new GitUrlRefusedError(
      `'${withoutUserinfo(
        url,
      )}' is not a valid URL; only https:// and ssh:// Git URLs are supported`,
    );
  }
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:') {
    if (isHostAllowed(parsed.host, settings.insecureHosts)) return parsed;
    throw new GitUrlRefusedError(
      `plain HTTP Git URL '${withoutUserinfo(
        url,
      )}' refused: only https:// is allowed unless the host ${
        parsed.host
      } is in imageAutomation.git.insecureHosts`,
    );
  }
  throw new GitUrlRefusedError(
    `only https:// and ssh:// Git URLs are supported, got '${withoutUserinfo(
      url,
    )}'`,
  );
}

function underRepositories(
  url: string,
  repositories: IntegrationRepositories,
): boolean {
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
    p =>
      p.host === host &&
      (p.pathPrefix === '' ||
        path === p.pathPrefix ||
        path.startsWith(`${p.pathPrefix}/`)),
  );
}

/** Whether `imageAutomation.git.integrationPush` lets the integration token push to `url`. @internal */
export function integrationPushAllowed(
  url: string,
  settings: GitAccessSettings,
): boolean {
  return underRepositories(url, settings.integrationPush);
}

/**
 * Whether the integration token may read `url`: listed in `imageAutomation.git.integrationRead`
 * or in `imageAutomation.git.integrationPush` (a repository one may push to may be read).
 * @internal
 */
export function integrationReadAllowed(
  url: string,
  settings: GitAccessSettings,
): boolean {
  return (
    underRepositories(url, settings.integrationRead) ||
    underRepositories(url, settings.integrationPush)
  );
}
