import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startGitServer, TestGitServer } from '../../testbed';
import {
  automation,
  GIT_PASSWORD,
  HARNESS_ENTITY,
  ready,
  startAutomationHarness,
} from './automationHarness';

const run = promisify(execFile);
jest.setTimeout(120_000);

const MARKED = 'image: ghcr.io/acme/web:1.0.0 # {"$imagepolicy": "apps:web"}\n';
const WEB = { name: 'ghcr.io/acme/web', tag: '1.1.0' };

describe('signed commits', () => {
  let git: TestGitServer;
  let dir: string;
  let gnupgHome: string;
  let armoredKey: string;
  let sshKey: string;
  let sshPublic: string;

  beforeAll(async () => {
    git = await startGitServer({ users: { git: GIT_PASSWORD } });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signing-'));
    gnupgHome = path.join(dir, 'gnupg');
    fs.mkdirSync(gnupgHome, { mode: 0o700 });
    const env = { ...process.env, GNUPGHOME: gnupgHome };
    await run(
      'gpg',
      [
        '--batch',
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        'pass phrase',
        '--quick-gen-key',
        'Flux Bot <bot@example.com>',
        'ed25519',
        'sign',
        'never',
      ],
      { env },
    );
    armoredKey = (
      await run(
        'gpg',
        [
          '--batch',
          '--pinentry-mode',
          'loopback',
          '--passphrase',
          'pass phrase',
          '--armor',
          '--export-secret-keys',
        ],
        { env },
      )
    ).stdout;
    await run('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      'bot',
      '-f',
      path.join(dir, 'id'),
    ]);
    sshKey = fs.readFileSync(path.join(dir, 'id'), 'utf8');
    sshPublic = fs.readFileSync(path.join(dir, 'id.pub'), 'utf8').trim();
  });
  afterAll(async () => {
    await run('gpgconf', ['--kill', 'gpg-agent'], {
      env: { ...process.env, GNUPGHOME: gnupgHome },
    }).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    await git?.stop();
  });

  /** `git verify-commit` on a clone of the repository, with the given trust settings. */
  async function verify(
    repo: string,
    config: string[],
    env: Record<string, string> = {},
  ) {
    const clone = path.join(dir, `clone-${repo}`);
    await git.git(repo, ['config', 'uploadpack.allowAnySHA1InWant', 'true']);
    await run('git', [
      'clone',
      '--quiet',
      path.join(git.root, `${repo}.git`),
      clone,
    ]);
    return run('git', [...config, 'verify-commit', '-v', 'HEAD'], {
      cwd: clone,
      env: { ...process.env, ...env },
    });
  }

  it('signs with an OpenPGP key (with passphrase), verified by git verify-commit', async () => {
    await git.createRepository('gpg', { 'web.yaml': MARKED });
    const h = await startAutomationHarness({
      git,
      repo: 'gpg',
      signingKeys: {
        bot: {
          type: 'gpg',
          privateKey: armoredKey,
          passphrase: 'pass phrase',
          allowedEntities: [HARNESS_ENTITY],
        },
      },
    });
    try {
      await h.declare({ web: WEB });
      const result = await h.run(
        automation('auto', {
          commit: { signingKey: { secretRef: { name: 'bot' } } },
        }),
      );
      expect(ready(result)?.status).toBe('True');
      const { stderr } = await verify('gpg', [], { GNUPGHOME: gnupgHome });
      expect(stderr).toMatch(
        /Good signature from "Flux Bot <bot@example.com>"/,
      );
    } finally {
      await h.stop();
    }
  });

  it('signs with an SSH key, verified by git verify-commit', async () => {
    await git.createRepository('ssh', { 'web.yaml': MARKED });
    const h = await startAutomationHarness({
      git,
      repo: 'ssh',
      signingKeys: {
        bot: {
          type: 'ssh',
          privateKey: sshKey,
          allowedEntities: [HARNESS_ENTITY],
        },
      },
    });
    try {
      await h.declare({ web: WEB });
      const result = await h.run(
        automation('auto', {
          commit: { signingKey: { type: 'ssh', secretRef: { name: 'bot' } } },
        }),
      );
      expect(ready(result)?.status).toBe('True');
      const allowed = path.join(dir, 'allowed_signers');
      fs.writeFileSync(
        allowed,
        `bot@example.com namespaces="git" ${sshPublic}\n`,
      );
      const { stderr } = await verify('ssh', [
        '-c',
        'gpg.format=ssh',
        '-c',
        `gpg.ssh.allowedSignersFile=${allowed}`,
      ]);
      expect(stderr).toMatch(
        /Good "git" signature for bot@example.com with ED25519 key/,
      );
    } finally {
      await h.stop();
    }
  });

  it('signs a commit whose author has an email and no name (as Flux writes it), with either kind of key', async () => {
    // Where the signer and the clone keep their files: this test's own directory, to see that
    // nothing is left behind.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nameless-'));
    const tmpdir = jest.spyOn(os, 'tmpdir').mockReturnValue(tmp);
    try {
      for (const type of ['gpg', 'ssh'] as const) {
        const repo = `nameless-${type}`;
        await git.createRepository(repo, { 'web.yaml': MARKED });
        const h = await startAutomationHarness({
          git,
          repo,
          signingKeys: {
            bot: {
              type,
              privateKey: type === 'gpg' ? armoredKey : sshKey,
              ...(type === 'gpg' ? { passphrase: 'pass phrase' } : {}),
              allowedEntities: [HARNESS_ENTITY],
            },
          },
        });
        try {
          await h.declare({ web: WEB });
          const manifest = automation('auto', {
            commit: { signingKey: { type, secretRef: { name: 'bot' } } },
          });
          (manifest.spec as any).git.commit.author = {
            email: 'bot@example.com',
          };
          expect(ready(await h.run(manifest))?.status).toBe('True');
          expect(tmpdir).toHaveBeenCalled();
          expect(fs.readdirSync(tmp)).toEqual([]);
          expect(
            await git.git(repo, ['log', '-1', '--format=[%an] [%ae]', 'main']),
          ).toBe('[] [bot@example.com]\n');
          await git.git(repo, ['fsck', '--strict']);
          if (type === 'gpg') {
            const { stderr } = await verify(repo, [], { GNUPGHOME: gnupgHome });
            expect(stderr).toMatch(
              /Good signature from "Flux Bot <bot@example.com>"/,
            );
          } else {
            const allowed = path.join(dir, 'allowed_signers');
            fs.writeFileSync(
              allowed,
              `bot@example.com namespaces="git" ${sshPublic}\n`,
            );
            const { stderr } = await verify(repo, [
              '-c',
              'gpg.format=ssh',
              '-c',
              `gpg.ssh.allowedSignersFile=${allowed}`,
            ]);
            expect(stderr).toMatch(
              /Good "git" signature for bot@example.com with ED25519 key/,
            );
          }
        } finally {
          await h.stop();
        }
      }
    } finally {
      tmpdir.mockRestore();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('stops with a clear message when the key is of another type or missing', async () => {
    await git.createRepository('bad', { 'web.yaml': MARKED });
    const h = await startAutomationHarness({
      git,
      repo: 'bad',
      signingKeys: {
        bot: {
          type: 'ssh',
          privateKey: sshKey,
          allowedEntities: [HARNESS_ENTITY],
        },
      },
    });
    try {
      await h.declare({ web: WEB });
      expect(
        ready(
          await h.run(
            automation('a', {
              commit: { signingKey: { secretRef: { name: 'bot' } } },
            }),
          ),
        ),
      ).toEqual({
        status: 'False',
        reason: 'SourceManagerFailed',
        message:
          "failed configuring source manager: signing key 'bot' is a ssh key, but the automation asks for gpg",
      });
      expect(
        ready(
          await h.run(
            automation('b', {
              commit: { signingKey: { secretRef: { name: 'nope' } } },
            }),
          ),
        )?.message,
      ).toBe(
        "failed configuring source manager: signing key 'nope' is not defined in imageAutomation.signingKeys",
      );
    } finally {
      await h.stop();
    }
  });

  it('refuses a key that is not granted to the entity, or granted to nobody (#13)', async () => {
    await git.createRepository('ungranted', { 'web.yaml': MARKED });
    const h = await startAutomationHarness({
      git,
      repo: 'ungranted',
      signingKeys: {
        nobody: { type: 'ssh', privateKey: sshKey },
        other: {
          type: 'ssh',
          privateKey: sshKey,
          allowedEntities: ['component:default/payments'],
        },
        mine: {
          type: 'ssh',
          privateKey: sshKey,
          allowedEntities: [HARNESS_ENTITY],
        },
      },
    });
    try {
      await h.declare({ web: WEB });
      const head = (await git.git('ungranted', ['rev-parse', 'main'])).trim();
      const signWith = (name: string) =>
        automation(name, {
          commit: { signingKey: { type: 'ssh', secretRef: { name } } },
        });
      expect(ready(await h.run(signWith('nobody')))).toEqual({
        status: 'False',
        reason: 'SourceManagerFailed',
        message: `failed configuring source manager: signing key 'nobody' is not granted to ${HARNESS_ENTITY}: imageAutomation.signingKeys.nobody.allowedEntities is not set, so no entity may use it`,
      });
      expect(ready(await h.run(signWith('other')))?.message).toBe(
        `failed configuring source manager: signing key 'other' is not granted to ${HARNESS_ENTITY} (imageAutomation.signingKeys.other.allowedEntities)`,
      );
      // Nothing was pushed by the refused ones; the granted key still signs.
      expect((await git.git('ungranted', ['rev-parse', 'main'])).trim()).toBe(
        head,
      );
      expect(ready(await h.run(signWith('mine')))?.status).toBe('True');
    } finally {
      await h.stop();
    }
  });
});
