import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { truncateMessage } from '../util/truncateMessage';

/** The most of git's stderr kept in memory. */
const MAX_STDERR_BYTES = 64 * 1024;

/**
 * How git authenticates to a remote; never part of a URL or of argv. `ssh` is a deploy key (an
 * `sshKey` named credential) for an `ssh://` or scp-like remote: `host` (`host[:port]`) and
 * `credential` (its name) are only for messages.
 * @internal
 */
export type GitAuth =
  | { type: 'basic'; username: string; password: string }
  | { type: 'bearer'; token: string }
  | SshGitAuth;

/** A deploy key for Git over SSH. @internal */
export interface SshGitAuth {
  type: 'ssh';
  credential: string;
  host: string;
  /** OpenSSH or PEM private key; a secret. */
  privateKey: string;
  /** A secret; never in argv or the environment (an askpass helper reads it from a 0600 file). */
  passphrase?: string;
  /** `known_hosts` lines: the only host keys accepted (no trust on first use). */
  knownHosts: string;
}

/** A git command that failed, with git's own message (credentials never appear in it). @internal */
export class GitCommandError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(message);
    this.name = 'GitCommandError';
  }
}

/** Options of {@link runGit}. @internal */
export interface RunGitOptions {
  cwd?: string;
  auth?: GitAuth;
  /** Extra `-c` style settings, passed through the environment. */
  config?: Record<string, string>;
  env?: Record<string, string>;
  input?: string;
  /** Kills git after this long. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Strips `user:password@` from URLs in text that may end up in a status, an event or a log. */
export function redactUrls(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1');
}

/** Variables passed from this process to git, besides the ones {@link gitEnvironment} sets: no `GIT_*`. */
const INHERITED = [
  'PATH',
  'TMPDIR',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
];

/**
 * Settings every git run gets, on top of no system or global config: only HTTP(S) transports
 * (no `file://`, `ext::`, ssh), no redirects (the Authorization header would follow them to
 * another host), no credential helpers, no hooks.
 */
const HARDENING: Record<string, string> = {
  'protocol.allow': 'never',
  'protocol.https.allow': 'always',
  'protocol.http.allow': 'always',
  'http.followRedirects': 'false',
  'credential.helper': '',
  'core.hooksPath': '/dev/null',
  'core.fsmonitor': 'false',
  'submodule.recurse': 'false',
};

let emptyHome: string | undefined;

/** An empty directory used as git's HOME, so no `~/.gitconfig`, `~/.netrc` or `~/.ssh` is read. */
function gitHome(): string {
  if (!emptyHome || !fs.existsSync(emptyHome)) {
    emptyHome = fs.mkdtempSync(
      path.join(os.tmpdir(), 'image-automation-git-home-'),
    );
  }
  return emptyHome;
}

/**
 * The environment git runs with: built from nothing (no inherited `GIT_*` variable can redirect
 * git to another config, directory, ssh command or askpass program), with an empty HOME, no
 * system config (`GIT_CONFIG_NOSYSTEM`), no global config (`GIT_CONFIG_GLOBAL=/dev/null`) and
 * no prompts. `config` goes in through `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`.
 * @internal
 */
export function gitEnvironment(
  config: Record<string, string>,
  extra: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  const home = gitHome();
  Object.assign(env, {
    HOME: home,
    XDG_CONFIG_HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    SSH_ASKPASS: '/bin/false',
    LC_ALL: 'C',
    ...extra,
  });
  const all = { ...HARDENING, ...config };
  const keys = Object.keys(all);
  env.GIT_CONFIG_COUNT = String(keys.length);
  keys.forEach((key, i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = all[key];
  });
  return env;
}

/**
 * Runs the git CLI non-interactively, in a clean environment ({@link gitEnvironment}).
 * Credentials go in an `http.extraHeader` set through `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`
 * (the environment of this one process), so they never appear in argv, in the remote URL or in
 * `.git/config`; redirects are not followed, so the header only goes to the remote's host. An
 * `ssh` auth (a deploy key) runs the command over ssh only, with that key and those host keys
 * (see {@link prepareSsh}); ssh's failures become messages naming the host and the credential.
 * @internal
 */
export async function runGit(
  args: string[],
  options: RunGitOptions = {},
): Promise<string> {
  if (options.auth?.type !== 'ssh') return runGitProcess(args, options);
  const auth = options.auth;
  const ssh = await prepareSsh(auth);
  try {
    return await runGitProcess(
      args,
      { ...options, auth: undefined, env: { ...options.env, ...ssh.env } },
      stderr => sshMessage(stderr, auth),
    );
  } catch (error) {
    // ssh says only "Permission denied" when it could not decrypt the key: find out which it was.
    if (
      error instanceof GitCommandError &&
      /Permission denied \(/.test(error.stderr) &&
      !(await ssh.keyLoads())
    ) {
      const where = `imageAutomation.credentials.${auth.credential}`;
      throw new GitCommandError(
        `ssh could not load the private key of credential '${
          auth.credential
        }' for ${auth.host}: ${
          auth.passphrase
            ? 'the passphrase is wrong'
            : 'the key is encrypted and no passphrase is configured'
        }, or the key is not valid (${where}.privateKey, ${where}.passphrase)`,
        error.stderr,
        error.exitCode,
      );
    }
    throw error;
  } finally {
    await ssh.remove();
  }
}

function runGitProcess(
  args: string[],
  options: RunGitOptions,
  explain?: (stderr: string) => string | undefined,
): Promise<string> {
  const config: Record<string, string> = { ...options.config };
  if (options.auth && options.auth.type !== 'ssh') {
    const value =
      options.auth.type === 'basic'
        ? `Basic ${Buffer.from(
            `${options.auth.username}:${options.auth.password}`,
          ).toString('base64')}`
        : `Bearer ${options.auth.token}`;
    config['http.extraHeader'] = `Authorization: ${value}`;
  }
  const env = gitEnvironment(config, options.env);
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: options.cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: options.signal,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', d => out.push(d));
    // git's stderr can be anything a remote sends (`remote:` lines): keep a bounded head (issue #13).
    let errBytes = 0;
    child.stderr.on('data', (d: Buffer) => {
      if (errBytes < MAX_STDERR_BYTES)
        err.push(d.subarray(0, MAX_STDERR_BYTES - errBytes));
      errBytes += d.length;
    });
    const timer = options.timeoutMs
      ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs)
      : undefined;
    child.on('error', error => {
      clearTimeout(timer);
      reject(new GitCommandError(`git ${args[0]}: ${error.message}`, '', null));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let kept = Buffer.concat(err).toString('utf8');
      // A cut line could hold half a URL the redaction would no longer recognise: drop it.
      if (errBytes > MAX_STDERR_BYTES)
        kept = kept.slice(0, Math.max(0, kept.lastIndexOf('\n')));
      const stderr = redactUrls(kept);
      if (code === 0) {
        resolve(Buffer.concat(out).toString('utf8'));
        return;
      }
      const reason =
        signal === 'SIGKILL' && options.timeoutMs
          ? `timed out after ${options.timeoutMs}ms`
          : explain?.(stderr) ?? gitMessage(stderr);
      reject(
        new GitCommandError(
          truncateMessage(reason),
          truncateMessage(stderr),
          code,
        ),
      );
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** The meaningful lines of git's stderr (`fatal:`/`error:`), or all of it. */
function gitMessage(stderr: string): string {
  // Rejected or missing credentials make git fall back to prompting, which is disabled.
  const prompt = /could not read (Username|Password) for '([^']*)'/.exec(
    stderr,
  );
  if (prompt || /Authentication failed for/.test(stderr)) {
    const url =
      prompt?.[2] ??
      /Authentication failed for '([^']*)'/.exec(stderr)?.[1] ??
      'the remote';
    return `authentication failed for '${url}': the server rejected the credentials, or none were configured (HTTP 401)`;
  }
  const lines = stderr
    .split('\n')
    .map(l => l.trim())
    .filter(Boolean);
  // A push a server-side hook declined: what the hook said is the reason (a protected branch, a
  // required review), so its `remote:` lines are kept (at most five).
  const declined = lines.some(l => l.includes('[remote rejected]'));
  const hookLines = declined
    ? lines
        .filter(l => /^remote: \S/.test(l) && !/^remote: error/.test(l))
        .slice(0, 5)
    : [];
  const important = lines.filter(
    l =>
      /^(fatal|error|remote: error|!)/.test(l) ||
      l.includes('[rejected]') ||
      hookLines.includes(l),
  );
  return (important.length > 0 ? important : lines).join('; ') || 'git failed';
}

