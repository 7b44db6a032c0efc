import { ConfigReader } from '@backstage/config';
import {
  CredentialRefusedError,
  CredentialTarget,
  NamedCredentials,
} from './NamedCredentials';

// The `sshKey` and `githubApp` credential types (checked at startup, resolved for SSH Git URLs
// and GitHub App installations), and the `token` credentials of notification Providers and
// Receivers. Values are built in each test: code run outside a test is "static" to Stryker.
const SHOP = 'component:default/shop';
const KEY_BODY = 'b3BlbnNzaC1rZXktdjEAAAAA-secret-body';
const KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----\n`;
const ED25519 =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const KNOWN = `github.com ${ED25519}`;
const ssh = (host: string, path: string) => ({
  kind: 'ssh' as const,
  host,
  path,
});
const git = (url: string): CredentialTarget => ({ kind: 'git', url });

function credentials(
  entries: Record<string, any>,
  extra: Record<string, any> = {},
) {
  return NamedCredentials.fromConfig(
    new ConfigReader({ imageAutomation: { credentials: entries, ...extra } }),
  );
}

/** One sshKey credential `deploy`, granted to SHOP and bound to github.com/acme. */
function deployKey(fields: Record<string, any>) {
  return credentials({
    deploy: {
      type: 'sshKey',
      allowedEntities: [SHOP],
      hosts: ['github.com/acme'],
      ...fields,
    },
  });
}

/** The error `run` throws (failing the test when it throws none). */
function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, got none');
}

const PRIVATE_KEY_MESSAGE =
  'imageAutomation.credentials.deploy: an sshKey credential needs privateKey, an OpenSSH or PEM private key (-----BEGIN ... PRIVATE KEY-----)';
const KNOWN_HOSTS_MESSAGE =
  "imageAutomation.credentials.deploy: an sshKey credential needs knownHosts (known_hosts lines with the server's host keys, e.g. from ssh-keyscan, checked); host keys are never trusted on first use";
const lineMessage = (line: number) =>
  `imageAutomation.credentials.deploy.knownHosts: line ${line} is not a known_hosts line (hosts key-type base64-key)`;

describe('sshKey credentials: privateKey', () => {
  it.each([
    ['OpenSSH', KEY],
    [
      'PKCS#1 RSA',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----',
    ],
    [
      'SEC1 EC',
      '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI\n-----END EC PRIVATE KEY-----',
    ],
    [
      'PKCS#8',
      '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----',
    ],
    [
      'PKCS#8 on one line, with blanks around',
      '\n  -----BEGIN PRIVATE KEY-----x-----END PRIVATE KEY-----  \n',
    ],
  ])('accepts a %s key, unchanged', (_kind, privateKey) => {
    expect(
      deployKey({ privateKey, knownHosts: KNOWN }).resolveSshKey(
        'deploy',
        SHOP,
        ssh('github.com', 'acme/fleet'),
      ),
    ).toEqual({ privateKey, passphrase: undefined, knownHosts: KNOWN });
  });

  it.each([
    ['a public key', ED25519],
    [
      'a PEM public key',
      '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----',
    ],
    [
      'a key without a body',
      '-----BEGIN OPENSSH PRIVATE KEY----------END OPENSSH PRIVATE KEY-----',
    ],
    [
      'a key without its END line',
      `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_BODY}\n`,
    ],
    [
      'a key without its BEGIN line',
      `${KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----`,
    ],
    [
      'a lower-case armour',
      `-----begin openssh private key-----\n${KEY_BODY}\n-----end openssh private key-----`,
    ],
    [
      'an armour with other characters in its label',
      `-----BEGIN OPEN_SSH PRIVATE KEY-----\n${KEY_BODY}\n-----END OPEN_SSH PRIVATE KEY-----`,
    ],
    ['an empty string (an unset environment variable)', ''],
  ])('refuses %s, naming the key but not the value', (_kind, privateKey) => {
    const error = thrown(() => deployKey({ privateKey, knownHosts: KNOWN }));
    expect(error.message).toBe(PRIVATE_KEY_MESSAGE);
    expect(error.message).not.toContain(KEY_BODY);
    expect(error.message).not.toContain('AAAAC3Nz');
    expect(error.message).not.toContain('MCowBQYDK2VwAyEA');
  });

  it('refuses a missing privateKey, and one that is not a string', () => {
    expect(() => deployKey({ knownHosts: KNOWN })).toThrow(PRIVATE_KEY_MESSAGE);
    expect(() => deployKey({ privateKey: 12345, knownHosts: KNOWN })).toThrow(
      PRIVATE_KEY_MESSAGE,
    );
    expect(() =>
      deployKey({ privateKey: { value: KEY }, knownHosts: KNOWN }),
    ).toThrow(PRIVATE_KEY_MESSAGE);
  });

  it('checks privateKey before knownHosts', () => {
    expect(() => deployKey({ privateKey: 'x' })).toThrow(PRIVATE_KEY_MESSAGE);
  });

  it('keeps a passphrase, and reads an empty one as none', () => {
    const target = ssh('github.com', 'acme/fleet');
    expect(
      deployKey({
        privateKey: KEY,
        passphrase: 'pass-secret',
        knownHosts: KNOWN,
      }).resolveSshKey('deploy', SHOP, target),
    ).toEqual({
      privateKey: KEY,
      passphrase: 'pass-secret',
      knownHosts: KNOWN,
    });
    const empty = deployKey({
      privateKey: KEY,
      passphrase: '',
      knownHosts: KNOWN,
    }).resolveSshKey('deploy', SHOP, target);
    expect(empty.passphrase).toBeUndefined();
    expect(empty).toHaveProperty('passphrase', undefined);
    const absent = deployKey({
      privateKey: KEY,
      knownHosts: KNOWN,
    }).resolveSshKey('deploy', SHOP, target);
    expect(absent.passphrase).toBeUndefined();
    expect(
      deployKey({
        privateKey: KEY,
        passphrase: 42,
        knownHosts: KNOWN,
      }).resolveSshKey('deploy', SHOP, target).passphrase,
    ).toBeUndefined();
  });
});

describe('sshKey credentials: knownHosts', () => {
  const accepted = (knownHosts: string) =>
    deployKey({ privateKey: KEY, knownHosts }).resolveSshKey(
      'deploy',
      SHOP,
      ssh('github.com', 'acme/fleet'),
    ).knownHosts;

  it.each([
    ['one line', KNOWN],
    ['several hosts and a port', `github.com,[ssh.github.com]:443 ${ED25519}`],
    ['a hashed host', `|1|c2FsdA==|aGFzaA== ${ED25519}`],
    ['a trailing comment', `${KNOWN} github host key`],
    ['blanks and tabs between fields', `  github.com \t  ${ED25519}  `],
    ['an @cert-authority marker', `@cert-authority *.example.com ${ED25519}`],
    ['an @revoked marker', `@revoked github.com ${ED25519}`],
    [
      'an RSA key with == padding',
      'github.com ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ==',
    ],
    ['a key with one = of padding', 'github.com ssh-rsa AAAAB3Nz+/aC1yc2E='],
    [
      'a key type with @ and digits',
      'github.com sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5',
    ],
    [
      'an ECDSA key type',
      'github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY',
    ],
    ['a one-character key', 'github.com ssh-rsa A'],
    [
      'comments, indented comments and blank lines',
      `# github.com:22 SSH-2.0\n\n   \n  # indented\n${KNOWN}\n# after\n`,
    ],
    ['LF lines', `${KNOWN}\ngitlab.com ${ED25519}\n`],
    ['CRLF lines', `# hosts\r\n${KNOWN}\r\n\r\ngitlab.com ${ED25519}\r\n`],
  ])('accepts %s, unchanged', (_kind, knownHosts) => {
    expect(accepted(knownHosts)).toBe(knownHosts);
  });

  it.each([
    ['missing', undefined],
    ['empty (an unset environment variable)', ''],
    ['blank lines only', '\n  \r\n\t\n'],
    ['comments only', '# github.com\n  # gitlab.com\r\n'],
    ['not a string', 7],
  ])('refuses knownHosts that are %s', (_kind, knownHosts) => {
    const error = thrown(() =>
      deployKey({
        privateKey: KEY,
        ...(knownHosts === undefined ? {} : { knownHosts }),
      }),
    );
    expect(error.message).toBe(KNOWN_HOSTS_MESSAGE);
  });

  it.each([
    ['a host alone', 'github.com'],
    ['a host and key type without a key', 'github.com ssh-ed25519'],
    ['a marker alone', '@cert-authority'],
    ['a marker and host without a key', '@cert-authority *.example.com'],
    [
      'a marker, host and key type without a key',
      '@revoked github.com ssh-rsa',
    ],
    ['a key with a character outside base64', 'github.com ssh-rsa AAAA*BBBB'],
    ['a key starting with a foreign character', 'github.com ssh-rsa *AAAA'],
    ['a key ending with a foreign character', 'github.com ssh-rsa AAAA*'],
    ['three = of padding', 'github.com ssh-rsa AAAA==='],
    ['padding alone', 'github.com ssh-rsa =='],
    ['padding inside the key', 'github.com ssh-rsa AA=AA'],
    ['an upper-case key type', `github.com SSH-ED25519 AAAAC3Nz`],
    ['a key type starting upper-case', 'github.com Ssh-rsa AAAA'],
    ['a key type ending upper-case', 'github.com ssh-rsA AAAA'],
    ['a key type with a foreign character', 'github.com ssh_rsa AAAA'],
    ['a marker with a host pattern as key type', '@cert-authority *.x AAAA'],
    ['fields in the wrong order', `${ED25519} github.com`],
  ])('refuses %s, naming the line', (_kind, line) => {
    const error = thrown(() =>
      deployKey({ privateKey: KEY, knownHosts: line }),
    );
    expect(error.message).toBe(lineMessage(1));
  });

  it('numbers lines after dropping blank and comment lines', () => {
    expect(() =>
      deployKey({
        privateKey: KEY,
        knownHosts: `${KNOWN}\ngithub.com ssh-rsa not*base64`,
      }),
    ).toThrow(lineMessage(2));
    expect(() =>
      deployKey({
        privateKey: KEY,
        knownHosts: `# header\n\n${KNOWN}\r\n${KNOWN}\r\ngitlab.com\r\n`,
      }),
    ).toThrow(lineMessage(3));
  });

  it('names neither the key nor the knownHosts line in its errors', () => {
    const error = thrown(() =>
      deployKey({
        privateKey: KEY,
        knownHosts: `${KNOWN}\nsecret-host.internal ssh-rsa AAAA*secret`,
      }),
    );
    expect(error.message).toBe(lineMessage(2));
    expect(error.message).not.toContain('secret');
    expect(error.message).not.toContain(KEY_BODY);
  });
});

