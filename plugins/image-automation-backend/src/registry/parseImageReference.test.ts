import { loadVectors } from '../golib/__testUtils__/vectors';
import { parseImageReference } from './parseImageReference';

describe('parseImageReference', () => {
  const vectors = loadVectors().canonicalImageName as Array<{
    input: string;
    canonical?: string;
    registry?: string;
    repository?: string;
    scheme?: string;
    error?: string;
  }>;

  // A vector expects Flux's error, or the parsed reference.
  const refused = vectors.filter(v => v.error !== undefined);
  const accepted = vectors.filter(v => v.error === undefined);

  it.each(refused.map(v => [v.input, v]))(
    'matches Flux for %j',
    (_, vector) => {
      expect(() => parseImageReference(vector.input)).toThrow(vector.error);
      expect(() => parseImageReference(vector.input)).toThrow(
        expect.objectContaining({ message: vector.error }),
      );
    },
  );

  it.each(accepted.map(v => [v.input, v]))(
    'matches Flux for %j',
    (_, vector) => {
      expect(parseImageReference(vector.input)).toEqual({
        canonical: vector.canonical,
        registry: vector.registry,
        repository: vector.repository,
        scheme: vector.scheme,
      });
    },
  );

  it('uses plain HTTP when insecure, for loopback, *.localhost and RFC 1918 hosts', () => {
    expect(parseImageReference('ghcr.io/ab', { insecure: true }).scheme).toBe(
      'http',
    );
    expect(parseImageReference('127.0.0.1:5000/ab').scheme).toBe('http');
    expect(parseImageReference('registry.localhost:5000/ab').scheme).toBe(
      'http',
    );
    expect(parseImageReference('printer.local/ab').scheme).toBe('http');
    expect(parseImageReference('172.16.0.1:5000/ab').scheme).toBe('http');
    expect(parseImageReference('172.32.0.1:5000/ab').scheme).toBe('https');
    expect(parseImageReference('192.168.1.1/ab').scheme).toBe('http');
  });

  it('treats a bare first component without dot or port as a Docker Hub namespace', () => {
    expect(parseImageReference('localhost/foo').canonical).toBe(
      'index.docker.io/localhost/foo',
    );
    expect(parseImageReference('team/sub/app').canonical).toBe(
      'index.docker.io/team/sub/app',
    );
  });

  it('refuses tags after a registry port and digests', () => {
    expect(() => parseImageReference('localhost:5000/foo:1.0')).toThrow(
      "image 'localhost:5000/foo:1.0' should not include a tag; remove ':1.0'",
    );
    // A tag and a digest: Flux names the text up to the digest's own colon.
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(() => parseImageReference(`ghcr.io/org/app:1.0@${digest}`)).toThrow(
      `image 'ghcr.io/org/app:1.0@${digest}' should not include a tag; remove ':1.0@sha256'`,
    );
    expect(() => parseImageReference(`ghcr.io/org/app@${digest}`)).toThrow(
      `image 'ghcr.io/org/app@${digest}' should not include a tag; remove ':${'a'.repeat(
        64,
      )}'`,
    );
    expect(() => parseImageReference('a')).toThrow(
      'could not parse reference: a',
    );
  });
});
