import { findDockerConfigAuth } from './dockerConfig';

const auth = (user: string, password: string) => ({
  auth: Buffer.from(`${user}:${password}`).toString('base64'),
});
const image = (canonical: string) => {
  const slash = canonical.indexOf('/');
  return {
    registry: canonical.slice(0, slash),
    repository: canonical.slice(slash + 1),
  };
};

describe('findDockerConfigAuth', () => {
  it('matches normalised keys, most specific first, with per-label globs', () => {
    const config = JSON.stringify({
      auths: {
        'https://ghcr.io/v2/': auth('host', 'p1'),
        'ghcr.io/team': auth('team', 'p2'),
        'ghcr.io/team/app': { username: 'app', password: 'p3' },
        '*.example.com': auth('glob', 'p4'),
        'registry.example.com:5000': auth('port', 'p5'),
      },
    });
    expect(
      findDockerConfigAuth(config, image('ghcr.io/team/app'))?.username,
    ).toBe('app');
    expect(
      findDockerConfigAuth(config, image('ghcr.io/team/other'))?.username,
    ).toBe('team');
    expect(
      findDockerConfigAuth(config, image('ghcr.io/someone/else'))?.username,
    ).toBe('host');
    expect(findDockerConfigAuth(config, image('r.example.com/x'))).toEqual({
      username: 'glob',
      password: 'p4',
    });
    // Label counts must match: one glob label does not span two.
    expect(
      findDockerConfigAuth(config, image('a.b.example.com/x')),
    ).toBeUndefined();
    expect(
      findDockerConfigAuth(config, image('registry.example.com:5000/x'))
        ?.username,
    ).toBe('port');
    expect(findDockerConfigAuth(config, image('quay.io/x'))).toBeUndefined();
  });

  it('serves Docker Hub from index.docker.io keys, and from docker.io keys unless strict', () => {
    const legacy = JSON.stringify({
      auths: { 'https://index.docker.io/v1/': auth('hub', 'p') },
    });
    expect(
      findDockerConfigAuth(legacy, image('index.docker.io/library/alpine'))
        ?.username,
    ).toBe('hub');
    const short = JSON.stringify({ auths: { 'docker.io': auth('hub', 'p') } });
    expect(
      findDockerConfigAuth(short, image('index.docker.io/library/alpine'))
        ?.username,
    ).toBe('hub');
    expect(
      findDockerConfigAuth(short, image('index.docker.io/library/alpine'), {
        dockerHubAliases: false,
      }),
    ).toBeUndefined();
  });

  it('reads the legacy .dockercfg map and token fields', () => {
    const config = JSON.stringify({
      'ghcr.io': { identitytoken: 'refresh' },
      'quay.io': { registrytoken: 'bearer' },
    });
    expect(findDockerConfigAuth(config, image('ghcr.io/a/b'))).toMatchObject({
      identityToken: 'refresh',
    });
    expect(findDockerConfigAuth(config, image('quay.io/a/b'))).toMatchObject({
      registryToken: 'bearer',
    });
  });

  it('reports malformed documents without quoting them', () => {
    expect(() =>
      findDockerConfigAuth('{"auths": secret', image('ghcr.io/a/b')),
    ).toThrow('docker config: not valid JSON');
    expect(() =>
      findDockerConfigAuth(
        JSON.stringify({ auths: { 'ghcr.io': { auth: 'bm9jb2xvbg' } } }),
        image('ghcr.io/a/b'),
      ),
    ).toThrow('not base64 of "username:password"');
  });
});
