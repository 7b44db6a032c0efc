import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Config } from '@backstage/config';
import { CommitSigner } from './commitSigner';

const execFileAsync = promisify(execFile);

interface SigningKey {
  type: 'gpg' | 'ssh';
  privateKey: string;
  passphrase?: string;
  allowedEntities?: string[];
}

/**
 * Commit signing keys that `git.commit.signingKey.secretRef.name` names, from
 * `imageAutomation.signingKeys.<name>` in app-config: `{type: gpg, privateKey (ASCII-armored),
 * passphrase?}` (Flux's `git.asc` + `passphrase`) or `{type: ssh, privateKey (OpenSSH),
 * allowedEntities}` (Flux's `identity`). Every key needs `allowedEntities`: without it no
 * entity may sign with it. A manifest never carries a key.
 * @internal
 */
export class SigningKeys {
  static fromConfig(config: Config): SigningKeys {
    const keys = new Map<string, SigningKey>();
    const section = config.getOptionalConfig('imageAutomation.signingKeys');
    for (const name of section?.keys() ?? []) {
      const c = section!.getConfig(name);
      const type = c.getString('type');
      if (type !== 'gpg' && type !== 'ssh') {
        throw new Error(
          `imageAutomation.signingKeys.${name}.type must be gpg or ssh; got '${type}'`,
        );
      }
      keys.set(name, {
        type,
        privateKey: c.getString('privateKey'),
        passphrase: c.getOptionalString('passphrase'),
        allowedEntities: c
          .getOptionalStringArray('allowedEntities')
          ?.map(r => r.toLocaleLowerCase('en-US')),
      });
    }
    return new SigningKeys(keys);
  }

  constructor(private readonly keys: Map<string, SigningKey>) {}

  /**
   * A signer for one run: a private GnuPG home (gpg) or key file (ssh) in a temporary
   * directory, removed by `remove()`. Throws, without the key, when the key is missing,
   * of another type than the automation asks for, not granted to the entity (`allowedEntities`
   * is required), or unreadable.
   */
  async signer(
    name: string,
    type: 'gpg' | 'ssh',
    entityRef: string | undefined,
  ): Promise<CommitSigner> {
    const key = this.keys.get(name);
    if (!key)
      throw new Error(
        `signing key '${name}' is not defined in imageAutomation.signingKeys`,
      );
    if (key.type !== type)
      throw new Error(
        `signing key '${name}' is a ${key.type} key, but the automation asks for ${type}`,
      );
    // Fails closed: a key without allowedEntities signs for nobody.
    const who = entityRef ?? 'objects without an entity';
    if (!key.allowedEntities) {
      throw new Error(
        `signing key '${name}' is not granted to ${who}: imageAutomation.signingKeys.${name}.allowedEntities is not set, so no entity may use it`,
      );
    }
    const ref = entityRef?.toLocaleLowerCase('en-US');
    if (!ref || !key.allowedEntities.includes(ref)) {
      throw new Error(
        `signing key '${name}' is not granted to ${who} (imageAutomation.signingKeys.${name}.allowedEntities)`,
      );
    }
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'ia-sign-'));
    try {
      return type === 'gpg'
        ? await gpgSigner(dir, key)
        : await sshSigner(dir, key);
    } catch (error) {
      await fs.promises.rm(dir, { recursive: true, force: true });
      throw new Error(
        `unable to read signing key '${name}': ${
          (error as Error).message.split('\n')[0]
        }`,
      );
    }
  }
}

async function gpgSigner(dir: string, key: SigningKey): Promise<CommitSigner> {
  const home = path.join(dir, 'gnupg');
  await fs.promises.mkdir(home, { mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: home };
  const keyFile = path.join(dir, 'key.asc');
  await fs.promises.writeFile(keyFile, key.privateKey, { mode: 0o600 });
  const passFile = path.join(dir, 'passphrase');
  await fs.promises.writeFile(passFile, key.passphrase ?? '', { mode: 0o600 });
  await execFileAsync(
    'gpg',
    [
      '--batch',
      '--pinentry-mode',
      'loopback',
      '--passphrase-file',
      passFile,
      '--import',
      keyFile,
    ],
    { env },
  );
  await fs.promises.rm(keyFile);
  const { stdout } = await execFileAsync(
    'gpg',
    ['--batch', '--with-colons', '--list-secret-keys'],
    { env },
  );
  const fingerprint = /^fpr:+([0-9A-F]+):/m.exec(stdout)?.[1];
  if (!fingerprint) throw new Error('no secret key found in the armored key');
  // git runs this program to sign; the passphrase comes from a file, never a prompt or argv.
  const program = path.join(dir, 'gpg-sign');
  await fs.promises.writeFile(
    program,
    `#!/bin/sh\nexec gpg --batch --no-tty --pinentry-mode loopback --passphrase-file '${passFile}' "$@"\n`,
    { mode: 0o700 },
  );
  return {
    config: {
      'gpg.format': 'openpgp',
      'gpg.program': program,
      'user.signingkey': fingerprint,
    },
    env: { GNUPGHOME: home },
    async remove() {
      await execFileAsync('gpgconf', ['--kill', 'gpg-agent'], { env }).catch(
        () => undefined,
      );
      await fs.promises.rm(dir, { recursive: true, force: true });
    },
  };
}

async function sshSigner(dir: string, key: SigningKey): Promise<CommitSigner> {
  if (key.passphrase)
    throw new Error('passphrase-protected SSH signing keys are not supported');
  const keyFile = path.join(dir, 'identity');
  await fs.promises.writeFile(
    keyFile,
    key.privateKey.endsWith('\n') ? key.privateKey : `${key.privateKey}\n`,
    { mode: 0o600 },
  );
  await execFileAsync('ssh-keygen', ['-y', '-f', keyFile]);
  return {
    config: { 'gpg.format': 'ssh', 'user.signingkey': keyFile },
    env: {},
    remove: () => fs.promises.rm(dir, { recursive: true, force: true }),
  };
}