/** Quotes a word for `sh` (git runs `GIT_SSH_COMMAND` through the shell). */
function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Private directories holding keys of running ssh commands: removed on exit if a run is cut short. */
const liveSshDirs = new Set<string>();
let exitHookInstalled = false;

function withNewline(text: string): string {
  const normalised = text.replace(/\r\n/g, '\n');
  return normalised.endsWith('\n') ? normalised : `${normalised}\n`;
}

/**
 * Writes a deploy key for one git command into a new private directory (0700; the key, the
 * `known_hosts` file and the passphrase 0600) and returns the environment that makes git use
 * only ssh, with only that key and only those host keys: `-F /dev/null` (no ssh config),
 * `IdentitiesOnly` and no agent, `StrictHostKeyChecking=yes` against the credential's
 * `known_hosts` and nothing else (no global file, nothing learnt or updated), public key
 * authentication only. `GIT_ALLOW_PROTOCOL=ssh` refuses every other transport (`file://`,
 * `ext::`, http) for this command. A passphrase reaches ssh through an askpass helper that reads
 * it from its file, never through argv or the environment.
 */
async function prepareSsh(auth: SshGitAuth): Promise<{
  env: Record<string, string>;
  remove: () => Promise<void>;
  keyLoads: () => Promise<boolean>;
}> {
  const dir = await fs.promises.mkdtemp(
    path.join(os.tmpdir(), 'image-automation-ssh-'),
  );
  liveSshDirs.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const d of liveSshDirs)
        fs.rmSync(d, { recursive: true, force: true });
    });
  }
  const remove = async () => {
    await fs.promises.rm(dir, { recursive: true, force: true });
    liveSshDirs.delete(dir);
  };
  try {
    await fs.promises.chmod(dir, 0o700);
    const key = path.join(dir, 'identity');
    const knownHosts = path.join(dir, 'known_hosts');
    await fs.promises.writeFile(key, withNewline(auth.privateKey), {
      mode: 0o600,
    });
    await fs.promises.writeFile(knownHosts, withNewline(auth.knownHosts), {
      mode: 0o600,
    });
    const options = [
      '-F',
      '/dev/null',
      '-i',
      key,
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'IdentityAgent=none',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile="${knownHosts}"`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'UpdateHostKeys=no',
      '-o',
      'CheckHostIP=no',
      '-o',
      'PreferredAuthentications=publickey',
      '-o',
      'PasswordAuthentication=no',
      '-o',
      'KbdInteractiveAuthentication=no',
      '-o',
      'ForwardAgent=no',
      '-o',
      'ClearAllForwardings=yes',
      '-o',
      'PermitLocalCommand=no',
      '-o',
      'ProxyCommand=none',
      '-o',
      'ConnectTimeout=30',
      // BatchMode also stops ssh asking for a key's passphrase: a protected key runs without it,
      // with askpass forced (and every other prompt disabled above).
      '-o',
      `BatchMode=${auth.passphrase ? 'no' : 'yes'}`,
      '-o',
      'NumberOfPasswordPrompts=1',
    ];
    const env: Record<string, string> = {
      GIT_SSH_COMMAND: ['ssh', ...options].map(shellQuote).join(' '),
      GIT_SSH_VARIANT: 'ssh',
      GIT_ALLOW_PROTOCOL: 'ssh',
    };
    if (auth.passphrase) {
      const secret = path.join(dir, 'passphrase');
      const askpass = path.join(dir, 'askpass');
      await fs.promises.writeFile(secret, `${auth.passphrase}\n`, {
        mode: 0o600,
      });
      await fs.promises.writeFile(
        askpass,
        `#!/bin/sh\nexec cat ${shellQuote(secret)}\n`,
        { mode: 0o700 },
      );
      env.SSH_ASKPASS = askpass;
      env.SSH_ASKPASS_REQUIRE = 'force';
    }
    // Whether the key decrypts (`ssh-keygen -y`, its passphrase from the same askpass helper; an
    // unprotected key gets /bin/false's empty answer): run only after ssh was denied.
    const keyLoads = () =>
      new Promise<boolean>(resolve => {
        const child = spawn('ssh-keygen', ['-y', '-f', key], {
          env: gitEnvironment(
            {},
            { SSH_ASKPASS: '/bin/false', SSH_ASKPASS_REQUIRE: 'force', ...env },
          ),
          stdio: ['ignore', 'ignore', 'ignore'],
        });
        child.on('error', () => resolve(true));
        child.on('close', code => resolve(code === 0));
      });
    return { env, remove, keyLoads };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** What ssh's own errors mean, naming the host and the credential; undefined when git's message says it. */