describe('sshKey credentials: where they may be used', () => {
  const deploy = (extra: Record<string, any> = {}) =>
    credentials(
      {
        deploy: {
          type: 'sshKey',
          privateKey: KEY,
          knownHosts: KNOWN,
          allowedEntities: ['Component:Default/Shop'],
          hosts: ['github.com/acme', 'git.example.com:2222/team/fleet.git'],
        },
        basic: {
          type: 'basic',
          username: 'u',
          password: 'registry-secret',
          allowedEntities: [SHOP],
          hosts: ['github.com'],
        },
      },
      extra,
    );

  it('is resolved for an SSH URL under a bound host and path, whatever the host case', () => {
    const expected = {
      privateKey: KEY,
      passphrase: undefined,
      knownHosts: KNOWN,
    };
    expect(
      deploy().resolveSshKey('deploy', SHOP, ssh('github.com', 'acme')),
    ).toEqual(expected);
    expect(
      deploy().resolveSshKey(
        'deploy',
        'component:default/SHOP',
        ssh('GitHub.COM', 'acme/fleet'),
      ),
    ).toEqual(expected);
    expect(
      deploy().resolveSshKey(
        'deploy',
        SHOP,
        ssh('git.example.com:2222', 'team/fleet/sub'),
      ),
    ).toEqual(expected);
  });

  it('names the lower-cased host and the path in a refusal', () => {
    expect(() =>
      deploy().resolveSshKey('deploy', SHOP, ssh('GitHub.COM', 'acme-evil/x')),
    ).toThrow(
      "credential 'deploy' may not be sent to github.com/acme-evil/x: it is bound to github.com/acme, git.example.com:2222/team/fleet (imageAutomation.credentials.deploy.hosts)",
    );
    expect(() =>
      deploy().resolveSshKey(
        'deploy',
        SHOP,
        ssh('git.example.com:22', 'team/fleet'),
      ),
    ).toThrow(
      "credential 'deploy' may not be sent to git.example.com:22/team/fleet: it is bound to",
    );
    expect(() =>
      deploy().resolveSshKey(
        'deploy',
        SHOP,
        ssh('GIT.example.com', 'team/fleet'),
      ),
    ).toThrow(
      "credential 'deploy' may not be sent to git.example.com/team/fleet: it is bound to",
    );
  });

  it('is refused to entities not granted, and when reserved for a cluster', () => {
    expect(() =>
      deploy().resolveSshKey(
        'deploy',
        'component:default/other',
        ssh('github.com', 'acme/fleet'),
      ),
    ).toThrow(
      "credential 'deploy' is not granted to component:default/other (imageAutomation.credentials.deploy.allowedEntities)",
    );
    expect(() =>
      deploy().resolveSshKey(
        'deploy',
        undefined,
        ssh('github.com', 'acme/fleet'),
      ),
    ).toThrow(
      "credential 'deploy' is not granted to objects without an entity",
    );
    expect(() =>
      deploy({
        kubernetes: { clusters: [{ name: 'prod', credential: 'deploy' }] },
      }).resolveSshKey('deploy', SHOP, ssh('github.com', 'acme/fleet')),
    ).toThrow(
      "credential 'deploy' is reserved for Kubernetes cluster 'prod' (imageAutomation.kubernetes.clusters) and cannot be named by a manifest",
    );
    expect(() =>
      credentials({
        deploy: { type: 'sshKey', privateKey: KEY, knownHosts: KNOWN },
      }).resolveSshKey('deploy', SHOP, ssh('github.com', 'acme')),
    ).toThrow(
      "credential 'deploy' is not granted to component:default/shop: imageAutomation.credentials.deploy.allowedEntities is not set, so no entity may use it",
    );
    expect(() =>
      credentials({
        deploy: {
          type: 'sshKey',
          privateKey: KEY,
          knownHosts: KNOWN,
          allowedEntities: [SHOP],
        },
      }).resolveSshKey('deploy', SHOP, ssh('github.com', 'acme')),
    ).toThrow(
      "credential 'deploy' may not be sent to github.com/acme: imageAutomation.credentials.deploy.hosts is not set, so it may be sent nowhere",
    );
  });

  it('is a deploy key only: not a password, token, TLS material or GitHub App', () => {
    const c = deploy();
    const error = thrown(() =>
      c.resolve('deploy', SHOP, git('https://github.com/acme/fleet.git')),
    );
    expect(error).toBeInstanceOf(CredentialRefusedError);
    expect(error.message).toBe(
      "credential 'deploy' is of another type; secretRef needs basic, token or dockerConfigJson",
    );
    expect(error.message).not.toContain(KEY_BODY);
    expect(() =>
      c.resolveTls('deploy', SHOP, ssh('github.com', 'acme/fleet')),
    ).toThrow("credential 'deploy' is not of type tls, as certSecretRef needs");
    expect(
      c.resolveGitHubApp('deploy', SHOP, ssh('github.com', 'acme/fleet')),
    ).toBeUndefined();
    expect(() => c.resolveWebhookToken('deploy', SHOP)).toThrow(
      "credential 'deploy' is not of type token, as a Receiver's secretRef needs",
    );
  });

  it('is the only type an SSH URL takes', () => {
    const error = thrown(() =>
      deploy().resolveSshKey('basic', SHOP, ssh('github.com', 'acme/fleet')),
    );
    expect(error).toBeInstanceOf(CredentialRefusedError);
    expect(error.message).toBe(
      "credential 'basic' is not of type sshKey, as an SSH Git URL needs (a deploy key with knownHosts)",
    );
    expect(error.message).not.toContain('registry-secret');
    expect(() =>
      deploy().resolveSshKey('missing', SHOP, ssh('github.com', 'acme')),
    ).toThrow(
      "credential 'missing' is not defined in imageAutomation.credentials",
    );
  });
});

