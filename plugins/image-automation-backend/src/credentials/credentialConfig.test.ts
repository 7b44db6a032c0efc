import { ConfigReader } from '@backstage/config';
import {
  CredentialRefusedError,
  CredentialTarget,
  NamedCredentials,
} from './NamedCredentials';

// How imageAutomation.credentials is read and checked: each credential type, malformed entries
// (refused at startup), and the exact target a credential is matched against.
const SHOP = 'component:default/shop';
const registry = (host: string, repository = 'acme/web'): CredentialTarget => ({
  kind: 'registry',
  host,
  repository,
});
const git = (url: string): CredentialTarget => ({ kind: 'git', url });

function credentials(entries: Record<string, any>) {
  return NamedCredentials.fromConfig(
    new ConfigReader({ imageAutomation: { credentials: entries } }),
  );
}
const bound = { allowedEntities: [SHOP], hosts: ['ghcr.io'] };

describe('credential types', () => {
  it('reads token and dockerConfigJson credentials for secretRef', () => {
    const c = credentials({
      token: { type: 'token', token: 't0ken', ...bound },
      docker: {
        type: 'dockerConfigJson',
        dockerConfigJson: '{"auths":{}}',
        ...bound,
      },
    });
    expect(c.resolve('token', SHOP, registry('ghcr.io'))).toEqual({
      type: 'token',
      token: 't0ken',
    });
    expect(c.resolve('docker', SHOP, registry('ghcr.io'))).toEqual({
      type: 'dockerConfigJson',
      dockerConfigJson: '{"auths":{}}',
    });
  });

  it('reads tls material for certSecretRef only, and refuses the other way round', () => {
    const c = credentials({
      tls: { type: 'tls', ca: 'CA', cert: 'CERT', key: 'KEY', ...bound },
      caOnly: { type: 'tls', ca: 'CA', ...bound },
      basic: { type: 'basic', username: 'u', password: 'p', ...bound },
    });
    expect(c.resolveTls('tls', SHOP, registry('ghcr.io'))).toEqual({
      ca: 'CA',
      cert: 'CERT',
      key: 'KEY',
    });
    expect(c.resolveTls('caOnly', SHOP, registry('ghcr.io'))).toEqual({
      ca: 'CA',
      cert: undefined,
      key: undefined,
    });
    expect(() => c.resolve('tls', SHOP, registry('ghcr.io'))).toThrow(
      "credential 'tls' is of another type; secretRef needs basic, token or dockerConfigJson",
    );
    expect(() => c.resolveTls('basic', SHOP, registry('ghcr.io'))).toThrow(
      "credential 'basic' is not of type tls, as certSecretRef needs",
    );
  });

  it('keeps a Kubernetes client certificate out of registry use', () => {
    const c = credentials({ kube: { type: 'clientCertificate', ...bound } });
    expect(() => c.resolve('kube', SHOP, registry('ghcr.io'))).toThrow(
      CredentialRefusedError,
    );
    expect(() => c.resolveTls('kube', SHOP, registry('ghcr.io'))).toThrow(
      'is not of type tls',
    );
  });

  it('refuses a tls certificate without its key and the reverse, and unknown types, at startup', () => {
    expect(() => credentials({ t: { type: 'tls', cert: 'CERT' } })).toThrow(
      'imageAutomation.credentials.t: cert and key go together',
    );
    expect(() => credentials({ t: { type: 'tls', key: 'KEY' } })).toThrow(
      'cert and key go together',
    );
    expect(() => credentials({ t: { type: 'password' } })).toThrow(
      "imageAutomation.credentials.t.type must be one of basic, token, dockerConfigJson, tls, clientCertificate, githubApp, sshKey; got 'password'",
    );
  });

  it('names an undefined credential, with a CredentialRefusedError', () => {
    let error: unknown;
    try {
      credentials({}).resolve('missing', SHOP, registry('ghcr.io'));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CredentialRefusedError);
    expect(error).toMatchObject({
      name: 'CredentialRefusedError',
      message:
        "credential 'missing' is not defined in imageAutomation.credentials",
    });
  });

  it('has no credentials without an imageAutomation.credentials section', () => {
    const c = NamedCredentials.fromConfig(new ConfigReader({}));
    expect(() => c.resolve('any', SHOP, registry('ghcr.io'))).toThrow(
      "credential 'any' is not defined",
    );
    expect(c.plainHttpAllowed('ghcr.io')).toBe(false);
  });
});