function sshMessage(stderr: string, auth: SshGitAuth): string | undefined {
  const where = `imageAutomation.credentials.${auth.credential}`;
  if (
    /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key is known for|Host key for .* has changed/.test(
      stderr,
    )
  ) {
    return `ssh host key verification failed for ${auth.host}: the server's host key is not in the knownHosts of credential '${auth.credential}' (${where}.knownHosts); host keys are never trusted on first use`;
  }
  if (
    /incorrect passphrase|Load key .*: (invalid format|error in libcrypto|bad permissions)/.test(
      stderr,
    )
  ) {
    return `ssh could not load the private key of credential '${auth.credential}' for ${auth.host}: invalid key or wrong passphrase (${where}.privateKey, ${where}.passphrase)`;
  }
  const denied = /Permission denied \(([^)]*)\)/.exec(stderr);
  if (denied) {
    return `ssh authentication to ${auth.host} failed: Permission denied (${denied[1]}): the server did not accept the key of credential '${auth.credential}' (${where}.privateKey)`;
  }
  const ssh = stderr
    .split('\n')
    .map(l => l.trim())
    .filter(
      l =>
        /^ssh: /.test(l) ||
        /^kex_exchange_identification|Connection (closed|reset|timed out)/.test(
          l,
        ),
    );
  if (ssh.length > 0)
    return `ssh to ${auth.host} failed: ${ssh.slice(0, 3).join('; ')}`;
  return undefined;
}