describe('githubApp credentials', () => {
  const PEM =
    '-----BEGIN RSA PRIVATE KEY-----\nMIIEapp-secret-key\n-----END RSA PRIVATE KEY-----';
  const app = (fields: Record<string, any>, name = 'app') =>
    credentials({
      [name]: {
        type: 'githubApp',
        privateKey: PEM,
        allowedEntities: [SHOP],
        hosts: ['github.com/acme', 'api.github.com'],
        ...fields,
      },
    });
  const repo = git('https://github.com/acme/fleet');

  it('reads the app, the installation by id, the key and the API base URL', () => {
    expect(
      app({
        appId: '123',
        installationId: '456',
        baseUrl: 'https://github.example.com/api/v3',
      }).resolveGitHubApp('app', SHOP, repo),
    ).toStrictEqual({
      name: 'app',
      appId: '123',
      installationId: '456',
      installationOwner: undefined,
      privateKey: PEM,
      baseUrl: 'https://github.example.com/api/v3',
    });
  });

  it('reads the installation by its account login, and numbers as strings', () => {
    expect(
      app(
        { appId: 123, installationOwner: 'acme' },
        'fleetApp',
      ).resolveGitHubApp('fleetApp', SHOP, repo),
    ).toStrictEqual({
      name: 'fleetApp',
      appId: '123',
      installationId: undefined,
      installationOwner: 'acme',
      privateKey: PEM,
      baseUrl: undefined,
    });
    expect(
      app({ appId: 1, installationId: 789 }).resolveGitHubApp('app', SHOP, repo)
        ?.installationId,
    ).toBe('789');
  });

  it('reads empty strings (unset environment variables) as absent', () => {
    expect(
      app({
        appId: '1',
        installationId: '',
        installationOwner: 'acme',
        baseUrl: '',
      }).resolveGitHubApp('app', SHOP, repo),
    ).toStrictEqual({
      name: 'app',
      appId: '1',
      installationId: undefined,
      installationOwner: 'acme',
      privateKey: PEM,
      baseUrl: undefined,
    });
    expect(
      app({
        appId: '1',
        installationId: '2',
        installationOwner: '',
      }).resolveGitHubApp('app', SHOP, repo),
    ).toStrictEqual({
      name: 'app',
      appId: '1',
      installationId: '2',
      installationOwner: undefined,
      privateKey: PEM,
      baseUrl: undefined,
    });
  });

  it.each([
    ['missing', {}],
    ['empty', { appId: '' }],
    ['null', { appId: null }],
  ])('refuses an appId that is %s', (_kind, fields) => {
    const error = thrown(() => app({ ...fields, installationId: '2' }));
    expect(error.message).toBe(
      'imageAutomation.credentials.app: a githubApp credential needs appId',
    );
  });

  it.each([
    ['neither', {}],
    ['both', { installationId: '2', installationOwner: 'acme' }],
    ['both empty', { installationId: '', installationOwner: '' }],
  ])('refuses %s of installationId and installationOwner', (_kind, fields) => {
    const error = thrown(() => app({ appId: '1', ...fields }));
    expect(error.message).toBe(
      'imageAutomation.credentials.app: a githubApp credential needs exactly one of installationId and installationOwner',
    );
  });

  it('checks appId first, and needs privateKey, naming the key and not the value', () => {
    expect(() => app({ installationId: '2', installationOwner: 'x' })).toThrow(
      'a githubApp credential needs appId',
    );
    expect(() =>
      credentials({
        app: { type: 'githubApp', appId: '1', installationId: '2' },
      }),
    ).toThrow(
      "Missing required config value at 'imageAutomation.credentials.app.privateKey'",
    );
    const error = thrown(() => app({ appId: '1' }));
    expect(error.message).not.toContain('app-secret-key');
  });

  it('is resolved for a bound target and entity only', () => {
    const c = app({ appId: '1', installationId: '2' });
    expect(
      c.resolveGitHubApp('app', SHOP, {
        kind: 'registry',
        host: 'API.github.com',
        repository: 'repos/acme/fleet',
      })?.appId,
    ).toBe('1');
    expect(() =>
      c.resolveGitHubApp('app', SHOP, git('https://github.com/other/fleet')),
    ).toThrow(
      "credential 'app' may not be sent to github.com/other/fleet: it is bound to github.com/acme, api.github.com (imageAutomation.credentials.app.hosts)",
    );
    expect(() =>
      c.resolveGitHubApp('app', 'component:default/other', repo),
    ).toThrow(
      "credential 'app' is not granted to component:default/other (imageAutomation.credentials.app.allowedEntities)",
    );
  });

  it('is never a password, token, deploy key or TLS material', () => {
    const c = app({ appId: '1', installationId: '2' });
    const error = thrown(() => c.resolve('app', SHOP, repo));
    expect(error).toBeInstanceOf(CredentialRefusedError);
    expect(error.message).toBe(
      "credential 'app' is of another type; secretRef needs basic, token or dockerConfigJson",
    );
    expect(error.message).not.toContain('app-secret-key');
    expect(() =>
      c.resolveSshKey('app', SHOP, ssh('github.com', 'acme/fleet')),
    ).toThrow("credential 'app' is not of type sshKey");
    expect(() => c.resolveTls('app', SHOP, repo)).toThrow(
      "credential 'app' is not of type tls",
    );
    expect(
      credentials({
        token: {
          type: 'token',
          token: 't',
          allowedEntities: [SHOP],
          hosts: ['github.com'],
        },
      }).resolveGitHubApp('token', SHOP, repo),
    ).toBeUndefined();
  });
});

