import { spawn } from 'node:child_process';

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

/**
 * Runs the git CLI non-interactively. Credentials go in an `http.extraHeader` set through
 * `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n` (the environment of this one process), so they never
 * appear in argv, in the remote URL or in `.git/config`.
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
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    SSH_ASKPASS: '/bin/false',
    GIT_CONFIG_NOSYSTEM: '1',
    LC_ALL: 'C',
    ...options.env,
    GIT_CONFIG_COUNT: String(Object.keys(config).length),
  };
  Object.entries(config).forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'], signal: options.signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', d => out.push(d));
    child.stderr.on('data', d => err.push(d));
    const timer = options.timeoutMs
      ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs)
      : undefined;
    child.on('error', error => {
      clearTimeout(timer);
      reject(new GitCommandError(`git ${args[0]}: ${error.message}`, '', null));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = redactUrls(Buffer.concat(err).toString('utf8'));
      if (code === 0) {
        resolve(Buffer.concat(out).toString('utf8'));
        return;
      }
      const reason = signal === 'SIGKILL' && options.timeoutMs ? `timed out after ${options.timeoutMs}ms` : gitMessage(stderr);
      reject(new GitCommandError(reason, stderr, code));
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
  const important = lines.filter(l => /^(fatal|error|remote: error|!)/.test(l) || l.includes('[rejected]'));
  return (important.length > 0 ? important : lines).join('; ') || 'git failed';
}
