import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { truncateMessage } from '../util/truncateMessage';

/** The most of git's stderr kept in memory. */
const MAX_STDERR_BYTES = 64 * 1024;

/** How git authenticates to a remote; never part of a URL or of argv. @internal */
export type GitAuth =
  | { type: 'basic'; username: string; password: string }
  | { type: 'bearer'; token: string };

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
    emptyHome = fs.mkdtempSync(path.join(os.tmpdir(), 'image-automation-git-home-'));
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
export function gitEnvironment(config: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
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
 * `.git/config`; redirects are not followed, so the header only goes to the remote's host.
 * @internal
 */
export function runGit(args: string[], options: RunGitOptions = {}): Promise<string> {
  const config: Record<string, string> = { ...options.config };
  if (options.auth) {
    const value =
      options.auth.type === 'basic'
        ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`
        : `Bearer ${options.auth.token}`;
    config['http.extraHeader'] = `Authorization: ${value}`;
  }
  const env = gitEnvironment(config, options.env);
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'], signal: options.signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', d => out.push(d));
    // git's stderr can be anything a remote sends (`remote:` lines): keep a bounded head (issue #13).
    let errBytes = 0;
    child.stderr.on('data', (d: Buffer) => {
      if (errBytes < MAX_STDERR_BYTES) err.push(d.subarray(0, MAX_STDERR_BYTES - errBytes));
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
      if (errBytes > MAX_STDERR_BYTES) kept = kept.slice(0, Math.max(0, kept.lastIndexOf('\n')));
      const stderr = redactUrls(kept);
      if (code === 0) {
        resolve(Buffer.concat(out).toString('utf8'));
        return;
      }
      const reason = signal === 'SIGKILL' && options.timeoutMs ? `timed out after ${options.timeoutMs}ms` : gitMessage(stderr);
      reject(new GitCommandError(truncateMessage(reason), truncateMessage(stderr), code));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** The meaningful lines of git's stderr (`fatal:`/`error:`), or all of it. */
function gitMessage(stderr: string): string {
  // Rejected or missing credentials make git fall back to prompting, which is disabled.
  const prompt = /could not read (Username|Password) for '([^']*)'/.exec(stderr);
  if (prompt || /Authentication failed for/.test(stderr)) {
    const url = prompt?.[2] ?? /Authentication failed for '([^']*)'/.exec(stderr)?.[1] ?? 'the remote';
    return `authentication failed for '${url}': the server rejected the credentials, or none were configured (HTTP 401)`;
  }
  const lines = stderr.split('\n').map(l => l.trim()).filter(Boolean);
  // A push a server-side hook declined: what the hook said is the reason (a protected branch, a
  // required review), so its `remote:` lines are kept (at most five).
  const declined = lines.some(l => l.includes('[remote rejected]'));
  const hookLines = declined ? lines.filter(l => /^remote: \S/.test(l) && !/^remote: error/.test(l)).slice(0, 5) : [];
  const important = lines.filter(
    l => /^(fatal|error|remote: error|!)/.test(l) || l.includes('[rejected]') || hookLines.includes(l),
  );
  return (important.length > 0 ? important : lines).join('; ') || 'git failed';
}