describe('token credentials of notification Providers and Receivers', () => {
  const HOOK = 'https://hooks.example.com/services/T000/B000/hook-secret';
  const tokens = () =>
    credentials({
      token: {
        type: 'token',
        token: 'tok-secret',
        allowedEntities: [SHOP],
        hosts: ['api.github.com/repos/acme', 'hooks.example.com'],
      },
      hook: {
        type: 'token',
        address: HOOK,
        allowedEntities: [SHOP],
        hosts: ['hooks.example.com'],
      },
      hookWithToken: {
        type: 'token',
        address: HOOK,
        token: 'tok-secret',
        allowedEntities: [SHOP],
        hosts: ['hooks.example.com'],
      },
      hookUnderPath: {
        type: 'token',
        address: HOOK,
        allowedEntities: [SHOP],
        hosts: ['hooks.example.com/services'],
      },
      badHook: {
        type: 'token',
        address: 'not a url hook-secret',
        allowedEntities: [SHOP],
        hosts: ['hooks.example.com'],
      },
      basic: {
        type: 'basic',
        username: 'u',
        password: 'p',
        address: HOOK,
        allowedEntities: [SHOP],
        hosts: ['hooks.example.com'],
      },
    });

  it('sends a token to the address of the Provider spec, checked against hosts', () => {
    expect(
      tokens().resolveNotification(
        'token',
        SHOP,
        'https://github.com/acme/app',
        a => a.replace('https://github.com/', 'https://api.github.com/repos/'),
      ),
    ).toStrictEqual({
      token: 'tok-secret',
      address: 'https://github.com/acme/app',
      addressIsSecret: false,
    });
    expect(
      tokens().resolveNotification(
        'token',
        SHOP,
        'https://hooks.example.com/x',
      ),
    ).toStrictEqual({
      token: 'tok-secret',
      address: 'https://hooks.example.com/x',
      addressIsSecret: false,
    });
    expect(() =>
      tokens().resolveNotification(
        'token',
        SHOP,
        'https://github.com/acme/app',
      ),
    ).toThrow(
      "credential 'token' may not be sent to github.com/acme/app: it is bound to api.github.com/repos/acme, hooks.example.com (imageAutomation.credentials.token.hosts)",
    );
  });

  it('resolves nothing without an address', () => {
    expect(
      tokens().resolveNotification('token', SHOP, undefined),
    ).toStrictEqual({ addressIsSecret: false });
    expect(tokens().resolveNotification('token', SHOP, '')).toStrictEqual({
      addressIsSecret: false,
    });
    // Not even a check of the entity: the caller reports the missing address.
    expect(
      tokens().resolveNotification(
        'token',
        'component:default/other',
        undefined,
      ),
    ).toStrictEqual({ addressIsSecret: false });
  });

  it("uses the credential's own address, a secret checked by scheme and host only", () => {
    const destinations: string[] = [];
    expect(
      tokens().resolveNotification('hook', SHOP, 'https://elsewhere.io/', a => {
        destinations.push(a);
        return a;
      }),
    ).toStrictEqual({ token: undefined, address: HOOK, addressIsSecret: true });
    expect(destinations).toEqual([HOOK]);
    expect(
      tokens().resolveNotification('hookWithToken', SHOP, undefined),
    ).toStrictEqual({
      token: 'tok-secret',
      address: HOOK,
      addressIsSecret: true,
    });
    const error = thrown(() =>
      tokens().resolveNotification('hookUnderPath', SHOP, undefined),
    );
    expect(error).toBeInstanceOf(CredentialRefusedError);
    expect(error.message).toBe(
      "credential 'hookUnderPath' may not be sent to hooks.example.com/: it is bound to hooks.example.com/services (imageAutomation.credentials.hookUnderPath.hosts)",
    );
    expect(error.message).not.toContain('hook-secret');
  });

  it('refuses invalid addresses without naming them', () => {
    const own = thrown(() =>
      tokens().resolveNotification('badHook', SHOP, undefined),
    );
    expect(own).toBeInstanceOf(CredentialRefusedError);
    expect(own.message).toBe(
      "credential 'badHook' has an address that is not a valid URL",
    );
    const spec = thrown(() =>
      tokens().resolveNotification('token', SHOP, 'https://x/', () => {
        throw new Error('no repository in hook-secret');
      }),
    );
    expect(spec).toBeInstanceOf(CredentialRefusedError);
    expect(spec.message).toBe(
      "credential 'token' may not be sent to an invalid URL",
    );
    expect(() =>
      tokens().resolveNotification('token', SHOP, 'not a url'),
    ).toThrow("credential 'token' may not be sent to an invalid URL");
  });

  it('takes an address from token credentials only', () => {
    // A basic credential's `address` is not read: no address, nothing resolved.
    expect(
      tokens().resolveNotification('basic', SHOP, undefined),
    ).toStrictEqual({ addressIsSecret: false });
  });

  it('needs a token credential for a Provider', () => {
    const error = thrown(() =>
      tokens().resolveNotification('basic', SHOP, 'https://hooks.example.com/'),
    );
    expect(error).toBeInstanceOf(CredentialRefusedError);
    expect(error.message).toBe(
      "credential 'basic' is not of type token, as a Provider's secretRef needs",
    );
  });

  it('gives a Receiver the token of a token credential, wherever it is bound', () => {
    expect(tokens().resolveWebhookToken('token', SHOP)).toBe('tok-secret');
    expect(
      tokens().resolveWebhookToken('token', 'Component:Default/Shop'),
    ).toBe('tok-secret');
    expect(tokens().resolveWebhookToken('hookWithToken', SHOP)).toBe(
      'tok-secret',
    );
  });

  it.each(['hook', 'basic'])(
    'refuses a Receiver credential %p without a token',
    name => {
      const error = thrown(() => tokens().resolveWebhookToken(name, SHOP));
      expect(error).toBeInstanceOf(CredentialRefusedError);
      expect(error.message).toBe(
        `credential '${name}' is not of type token, as a Receiver's secretRef needs`,
      );
    },
  );

  it('checks the entity for a Receiver token', () => {
    expect(() =>
      tokens().resolveWebhookToken('token', 'component:default/other'),
    ).toThrow(
      "credential 'token' is not granted to component:default/other (imageAutomation.credentials.token.allowedEntities)",
    );
  });
});
