import { ConfigReader } from '@backstage/config';
import { NamedCredentials } from '../credentials/NamedCredentials';
import {
  checkGitUrl,
  isSshGitUrl,
  parseSshGitUrl,
  STRICT_GIT_ACCESS,
} from './gitAccess';

const KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-secret-body\n-----END OPENSSH PRIVATE KEY-----\n';
const KNOWN =
  'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

describe('SSH Git URLs', () => {
  it('tells SSH URLs from others as git does', () => {
    expect(isSshGitUrl('ssh://git@github.com/acme/fleet.git')).toBe(true);
    expect(isSshGitUrl('git@github.com:acme/fleet.git')).toBe(true);
    expect(isSshGitUrl('git@[127.0.0.1:2222]:/srv/fleet.git')).toBe(true);
    expect(isSshGitUrl('https://github.com/acme/fleet.git')).toBe(false);
    expect(isSshGitUrl('file:///srv/fleet.git')).toBe(false);
    expect(isSshGitUrl('ext::sh -c touch /tmp/x')).toBe(false);
    expect(isSshGitUrl('git+ssh://github.com/acme/fleet.git')).toBe(false);
    expect(isSshGitUrl('/srv/fleet.git')).toBe(false);
  });

  it('parses host, port and the repository path the credential binding checks', () => {
    expect(parseSshGitUrl('ssh://git@GitHub.com/acme/fleet.git')).toEqual({
      user: 'git',
      host: 'github.com',
      path: 'acme/fleet',
    });
    expect(parseSshGitUrl('ssh://git@git.example.com:2222/acme/fleet')).toEqual(
      { user: 'git', host: 'git.example.com:2222', path: 'acme/fleet' },
    );
    expect(parseSshGitUrl('git@github.com:acme/fleet.git')).toEqual({
      user: 'git',
      host: 'github.com',
      path: 'acme/fleet',
    });
    expect(parseSshGitUrl('git@[127.0.0.1:2222]:/srv/fleet.git')).toEqual({
      user: 'git',
      host: '127.0.0.1:2222',
      path: 'srv/fleet',
    });
    expect(parseSshGitUrl('ssh://git@[::1]:2222/fleet.git')).toEqual({
      user: 'git',
      host: '[::1]:2222',
      path: 'fleet',
    });
  });

  it.each([
    [
      'ssh://git@github.com/acme/../other/fleet.git',
      "the path has a '.' or '..' segment",
    ],
    ['ssh://git@github.com/acme/%2e%2e/fleet.git', 'percent-encoding'],
    ['ssh://git@github.com/acme\\..\\fleet.git', 'a backslash'],
    [
      'ssh://git:hunter2@github.com/acme/fleet.git',
      'a password in an SSH URL is not supported',
    ],
    [
      'ssh://-oProxyCommand=touch@github.com/acme/fleet.git',
      "'-oProxyCommand=touch' is not a valid user name",
    ],
    [
      'ssh://git@-oProxyCommand=touch/acme/fleet.git',
      "'-oProxyCommand=touch' is not a valid host[:port]",
    ],
    ['-oProxyCommand=touch:fleet.git', 'is not a valid host'],
    ['git@github.com:-u/fleet.git', "a path segment starts with '-'"],
    [
      'ssh://git@github.com/~root/fleet.git',
      "'~' home-directory paths are not supported",
    ],
    ['ssh://git@github.com', 'it has no repository path'],
    ['ssh://git@github.com:99999/fleet.git', 'port 99999 is out of range'],
    [
      'ssh://git@github.com/fleet.git\n--upload-pack=x',
      'whitespace, control characters',
    ],
  ])('refuses %s', (url, why) => {
    expect(() => parseSshGitUrl(url)).toThrow(why);
    expect(() => checkGitUrl(url, STRICT_GIT_ACCESS, true)).toThrow(why);
  });

  it('needs a secretRef, and never shows a password written in the URL', () => {
    expect(() =>
      checkGitUrl('git@github.com:acme/fleet.git', STRICT_GIT_ACCESS),
    ).toThrow(
      "SSH Git URL 'git@github.com:acme/fleet.git' needs spec.secretRef naming an sshKey credential (a deploy key with knownHosts) granted to the entity and bound to github.com",
    );
    expect(
      checkGitUrl('git@github.com:acme/fleet.git', STRICT_GIT_ACCESS, true),
    ).toEqual({ user: 'git', host: 'github.com', path: 'acme/fleet' });
    let message = '';
    try {
      checkGitUrl(
        'ssh://git:hunter2@github.com/acme/fleet.git',
        STRICT_GIT_ACCESS,
        true,
      );
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('ssh://github.com/acme/fleet.git');
    expect(message).not.toContain('hunter2');
  });
});

describe('sshKey credentials', () => {
  const credentials = (entry: Record<string, unknown>) =>
    NamedCredentials.fromConfig(
      new ConfigReader({
        imageAutomation: {
          credentials: {
            deploy: {
              type: 'sshKey',
              allowedEntities: ['component:default/shop'],
              hosts: ['github.com/acme'],
              ...entry,
            },
          },
        },
      }),
    );

  it('is a startup error without knownHosts (no trust on first use), naming the credential and not the key', () => {
    for (const knownHosts of [undefined, '', '# only a comment\n']) {
      let message = '';
      try {
        credentials({ privateKey: KEY, knownHosts });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toBe(
        "imageAutomation.credentials.deploy: an sshKey credential needs knownHosts (known_hosts lines with the server's host keys, e.g. from ssh-keyscan, checked); host keys are never trusted on first use",
      );
    }
    expect(() =>
      credentials({ privateKey: KEY, knownHosts: 'github.com ssh-ed25519' }),
    ).toThrow(
      'imageAutomation.credentials.deploy.knownHosts: line 1 is not a known_hosts line (hosts key-type base64-key)',
    );
    expect(() =>
      credentials({ privateKey: 'not a key', knownHosts: KNOWN }),
    ).toThrow(
      'imageAutomation.credentials.deploy: an sshKey credential needs privateKey, an OpenSSH or PEM private key (-----BEGIN ... PRIVATE KEY-----)',
    );
    let thrown: unknown;
    try {
      credentials({ privateKey: 'secret-body-not-a-key', knownHosts: KNOWN });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).message).not.toContain('secret-body');
  });

  it('is granted per entity and bound to host and path; never used as a password or token', () => {
    const named = credentials({
      privateKey: KEY,
      passphrase: 'pp',
      knownHosts: `# github\n${KNOWN}\n@cert-authority *.example.com ${KNOWN.split(
        ' ',
      )
        .slice(1)
        .join(' ')}`,
    });
    expect(
      named.resolveSshKey('deploy', 'component:default/shop', {
        kind: 'ssh',
        host: 'github.com',
        path: 'acme/fleet',
      }),
    ).toMatchObject({
      privateKey: KEY,
      passphrase: 'pp',
    });
    expect(() =>
      named.resolveSshKey('deploy', 'component:default/other', {
        kind: 'ssh',
        host: 'github.com',
        path: 'acme/fleet',
      }),
    ).toThrow(
      "credential 'deploy' is not granted to component:default/other (imageAutomation.credentials.deploy.allowedEntities)",
    );
    expect(() =>
      named.resolveSshKey('deploy', 'component:default/shop', {
        kind: 'ssh',
        host: 'github.com',
        path: 'acme-evil/fleet',
      }),
    ).toThrow(
      "credential 'deploy' may not be sent to github.com/acme-evil/fleet: it is bound to github.com/acme (imageAutomation.credentials.deploy.hosts)",
    );
    expect(() =>
      named.resolveSshKey('deploy', 'component:default/shop', {
        kind: 'ssh',
        host: 'gitlab.com',
        path: 'acme/fleet',
      }),
    ).toThrow("credential 'deploy' may not be sent to gitlab.com/acme/fleet");
    expect(() =>
      named.resolve('deploy', 'component:default/shop', {
        kind: 'git',
        url: 'https://github.com/acme/fleet.git',
      }),
    ).toThrow("credential 'deploy' is of another type");
  });
});
