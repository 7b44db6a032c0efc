import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './freePort';
import {
  spawnTracked,
  trackDirectory,
  TrackedProcess,
  waitUntil,
} from './processes';

const execFileAsync = promisify(execFile);

/** The system user the test bed's sshd serves Git as (login shell `git-shell`, no password). */
export const SSH_GIT_USER = 'ia-testbed-git';

const SSHD = '/usr/sbin/sshd';
const GIT_SHELL = ['/usr/bin/git-shell', '/usr/lib/git-core/git-shell'];

/** An SSH key pair made by `ssh-keygen` (OpenSSH format). @public */
export interface SshKeyPair {
  /** The private key file's content (encrypted when made with a passphrase). */
  privateKey: string;
  /** The `authorized_keys` / `known_hosts` form: `ssh-ed25519 AAAA… comment`. */
  publicKey: string;
}

/** A running OpenSSH server serving bare Git repositories. @public */
export interface TestSshGitServer {
  host: '127.0.0.1';
  port: number;
  /** `127.0.0.1:PORT` (the `hosts` entry a credential is bound to). */
  authority: string;
  /** The user of every URL. */
  user: string;
  /** Where the bare repositories live (absolute). */
  root: string;
  /** `ssh://USER@127.0.0.1:PORT/<root>/<name>.git` */
  sshUrl(name: string): string;
  /** The scp-like form git accepts with a port: `USER@[127.0.0.1:PORT]:/<root>/<name>.git` */
  scpUrl(name: string): string;
  /** A `known_hosts` line for this server's host key: `[127.0.0.1]:PORT ssh-ed25519 …`. */
  knownHosts: string;
  /** A key pair the server accepts (in `authorized_keys`). */
  clientKey: SshKeyPair;
  /** Makes a new key pair (`ed25519`), encrypted with `passphrase` if given; not authorized until {@link authorize}. */
  generateKey(options?: { passphrase?: string }): Promise<SshKeyPair>;
  /** Adds a public key to `authorized_keys`. */
  authorize(publicKey: string): Promise<void>;
  /** Creates a bare repository with one commit of `files` on `branch` (default `main`). Returns the commit hash. */
  createRepository(
    name: string,
    files: Record<string, string>,
    options?: { branch?: string },
  ): Promise<string>;
  /** Runs git in a bare repository, returning stdout. */
  git(name: string, args: string[]): Promise<string>;
  /** A file's content on a ref, or undefined if absent. */
  readFile(
    name: string,
    ref: string,
    file: string,
  ): Promise<string | undefined>;
  /** sshd's log so far (`LogLevel VERBOSE`). */
  log(): Promise<string>;
  /** How many TCP connections sshd accepted so far. */
  connections(): Promise<number>;
  /** How many logins (accepted public keys) sshd saw so far. */
  logins(): Promise<number>;
  stop(): Promise<void>;
}

const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Test Bed',
  GIT_AUTHOR_EMAIL: 'testbed@example.com',
  GIT_COMMITTER_NAME: 'Test Bed',
  GIT_COMMITTER_EMAIL: 'testbed@example.com',
};

