/** Credentials found for a registry in a docker config. @internal */
export interface DockerConfigAuth {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`identitytoken`), exchanged at the token realm. */
  identityToken?: string;
  /** A bearer token sent as is (`registrytoken`). */
  registryToken?: string;
}

interface KeyringEntry {
  key: string;
  auth: DockerConfigAuth;
}

const DOCKER_HUB = 'index.docker.io';
// Keys naming Docker Hub by another host; Flux only matches `index.docker.io` keys (`https://index.docker.io/v1/`).
const DOCKER_HUB_ALIASES = new Set([
  'docker.io',
  'registry-1.docker.io',
  'registry.docker.io',
]);

function parseSchemeless(value: string): URL | undefined {
  try {
    return new URL(/^https?:\/\//.test(value) ? value : `https://${value}`);
  } catch {
    return undefined;
  }
}

/** Normalises an `auths` key as the Kubernetes credential keyring does: no scheme, `/v1/`, `/v2/` dropped. */
function normaliseKey(
  key: string,
  dockerHubAliases: boolean,
): string | undefined {
  const url = parseSchemeless(key);
  if (!url) {
    return undefined;
  }
  let host = url.host;
  if (dockerHubAliases && DOCKER_HUB_ALIASES.has(host)) {
    host = DOCKER_HUB;
  }
  let path = decodeURIComponent(url.pathname);
  if (path.startsWith('/v2/') || path.startsWith('/v1/')) {
    path = path.slice(3);
  }
  return path.length > 0 && path !== '/' ? host + path : host;
}

/** Go's `filepath.Match` for one host label: `*`, `?`, `[...]`, `\x`. */
function globLabel(pattern: string, value: string): boolean {
  let regex = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      regex += '[^/]*';
    } else if (c === '?') {
      regex += '[^/]';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) {
        return false;
      }
      let set = pattern.slice(i + 1, end);
      if (set.startsWith('^')) {
        set = `\\^${set.slice(1)}`;
      }
      regex += `[${set.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) {
      regex += `\\${pattern[++i]}`;
    } else {
      regex += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${regex}$`).test(value);
}

function splitHost(url: URL): { labels: string[]; port: string } {
  return { labels: url.hostname.split('.'), port: url.port };
}

/** The Kubernetes keyring's `URLsMatch`: same port, same number of host labels, each globbed, path prefix. */
function keyMatches(key: string, target: string): boolean {
  const glob = parseSchemeless(key);
  const image = parseSchemeless(target);
  if (!glob || !image) {
    return false;
  }
  const g = splitHost(glob);
  const t = splitHost(image);
  if (g.port !== t.port || g.labels.length !== t.labels.length) {
    return false;
  }
  if (!g.labels.every((label, i) => globLabel(label, t.labels[i]))) {
    return false;
  }
  return image.pathname.startsWith(glob.pathname);
}

function decodeEntry(entry: Record<string, unknown>): DockerConfigAuth {
  const auth: DockerConfigAuth = {};
  const str = (v: unknown) =>
    typeof v === 'string' && v !== '' ? v : undefined;
  auth.username = str(entry.username);
  auth.password = str(entry.password);
  const encoded = str(entry.auth);
  if (encoded) {
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) {
      throw new Error(
        'docker config: an "auth" value is not base64 of "username:password"',
      );
    }
    auth.username = decoded.slice(0, colon);
    auth.password = decoded.slice(colon + 1);
  }
  auth.identityToken = str(entry.identitytoken);
  auth.registryToken = str(entry.registrytoken);
  return auth;
}

/**
 * Finds the credentials a docker config JSON (`.dockerconfigjson`, or the legacy `.dockercfg`
 * map) holds for `<registry>/<repository>`, as Flux does through the Kubernetes credential keyring:
 * keys are normalised, sorted in reverse byte order (more specific first), matched with per-label
 * host globbing and a path prefix; the first match wins.
 *
 * With `dockerHubAliases` (our default, an improvement over Flux) a key `docker.io` or
 * `registry-1.docker.io` also serves `index.docker.io`. Throws on malformed JSON, with a message
 * that does not quote the document.
 * @internal
 */
export function findDockerConfigAuth(
  dockerConfigJson: string,
  image: { registry: string; repository: string },
  options: { dockerHubAliases?: boolean } = {},
): DockerConfigAuth | undefined {
  let document: unknown;
  try {
    document = JSON.parse(dockerConfigJson);
  } catch {
    throw new Error('docker config: not valid JSON');
  }
  if (!document || typeof document !== 'object') {
    throw new Error('docker config: not a JSON object');
  }
  const root = document as Record<string, unknown>;
  const auths = (
    root.auths && typeof root.auths === 'object' ? root.auths : root
  ) as Record<string, unknown>;
  const aliases = options.dockerHubAliases ?? true;
  const entries = new Map<string, KeyringEntry>();
  for (const [rawKey, value] of Object.entries(auths)) {
    if (!value || typeof value !== 'object') {
      continue;
    }
    const key = normaliseKey(rawKey, aliases);
    // Several raw keys can normalise to one; the keyring keeps the first of them.
    if (key && !entries.has(key)) {
      entries.set(key, {
        key,
        auth: decodeEntry(value as Record<string, unknown>),
      });
    }
  }
  const index = [...entries.keys()].sort().reverse();
  const target = `${image.registry}/${image.repository}`;
  for (const key of index) {
    if (keyMatches(key, target)) {
      return entries.get(key)!.auth;
    }
  }
  return undefined;
}
