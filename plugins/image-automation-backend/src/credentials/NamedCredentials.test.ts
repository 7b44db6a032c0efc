import { ConfigReader } from '@backstage/config';
import { CredentialTarget, NamedCredentials } from './NamedCredentials';

const SHOP = 'component:default/shop';
const registry = (host: string, repository = 'acme/web'): CredentialTarget => ({
  kind: 'registry',
  host,
  repository,
});

function credentials(
  entries: Record<string, any>,
  extra: Record<string, any> = {},
) {
  return NamedCredentials.fromConfig(
    new ConfigReader({ imageAutomation: { credentials: entries, ...extra } }),
  );
}

describe('NamedCredentials (#13: credentials bound to entities and hosts)', () => {
  const basic = { type: 'basic', username: 'u', password: 'registry-secret' };

  it('binds a credential to hosts and path prefixes, segment by segment', () => {
    const c = credentials({
      acme: {
        ...basic,
        allowedEntities: [SHOP],
        hosts: ['ghcr.io/acme', '*.example.com:5000', 'git.example.com/team/'],
      },
    });
    expect(c.resolve('acme', SHOP, registry('ghcr.io', 'acme/web'))).toEqual({
      type: 'basic',
      username: 'u',
      password: 'registry-secret',
    });
    expect(
      c.resolve('acme', 'Component:default/SHOP', registry('ghcr.io', 'acme')),
    ).toBeDefined();
    expect(() =>
      c.resolve('acme', SHOP, registry('ghcr.io', 'acme-evil/web')),
    ).toThrow(
      "credential 'acme' may not be sent to ghcr.io/acme-evil/web: it is bound to ghcr.io/acme, *.example.com:5000, git.example.com/team (imageAutomation.credentials.acme.hosts)",
    );
    expect(() =>
      c.resolve('acme', SHOP, registry('attacker.io', 'acme/web')),
    ).toThrow('may not be sent to attacker.io/acme/web');
    expect(
      c.resolve('acme', SHOP, registry('r.example.com:5000', 'any/thing')),
    ).toBeDefined();
    expect(() =>
      c.resolve('acme', SHOP, registry('r.example.com:5001')),
    ).toThrow('may not be sent');
    expect(() =>
      c.resolve('acme', SHOP, registry('example.com.attacker.io:5000')),
    ).toThrow('may not be sent');
    expect(
      c.resolve('acme', SHOP, {
        kind: 'git',
        url: 'https://git.example.com/team/app.git',
      }),
    ).toBeDefined();
    expect(
      c.resolve('acme', SHOP, {
        kind: 'git',
        url: 'https://u:p@git.example.com/team/sub/app',
      }),
    ).toBeDefined();
    expect(() =>
      c.resolve('acme', SHOP, {
        kind: 'git',
        url: 'https://git.example.com/teams/app.git',
      }),
    ).toThrow('may not be sent');
    expect(() =>
      c.resolve('acme', SHOP, {
        kind: 'git',
        url: 'https://git.example.com/team/../other/app.git',
      }),
    ).toThrow('may not be sent to git.example.com/other/app');
    expect(() =>
      c.resolve('acme', SHOP, {
        kind: 'git',
        url: 'https://git.example.com/team/x%2F..%2F..%2Fother/app.git',
      }),
    ).toThrow("the path has encoded '.', '/' or '\\'");
    expect(() =>
      c.resolve('acme', SHOP, {
        kind: 'git',
        url: 'https://git.example.com.attacker.io/team/app.git',
      }),
    ).toThrow('may not be sent');
    expect(c.boundHosts('acme')).toEqual([
      'ghcr.io',
      '*.example.com:5000',
      'git.example.com',
    ]);
  });

  it('fails closed: no allowedEntities means nobody, no hosts means nowhere, entity-less objects get nothing', () => {
    const c = credentials({
      open: { ...basic, hosts: ['ghcr.io'] },
      unbound: { ...basic, allowedEntities: [SHOP] },
      tls: { type: 'tls', ca: 'PEM', allowedEntities: [SHOP] },
    });
    expect(() => c.resolve('open', SHOP, registry('ghcr.io'))).toThrow(
      `credential 'open' is not granted to ${SHOP}: imageAutomation.credentials.open.allowedEntities is not set, so no entity may use it`,
    );
    expect(() => c.resolve('unbound', SHOP, registry('ghcr.io'))).toThrow(
      "credential 'unbound' may not be sent to ghcr.io/acme/web: imageAutomation.credentials.unbound.hosts is not set, so it may be sent nowhere",
    );
    expect(() => c.resolve('unbound', undefined, registry('ghcr.io'))).toThrow(
      "credential 'unbound' is not granted to objects without an entity (imageAutomation.credentials.unbound.allowedEntities)",
    );
    expect(() => c.resolveTls('tls', SHOP, registry('ghcr.io'))).toThrow(
      'hosts is not set',
    );
  });

  it('allows plain HTTP for credentials only to registry.insecureHosts', () => {
    const c = credentials({}, { registry: { insecureHosts: ['127.0.0.1'] } });
    expect(c.plainHttpAllowed('127.0.0.1:5000')).toBe(true);
    expect(c.plainHttpAllowed('10.0.0.5:5000')).toBe(false);
    expect(credentials({}).plainHttpAllowed('127.0.0.1:5000')).toBe(false);
  });

  it('keeps Kubernetes cluster credentials apart from manifests', () => {
    const c = credentials(
      {
        kube: {
          type: 'token',
          token: 'kube-secret',
          allowedEntities: [SHOP],
          hosts: ['ghcr.io'],
        },
      },
      { kubernetes: { clusters: [{ name: 'prod', credential: 'kube' }] } },
    );
    expect(() => c.resolve('kube', SHOP, registry('ghcr.io'))).toThrow(
      "credential 'kube' is reserved for Kubernetes cluster 'prod' (imageAutomation.kubernetes.clusters) and cannot be named by a manifest",
    );
  });

  it('refuses malformed host entries at startup', () => {
    expect(() =>
      credentials({
        x: { ...basic, allowedEntities: [SHOP], hosts: ['https://ghcr.io'] },
      }),
    ).toThrow(
      "imageAutomation.credentials.x.hosts: 'https://ghcr.io' is not a host entry",
    );
    expect(() =>
      credentials({
        x: { ...basic, allowedEntities: [SHOP], hosts: ['ghcr.io/a/../b'] },
      }),
    ).toThrow("'..' path segment");
  });
});