describe('credential host entries', () => {
  const withHosts = (...hosts: string[]) =>
    credentials({
      c: { type: 'token', token: 't', allowedEntities: [SHOP], hosts },
    });

  it.each([
    '   ',
    'user@ghcr.io',
    'ghcr.io?x',
    'ghcr.io#x',
    'ghcr .io',
    'oci://ghcr.io',
  ])('refuses %p as not a host entry', raw => {
    expect(() => withHosts(raw)).toThrow(
      `imageAutomation.credentials.c.hosts: '${raw}' is not a host entry; write host[:port] optionally followed by /path/prefix, without a scheme`,
    );
  });

  it.each([
    'ghcr_io',
    'ghcr.io:port',
    ':5000',
    'ghcr.io:123456',
    'a.*.io',
    '[zz]',
    'evil[::1]',
    '[::1]x',
    '[::1]:5000x',
  ])('refuses %p as an invalid host', raw => {
    expect(() => withHosts(raw)).toThrow(
      `imageAutomation.credentials.c.hosts: '${raw}' does not start with a valid host[:port]`,
    );
  });

  it("refuses '.' segments as well as '..'", () => {
    expect(() => withHosts('ghcr.io/acme/./web')).toThrow(
      "imageAutomation.credentials.c.hosts: 'ghcr.io/acme/./web' has a '.' or '..' path segment",
    );
  });

  it('normalises case, slashes and a .git suffix of entries', () => {
    const c = withHosts(
      'GHCR.io//acme//',
      'git.example.com/team/app.git',
      '[::1]:5000',
      'ghcr.io/other',
    );
    expect(c.boundHosts('c')).toEqual([
      'ghcr.io',
      'git.example.com',
      '[::1]:5000',
    ]);
    expect(c.resolve('c', SHOP, registry('ghcr.io', 'acme/web'))).toBeDefined();
    expect(c.resolve('c', SHOP, registry('GHCR.IO', 'acme'))).toBeDefined();
    expect(
      c.resolve('c', SHOP, git('https://git.example.com/team/app')),
    ).toBeDefined();
    expect(
      c.resolve('c', SHOP, git('https://git.example.com/team/app.git/')),
    ).toBeDefined();
    expect(c.resolve('c', SHOP, registry('[::1]:5000', 'x'))).toBeDefined();
    expect(() =>
      c.resolve('c', SHOP, git('https://git.example.com/team/application')),
    ).toThrow(
      "credential 'c' may not be sent to git.example.com/team/application: it is bound to ghcr.io/acme, git.example.com/team/app, [::1]:5000, ghcr.io/other (imageAutomation.credentials.c.hosts)",
    );
    expect(credentials({}).boundHosts('c')).toEqual([]);
  });

  it('trims blanks around an entry, and keeps dots inside path segments', () => {
    const c = withHosts(' ghcr.io/acme/web.app ');
    expect(c.boundHosts('c')).toEqual(['ghcr.io']);
    expect(
      c.resolve('c', SHOP, registry('ghcr.io', 'acme/web.app/x')),
    ).toBeDefined();
    expect(() => c.resolve('c', SHOP, registry('ghcr.io', 'acme/web'))).toThrow(
      'may not be sent',
    );
  });

  it('accepts a bracketed IPv6 literal without a port', () => {
    expect(
      withHosts('[::1]').resolve('c', SHOP, registry('[::1]:5000', 'x')),
    ).toBeDefined();
  });

  it('strips any number of slashes, and .git only at the end', () => {
    const c = withHosts(
      'ghcr.io///acme',
      'git.example.com/org/my.gitops',
      'git.example.com/team/app',
    );
    expect(c.resolve('c', SHOP, registry('ghcr.io', 'acme/web'))).toBeDefined();
    expect(
      c.resolve('c', SHOP, git('https://git.example.com/org/my.gitops/deploy')),
    ).toBeDefined();
    expect(() =>
      c.resolve('c', SHOP, git('https://git.example.com/org/myops/deploy')),
    ).toThrow('may not be sent');
    expect(
      c.resolve('c', SHOP, git('https://git.example.com//team/app')),
    ).toBeDefined();
    expect(
      c.resolve('c', SHOP, git('https://git.example.com/team/app.git//')),
    ).toBeDefined();
  });

  it('lets a host-only entry cover every path on that host', () => {
    const c = withHosts('ghcr.io');
    expect(
      c.resolve('c', SHOP, registry('ghcr.io', 'any/repo/at/all')),
    ).toBeDefined();
  });
});

describe('credential targets', () => {
  // Built in each test, not while the file is collected: code run outside a test is "static" to
  // Stryker, whose mutants there would fail the whole file instead of one test.
  const target = () =>
    credentials({
      c: {
        type: 'token',
        token: 't',
        allowedEntities: ['Component:Default/Shop'],
        hosts: ['git.example.com/team'],
      },
    });

  it('matches allowedEntities without regard to case', () => {
    expect(
      target().resolve('c', SHOP, git('https://git.example.com/team/app')),
    ).toBeDefined();
    expect(() =>
      target().resolve(
        'c',
        'component:default/other',
        git('https://git.example.com/team/app'),
      ),
    ).toThrow(
      "credential 'c' is not granted to component:default/other (imageAutomation.credentials.c.allowedEntities)",
    );
  });

  it('refuses an unparsable Git URL', () => {
    expect(() =>
      target().resolve('c', SHOP, git('git.example.com/team/app')),
    ).toThrow("credential 'c' may not be sent to an invalid URL");
  });

  it.each(['%2e%2e', '%2F', '%5c', '%2E', '%5C'])(
    'refuses a Git path with the encoded separator or dot %p',
    encoded => {
      expect(() =>
        target().resolve(
          'c',
          SHOP,
          git(`https://git.example.com/team/x${encoded}y/app.git`),
        ),
      ).toThrow(
        `credential 'c' may not be sent to git.example.com/team/x${encoded}y/app.git: the path has encoded '.', '/' or '\\'`,
      );
    },
  );

  it('compares Git hosts without regard to case; a host entry without a port allows any port', () => {
    expect(
      target().resolve('c', SHOP, git('https://GIT.Example.com/team/app')),
    ).toBeDefined();
    expect(
      target().resolve('c', SHOP, git('https://git.example.com:8443/team/app')),
    ).toBeDefined();
    expect(() =>
      target().resolve('c', SHOP, git('https://git.example.org/team/app')),
    ).toThrow(
      "credential 'c' may not be sent to git.example.org/team/app: it is bound to git.example.com/team",
    );
  });
});
