import { Config } from '@backstage/config';
import { isHostAllowed } from '../registry/allowedHosts';

/**
 * Where Git may be reached and with what, from `imageAutomation.git`:
 * - `insecureHosts`: hosts (`host[:port]`, `*.` for subdomains) that may be reached over plain
 *   `http://`; every other Git URL must be `https://`. Default none.
 * - `integrationPush`: repositories (`host` and `pathPrefix`) an ImageUpdateAutomation may push
 *   to with the token of Backstage's `integrations` config for that host. Default none: without
 *   a `secretRef`, an automation has no credentials to push with.
 * @internal
 */
export interface GitAccessSettings {
  insecureHosts: string[];
  integrationPush: Array<{ host: string; pathPrefix: string }>;
}

/** Nothing allowed beyond HTTPS: the default. @internal */
export const STRICT_GIT_ACCESS: GitAccessSettings = { insecureHosts: [], integrationPush: [] };

/** Reads `imageAutomation.git`. @internal */
export function readGitAccessSettings(config: Config): GitAccessSettings {
  const git = config.getOptionalConfig('imageAutomation.git');
  return {
    insecureHosts: git?.getOptionalStringArray('insecureHosts') ?? [],
    integrationPush: (git?.getOptionalConfigArray('integrationPush') ?? []).map(c => ({
      host: c.getString('host').toLocaleLowerCase('en-US'),
      pathPrefix: c.getString('pathPrefix').replace(/^\/+|\/+$/g, '').replace(/\.git$/, ''),
    })),
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

/** Whether `imageAutomation.git.integrationPush` lets the integration token push to `url`. @internal */
export function integrationPushAllowed(url: string, settings: GitAccessSettings): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (/%2e|%2f|%5c|\\/i.test(parsed.pathname)) return false;
  const host = parsed.host.toLocaleLowerCase('en-US');
  const path = parsed.pathname.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '');
  return settings.integrationPush.some(
    p => p.host === host && (p.pathPrefix === '' || path === p.pathPrefix || path.startsWith(`${p.pathPrefix}/`)),
  );
}
