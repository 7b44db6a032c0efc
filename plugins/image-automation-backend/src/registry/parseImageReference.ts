/**
 * A container image repository as Flux's ImageRepository reads `spec.image`: registry and
 * repository, no tag or digest. @internal
 */
export interface ImageReference {
  /** `<registry>/<repository>`, e.g. `index.docker.io/library/alpine` (Flux's `canonicalImageName`). */
  canonical: string;
  /** Host and optional port, e.g. `index.docker.io`, `localhost:5000`. */
  registry: string;
  /** Path inside the registry, e.g. `library/alpine`. */
  repository: string;
  /** `http` for insecure, loopback and RFC 1918 registries, `https` otherwise. */
  scheme: 'http' | 'https';
}

const DOCKER_HUB = 'index.docker.io';
const DOCKER_HUB_ALIAS = 'docker.io';
const REPOSITORY_CHARS = /^[a-z0-9_./-]*$/;
const TAG_CHARS = /^[\w.-]*$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

class BadName extends Error {}

/** go-containerregistry accepts a registry when `url.Parse("//" + name).Host == name`. */
function checkRegistry(registry: string) {
  const ipv6 = /^\[[0-9a-fA-F:.%]+\](:\d*)?$/;
  const hostPort = /^[A-Za-z0-9\-._~!$&'()*+,;=%]*(:\d*)?$/;
  if (registry !== '' && !ipv6.test(registry) && !hostPort.test(registry)) {
    throw new BadName(
      `registries must be valid RFC 3986 URI authorities: ${registry}`,
    );
  }
}

function checkRepository(repository: string) {
  const length = [...repository].length;
  if (length < 2 || length > 255 || !REPOSITORY_CHARS.test(repository)) {
    throw new BadName(`repository: ${repository}`);
  }
}

function newRepository(name: string): { registry: string; repository: string } {
  if (name.length === 0) {
    throw new BadName('a repository name must be specified');
  }
  let registry = '';
  let repository = name;
  const slash = name.indexOf('/');
  // The first component is a registry only when it looks like a host: it has a dot or a port.
  if (slash >= 0) {
    const first = name.slice(0, slash);
    if (first.includes('.') || first.includes(':')) {
      registry = first;
      repository = name.slice(slash + 1);
    }
  }
  checkRepository(repository);
  checkRegistry(registry);
  if (registry === '' || registry === DOCKER_HUB_ALIAS) {
    registry = DOCKER_HUB;
  }
  return { registry, repository };
}

function newTag(name: string) {
  const parts = name.split(':');
  let base = name;
  // A last part containing '/' is a port followed by a path, not a tag.
  if (parts.length > 1 && !parts[parts.length - 1].includes('/')) {
    const tag = parts[parts.length - 1];
    if (tag === '' || tag.length > 128 || !TAG_CHARS.test(tag)) {
      throw new BadName(`tag: ${tag}`);
    }
    base = parts.slice(0, -1).join(':');
  }
  return newRepository(base);
}

function newDigest(name: string) {
  const parts = name.split('@');
  if (parts.length !== 2 || !DIGEST.test(parts[1])) {
    throw new BadName(`digest: ${name}`);
  }
  return newTag(parts[0]);
}

function isRfc1918(registry: string): boolean {
  const octets = registry.split(':')[0].split('.');
  if (
    octets.length !== 4 ||
    !octets.every(o => /^\d{1,3}$/.test(o) && Number(o) <= 255)
  ) {
    return false;
  }
  const [a, b] = octets.map(Number);
  return (
    a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)
  );
}

function schemeOf(registry: string, insecure: boolean): 'http' | 'https' {
  if (
    insecure ||
    isRfc1918(registry) ||
    registry.startsWith('localhost:') ||
    /\.local(?:host)?(?::\d{1,5})?$/.test(registry) ||
    // go-containerregistry matches these unanchored.
    registry.includes('127.0.0.1') ||
    registry.includes('::1')
  ) {
    return 'http';
  }
  return 'https';
}

/**
 * Parses and canonicalises an ImageRepository's `spec.image` exactly as Flux's
 * `registry.ParseImageReference` (go-containerregistry `name.ParseReference`, weak validation):
 * Docker Hub names become `index.docker.io/…` (with `library/` for single names); a scheme, a
 * tag or a digest is refused with Flux's message.
 * @internal
 */
export function parseImageReference(
  image: string,
  options: { insecure?: boolean } = {},
): ImageReference {
  if (image.includes('://')) {
    const scheme = image.split('://')[0];
    throw new Error(
      `image '${image}' should not include URL scheme; remove '${scheme}://'`,
    );
  }
  let parsed: { registry: string; repository: string };
  try {
    parsed = newTag(image);
  } catch {
    try {
      parsed = newDigest(image);
    } catch {
      throw new Error(`could not parse reference: ${image}`);
    }
  }
  // Flux strips the resolved registry from the input: a colon that remains starts a tag or a
  // digest, and the message names what lies between it and the next colon (`strings.Split`), so
  // `app:1.0@sha256:…` is told to remove ':1.0@sha256'.
  const rest = image.startsWith(parsed.registry)
    ? image.slice(parsed.registry.length)
    : image;
  const parts = rest.split(':');
  if (parts.length > 1) {
    throw new Error(
      `image '${image}' should not include a tag; remove ':${parts[1]}'`,
    );
  }
  const repository =
    parsed.registry === DOCKER_HUB && !parsed.repository.includes('/')
      ? `library/${parsed.repository}`
      : parsed.repository;
  return {
    canonical: `${parsed.registry}/${repository}`,
    registry: parsed.registry,
    repository,
    scheme: schemeOf(parsed.registry, options.insecure === true),
  };
}