async function run(
  file: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const { stdout } = await execFileAsync(file, args, {
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** git as root on repositories the Git user owns (`safe.directory`), with no user config. */
function git(
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  return run('git', ['-c', 'safe.directory=*', ...args], {
    ...GIT_ENV,
    HOME: os.tmpdir(),
    ...env,
  });
}

/**
 * The system user Git is served as, created once (idempotent): `git-shell` as its login shell and
 * no password (`usermod -p '*'`: an account `useradd` leaves locked is refused by sshd even for
 * key logins when PAM is off). Needs root.
 */
async function ensureGitUser(): Promise<void> {
  const shell = GIT_SHELL.find(p => fs.existsSync(p));
  if (!shell)
    throw new Error('git-shell is not installed (Debian package git)');
  try {
    await run('id', ['-u', SSH_GIT_USER]);
    return;
  } catch {
    // Not there yet.
  }
  if (process.getuid?.() !== 0) {
    throw new Error(
      `the SSH test bed needs the system user ${SSH_GIT_USER}: run once as root to create it`,
    );
  }
  try {
    await run('useradd', [
      '--system',
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      shell,
      SSH_GIT_USER,
    ]);
  } catch (error) {
    // Another worker created it meanwhile.
    await run('id', ['-u', SSH_GIT_USER]).catch(() => {
      throw error;
    });
  }
  await run('usermod', ['-p', '*', SSH_GIT_USER]);
}

async function keygen(
  file: string,
  options: { passphrase?: string; comment: string },
): Promise<SshKeyPair> {
  await run('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    options.passphrase ?? '',
    '-C',
    options.comment,
    '-f',
    file,
  ]);
  return {
    privateKey: await fs.promises.readFile(file, 'utf8'),
    publicKey: (await fs.promises.readFile(`${file}.pub`, 'utf8')).trim(),
  };
}

/**
 * Starts a second OpenSSH server (Debian `openssh-server`) on 127.0.0.1 with its own config, host
 * key and `authorized_keys`, serving bare repositories as {@link SSH_GIT_USER} through
 * `git-shell`; public key logins only. Everything lives in a temporary directory removed by
 * `stop()`. Needs root (the Git user is a system user, created on first use).
 * @public
 */
export async function startSshGitServer(): Promise<TestSshGitServer> {
  if (!fs.existsSync(SSHD))
    throw new Error(
      `${SSHD} is missing: install Debian's openssh-server (scripts/setup.sh does)`,
    );
  await ensureGitUser();
  // sshd refuses to start without its privilege separation directory.
  await fs.promises.mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'testbed-ssh-'));
  const removeDir = trackDirectory(dir);
  // sshd reads authorized_keys and git-shell the repositories as the Git user.
  await fs.promises.chmod(dir, 0o755);
  const root = path.join(dir, 'repos');
  await fs.promises.mkdir(root, { mode: 0o755 });
  const uid = Number((await run('id', ['-u', SSH_GIT_USER])).trim());
  const gid = Number((await run('id', ['-g', SSH_GIT_USER])).trim());
  await fs.promises.chown(root, uid, gid);

  const hostKeyFile = path.join(dir, 'ssh_host_ed25519_key');
  const hostKey = await keygen(hostKeyFile, { comment: 'testbed-host' });
  const clientKey = await keygen(path.join(dir, 'client_key'), {
    comment: 'testbed-client',
  });
  const authorizedKeys = path.join(dir, 'authorized_keys');
  await fs.promises.writeFile(authorizedKeys, `${clientKey.publicKey}\n`, {
    mode: 0o644,
  });
  const logFile = path.join(dir, 'sshd.log');

  let process_: TrackedProcess | undefined;
  let port = 0;
  for (let attempt = 0; attempt < 3 && !process_; attempt++) {
    port = await freePort();
    const config = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey "${hostKeyFile}"`,
      `PidFile "${path.join(dir, 'sshd.pid')}"`,
      `AuthorizedKeysFile "${authorizedKeys}"`,
      // The keys live under the world-writable temporary directory.
      'StrictModes no',
      'UsePAM no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin no',
      `AllowUsers ${SSH_GIT_USER}`,
      'AllowTcpForwarding no',
      'X11Forwarding no',
      'PermitTTY no',
      'LogLevel VERBOSE',
      '',
    ].join('\n');
    const configFile = path.join(dir, 'sshd_config');
    await fs.promises.writeFile(configFile, config);
    const started = spawnTracked(SSHD, ['-D', '-f', configFile, '-E', logFile]);
    try {
      await waitUntil(
        async () =>
          (
            await fs.promises.readFile(logFile, 'utf8').catch(() => '')
          ).includes(`Server listening on 127.0.0.1 port ${port}`),
        {
          timeoutMs: 10_000,
          what: 'sshd',
          exited: started.exited,
          describe: () =>
            `${started.output()}\n${
              fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''
            }`,
        },
      );
      process_ = started;
    } catch (error) {
      await started.stop();
      const log = fs.existsSync(logFile)
        ? fs.readFileSync(logFile, 'utf8')
        : '';
      if (!/Address already in use/.test(log) || attempt === 2) throw error;
      await fs.promises.rm(logFile, { force: true });
    }
  }
  const sshd = process_!;
  const repoDir = (name: string) => path.join(root, `${name}.git`);
  const readLog = () => fs.promises.readFile(logFile, 'utf8').catch(() => '');
  const count = async (pattern: RegExp) =>
    (await readLog()).split('\n').filter(l => pattern.test(l)).length;

  return {
    host: '127.0.0.1',
    port,
    authority: `127.0.0.1:${port}`,
    user: SSH_GIT_USER,
    root,
    sshUrl: name => `ssh://${SSH_GIT_USER}@127.0.0.1:${port}${repoDir(name)}`,
    scpUrl: name => `${SSH_GIT_USER}@[127.0.0.1:${port}]:${repoDir(name)}`,
    knownHosts: `[127.0.0.1]:${port} ${hostKey.publicKey}`,
    clientKey,
    async generateKey(options = {}) {
      const file = path.join(
        dir,
        `key-${Date.now()}-${Math.random().toString(36).slice(2)}`,
      );
      try {
        return await keygen(file, {
          passphrase: options.passphrase,
          comment: 'testbed-extra',
        });
      } finally {
        await fs.promises.rm(file, { force: true });
        await fs.promises.rm(`${file}.pub`, { force: true });
      }
    },
    async authorize(publicKey) {
      await fs.promises.appendFile(authorizedKeys, `${publicKey.trim()}\n`);
    },
    async createRepository(name, files, options = {}) {
      const branch = options.branch ?? 'main';
      const bare = repoDir(name);
      await git([
        'init',
        '--quiet',
        '--bare',
        `--initial-branch=${branch}`,
        bare,
      ]);
      const work = await fs.promises.mkdtemp(
        path.join(os.tmpdir(), 'testbed-ssh-work-'),
      );
      try {
        const env = {
          GIT_DIR: bare,
          GIT_WORK_TREE: work,
          GIT_INDEX_FILE: path.join(work, '.index'),
        };
        for (const [file, content] of Object.entries(files)) {
          const full = path.join(work, file);
          await fs.promises.mkdir(path.dirname(full), { recursive: true });
          await fs.promises.writeFile(full, content);
        }
        await git(['add', '--all'], env);
        const tree = (await git(['write-tree'], env)).trim();
        const commit = (
          await git(['commit-tree', tree, '-m', 'Initial commit'], env)
        ).trim();
        await git(['update-ref', `refs/heads/${branch}`, commit], env);
        await run('chown', ['-R', `${uid}:${gid}`, bare]);
        return commit;
      } finally {
        await fs.promises.rm(work, { recursive: true, force: true });
      }
    },
    git: (name, args) => git(['-C', repoDir(name), ...args]),
    async readFile(name, ref, file) {
      try {
        return await git(['-C', repoDir(name), 'show', `${ref}:${file}`]);
      } catch {
        return undefined;
      }
    },
    log: readLog,
    connections: () =>
      count(/Connection from 127\.0\.0\.1 port \d+ on 127\.0\.0\.1 port/),
    logins: () => count(/Accepted publickey for /),
    async stop() {
      await sshd.stop();
      await removeDir();
    },
  };
}
