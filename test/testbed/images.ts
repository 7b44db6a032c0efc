import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { request, TestbedRequestOptions, TestbedResponse } from './httpRequest';
import { TestRegistry } from './registry';

/** OCI and Docker media types the test bed writes. @public */
export const MediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifestList:
    'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  helmConfig: 'application/vnd.cncf.helm.config.v1+json',
} as const;

/** Without this Accept list distribution 2.8 answers 404/400 to manifest requests. @public */
export const MANIFEST_ACCEPT = [
  MediaTypes.ociIndex,
  MediaTypes.ociManifest,
  MediaTypes.dockerManifestList,
  MediaTypes.dockerManifest,
].join(', ');

/** A platform of a multi-arch image. @public */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Options of {@link pushImage}. @public */
export interface PushImageOptions {
  /** Content seed: the same seed gives the same digests; a new seed gives new ones. Default: the repository name. */
  seed?: string;
  /** Push a multi-arch OCI index of one image per platform instead of a single image. */
  platforms?: Platform[];
  /** Config media type, e.g. {@link MediaTypes.helmConfig} for a Helm-chart artifact. */
  configMediaType?: string;
  /** Parallel tag PUTs. Default 8. */
  concurrency?: number;
  /** Credentials to push with; default the registry's own htpasswd user. */
  credentials?: { username: string; password: string };
}

/** What {@link pushImage} pushed. @public */
export interface PushedImage {
  /** Digest of what the tags point at (the index for multi-arch). */
  digest: string;
  mediaType: string;
  /** Digests of the per-platform manifests (multi-arch only). */
  platformDigests: string[];
}

