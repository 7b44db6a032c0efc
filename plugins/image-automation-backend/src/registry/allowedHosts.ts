/**
 * Whether `host` (`name` or `name:port`) is allowed by `patterns`: `registry.example.com` allows
 * that name on any port, `registry.example.com:5000` that port only, `*.example.com` any
 * subdomain, `*` every host. `docker.io` also allows `index.docker.io`, the name Flux canonicalises
 * Docker Hub to. No patterns (absent or empty) allows no host: an allow-list fails closed.
 * @internal
 */
export function isHostAllowed(
  host: string,
  patterns: string[] | undefined,
): boolean {
  if (!patterns) {
    return false;
  }
  const [name, port] = splitPort(host.toLowerCase());
  return patterns.some(raw => {
    if (raw.trim() === '*') {
      return true;
    }
    const [patternName, patternPort] = splitPort(raw.trim().toLowerCase());
    if (patternPort !== undefined && patternPort !== port) {
      return false;
    }
    if (patternName.startsWith('*.')) {
      return matchWildcard(patternName, name);
    }
    return (
      patternName === name ||
      (patternName === 'docker.io' && name === 'index.docker.io')
    );
  });
}

function matchWildcard(pattern: string, name: string): boolean {
  return name.endsWith(pattern.slice(1)) && name.length > pattern.length - 1;
}

function splitPort(host: string): [string, string | undefined] {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    const port = host.slice(end + 1).replace(/^:/, '');
    return [host.slice(0, end + 1), port || undefined];
  }
  const match = /^(.*?)(?::(\d+))?$/.exec(host)!;
  return [match[1], match[2]];
}