function sha256(data: Buffer | string): string {
  return `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
}

/** A one-file tar with fixed owner and mtime, so equal seeds give equal bytes. */
function tarOfOneFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) =>
    header.write(value, offset, length, 'ascii');
  const octal = (value: number, length: number) =>
    `${value.toString(8).padStart(length - 1, '0')}\0`;
  field(0, 100, name);
  field(100, 8, octal(0o644, 8));
  field(108, 8, octal(0, 8));
  field(116, 8, octal(0, 8));
  field(124, 12, octal(content.length, 12));
  field(136, 12, octal(0, 12));
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let sum = 0;
  for (const byte of header) {
    sum += byte;
  }
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

/** Authenticated requests to one registry: Basic, or Bearer tokens fetched from the challenge's realm. */
class Session {
  private readonly tokens = new Map<string, string>();
  constructor(
    private readonly registry: TestRegistry,
    private readonly credentials?: { username: string; password: string },
  ) {}

  private tls(): TestbedRequestOptions {
    const c = this.registry.certificates;
    return c ? { ca: c.ca, cert: c.clientCert, key: c.clientKey } : {};
  }

  async send(
    pathAndQuery: string,
    options: TestbedRequestOptions & { scope: string },
  ): Promise<TestbedResponse> {
    const url = /^https?:/.test(pathAndQuery)
      ? pathAndQuery
      : `${this.registry.url}${pathAndQuery}`;
    const headers = { ...options.headers };
    const token = this.tokens.get(options.scope);
    if (token) {
      headers.authorization = `Bearer ${token}`;
    } else if (this.credentials) {
      headers.authorization = `Basic ${Buffer.from(
        `${this.credentials.username}:${this.credentials.password}`,
      ).toString('base64')}`;
    }
    const response = await request(url, { ...options, ...this.tls(), headers });
    const challenge = String(response.headers['www-authenticate'] ?? '');
    if (response.status === 401 && /^Bearer /i.test(challenge) && !token) {
      await this.fetchToken(challenge, options.scope);
      return this.send(pathAndQuery, options);
    }
    return response;
  }

  private async fetchToken(challenge: string, scope: string) {
    const params = Object.fromEntries(
      [...challenge.matchAll(/(\w+)="([^"]*)"/g)].map(m => [m[1], m[2]]),
    );
    const url = new URL(params.realm);
    url.searchParams.set('service', params.service ?? '');
    url.searchParams.set('scope', scope);
    const headers: Record<string, string> = {};
    if (this.credentials) {
      headers.authorization = `Basic ${Buffer.from(
        `${this.credentials.username}:${this.credentials.password}`,
      ).toString('base64')}`;
    }
    const response = await request(url.toString(), { headers, ...this.tls() });
    if (response.status !== 200) {
      throw new Error(
        `token request failed: ${response.status} ${response.body.toString()}`,
      );
    }
    const body = JSON.parse(response.body.toString());
    this.tokens.set(scope, body.token ?? body.access_token);
  }
}

function expectStatus(
  response: TestbedResponse,
  expected: number[],
  what: string,
) {
  if (!expected.includes(response.status)) {
    throw new Error(
      `${what}: HTTP ${response.status} ${response.body
        .toString('utf8')
        .slice(0, 500)}`,
    );
  }
}

async function uploadBlob(
  session: Session,
  repository: string,
  data: Buffer,
): Promise<string> {
  const digest = sha256(data);
  const scope = `repository:${repository}:pull,push`;
  const head = await session.send(`/v2/${repository}/blobs/${digest}`, {
    method: 'HEAD',
    scope,
  });
  if (head.status === 200) {
    return digest;
  }
  const start = await session.send(`/v2/${repository}/blobs/uploads/`, {
    method: 'POST',
    scope,
  });
  expectStatus(start, [202], `start upload to ${repository}`);
  const location = new URL(
    String(start.headers.location),
    `${session['registry'].url}/`,
  );
  location.searchParams.set('digest', digest);
  const put = await session.send(location.toString(), {
    method: 'PUT',
    scope,
    body: data,
    headers: {
      'content-type': 'application/octet-stream',
      'content-length': String(data.length),
    },
  });
  expectStatus(put, [201], `upload ${digest} to ${repository}`);
  return digest;
}

async function putManifest(
  session: Session,
  repository: string,
  reference: string,
  mediaType: string,
  body: Buffer,
) {
  const response = await session.send(
    `/v2/${repository}/manifests/${reference}`,
    {
      method: 'PUT',
      scope: `repository:${repository}:pull,push`,
      body,
      headers: { 'content-type': mediaType },
    },
  );
  expectStatus(response, [201], `put manifest ${repository}:${reference}`);
}

async function pushSingle(
  session: Session,
  repository: string,
  seed: string,
  platform: Platform,
  configMediaType: string,
): Promise<{ digest: string; size: number; body: Buffer }> {
  const tar = tarOfOneFile(
    'seed.txt',
    Buffer.from(`${seed}\n${platform.os}/${platform.architecture}\n`),
  );
  const layer = zlib.gzipSync(tar, { level: 9 });
  const config = Buffer.from(
    JSON.stringify({
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: { Labels: { 'org.opencontainers.image.revision': seed } },
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
    }),
  );
  const [layerDigest, configDigest] = await Promise.all([
    uploadBlob(session, repository, layer),
    uploadBlob(session, repository, config),
  ]);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: {
        mediaType: configMediaType,
        digest: configDigest,
        size: config.length,
      },
      layers: [
        {
          mediaType: MediaTypes.ociLayer,
          digest: layerDigest,
          size: layer.length,
        },
      ],
    }),
  );
  return { digest: sha256(manifest), size: manifest.length, body: manifest };
}

async function mapBounded<T>(
  items: T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        await fn(items[next++]);
      }
    }),
  );
}

/**
 * Pushes a small deterministic OCI image (or a multi-arch index) to `repository` under each of
 * `tags`, over HTTP(S) as a client would: HEAD blob, POST upload, PUT with digest, PUT manifest.
 * Tags after the first re-PUT the same manifest, `concurrency` at a time.
 * @public
 */
export async function pushImage(
  registry: TestRegistry,
  repository: string,
  tags: string[],
  options: PushImageOptions = {},
): Promise<PushedImage> {
  const session = new Session(
    registry,
    options.credentials ?? registry.credentials,
  );
  const seed = options.seed ?? repository;
  const configMediaType = options.configMediaType ?? MediaTypes.ociConfig;
  let body: Buffer;
  let mediaType: string;
  const platformDigests: string[] = [];
  if (options.platforms) {
    const manifests = [];
    for (const platform of options.platforms) {
      const single = await pushSingle(
        session,
        repository,
        seed,
        platform,
        configMediaType,
      );
      await putManifest(
        session,
        repository,
        single.digest,
        MediaTypes.ociManifest,
        single.body,
      );
      platformDigests.push(single.digest);
      manifests.push({
        mediaType: MediaTypes.ociManifest,
        digest: single.digest,
        size: single.size,
        platform,
      });
    }
    mediaType = MediaTypes.ociIndex;
    body = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType, manifests }),
    );
  } else {
    const single = await pushSingle(
      session,
      repository,
      seed,
      { os: 'linux', architecture: 'amd64' },
      configMediaType,
    );
    mediaType = MediaTypes.ociManifest;
    body = single.body;
  }
  const digest = sha256(body);
  if (tags.length === 0) {
    await putManifest(session, repository, digest, mediaType, body);
  }
  await mapBounded(tags, options.concurrency ?? 8, tag =>
    putManifest(session, repository, tag, mediaType, body),
  );
  return { digest, mediaType, platformDigests };
}

function repositoryStorage(registry: TestRegistry, repository: string): string {
  return path.join(
    registry.storageDir,
    'docker',
    'registry',
    'v2',
    'repositories',
    repository,
    '_manifests',
  );
}

/**
 * Adds `tags` pointing at the manifest `digest` (already in `repository`).
 * `via: 'http'` re-PUTs the manifest per tag like a client (≈500 tags/s); `via: 'storage'` writes the
 * registry's tag links on disk directly (thousands per second), which the registry serves as it
 * would its own — the fast way to seed repositories with 10,000 tags.
 * @public
 */
export async function addTags(
  registry: TestRegistry,
  repository: string,
  digest: string,
  tags: string[],
  options: {
    via?: 'http' | 'storage';
    concurrency?: number;
    credentials?: { username: string; password: string };
  } = {},
): Promise<void> {
  if ((options.via ?? 'storage') === 'storage') {
    const root = repositoryStorage(registry, repository);
    const [algorithm, hex] = digest.split(':');
    if (!fs.existsSync(path.join(root, 'revisions', algorithm, hex, 'link'))) {
      throw new Error(
        `${repository}@${digest} is not in the registry's storage; push it first`,
      );
    }
    await mapBounded(tags, options.concurrency ?? 32, async tag => {
      const tagDir = path.join(root, 'tags', tag);
      await fs.promises.mkdir(path.join(tagDir, 'current'), {
        recursive: true,
      });
      await fs.promises.mkdir(path.join(tagDir, 'index', algorithm, hex), {
        recursive: true,
      });
      await fs.promises.writeFile(path.join(tagDir, 'current', 'link'), digest);
      await fs.promises.writeFile(
        path.join(tagDir, 'index', algorithm, hex, 'link'),
        digest,
      );
    });
    return;
  }
  const session = new Session(
    registry,
    options.credentials ?? registry.credentials,
  );
  const manifest = await session.send(`/v2/${repository}/manifests/${digest}`, {
    scope: `repository:${repository}:pull`,
    headers: { accept: MANIFEST_ACCEPT },
  });
  expectStatus(manifest, [200], `get ${repository}@${digest}`);
  const mediaType = String(manifest.headers['content-type']);
  await mapBounded(tags, options.concurrency ?? 8, tag =>
    putManifest(session, repository, tag, mediaType, manifest.body),
  );
}

/**
 * Removes one tag (the manifest and other tags stay), through the registry's storage: distribution
 * 2.8 can only delete manifests, which would take every tag of the digest with it.
 * @public
 */
export async function deleteTag(
  registry: TestRegistry,
  repository: string,
  tag: string,
): Promise<void> {
  const tagDir = path.join(
    repositoryStorage(registry, repository),
    'tags',
    tag,
  );
  if (!fs.existsSync(tagDir)) {
    throw new Error(`${repository}:${tag} does not exist`);
  }
  await fs.promises.rm(tagDir, { recursive: true, force: true });
}
