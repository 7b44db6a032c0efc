import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { trackDirectory } from './processes';

const execFileAsync = promisify(execFile);

/** Options of {@link startGitServer}. @public */
export interface GitServerOptions {
  /** Users and passwords (or tokens) accepted with HTTP Basic. Default `{ git: 'secret' }`. */
  users?: Record<string, string>;
  /** Let anonymous clients fetch (pushes always need credentials). Default false. */
  anonymousRead?: boolean;
  /** Hold every push this long before handling it (to make concurrent writers collide). */
  pushDelayMs?: number;
  /**
   * Runs before each push is handled, given the repository's name (after `pushDelayMs`): another
   * writer that moves the branch there makes the push lose the race, as a real one would.
   */
  beforePush?: (repository: string) => Promise<void>;
}

/** One request the server answered (never a password). @public */
export interface GitRequest {
  method: string;
  path: string;
  service?: string;
  user?: string;
  status: number;
  /** The Authorization header was present but its credentials were wrong. */
  badCredentials?: boolean;
}

/** A running Git server over smart HTTP. @public */
export interface TestGitServer {
  /** `http://127.0.0.1:PORT` */
  baseUrl: string;
  /** The clone URL of a repository: `http://127.0.0.1:PORT/<name>.git`. */
  url(name: string): string;
  /** Where the bare repositories live. */
  root: string;
  /** Every request answered so far. */
  requests: GitRequest[];
  /**
   * Creates a bare repository with one commit holding `files` on `branch` (default `main`),
   * which is also HEAD. Returns the commit hash.
   */
  createRepository(
    name: string,
    files: Record<string, string>,
    options?: { branch?: string },
  ): Promise<string>;
  /** Runs git in a bare repository (`git -C <repo>.git …`), returning stdout. */
  git(name: string, args: string[]): Promise<string>;
  /** A file's content on a ref, or undefined if absent. */
  readFile(
    name: string,
    ref: string,
    file: string,
  ): Promise<string | undefined>;
  /** Commits `files` on top of `branch` directly in the bare repository (another writer). Returns the hash. */
  commitFiles(
    name: string,
    branch: string,
    files: Record<string, string>,
    message: string,
  ): Promise<string>;
  /** Push options received, per push, in order (from a pre-receive hook). */
  pushOptions(name: string): Promise<string[][]>;
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

async function git(
  args: string[],
  cwd?: string,
  env: Record<string, string> = {},
): Promise<string> {
  const { stdout } = await execFileAsync('git', args, {
    cwd,
    env: { ...process.env, ...GIT_ENV, HOME: os.tmpdir(), ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

function gitWithInput(
  args: string[],
  cwd: string,
  env: Record<string, string>,
  input: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd,
      env: { ...process.env, ...GIT_ENV, HOME: os.tmpdir(), ...env },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', d => (stderr += d));
    child.on('error', reject);
    child.on('close', code =>
      code === 0
        ? resolve()
        : reject(new Error(`git ${args.join(' ')}: ${stderr}`)),
    );
    child.stdin.end(input);
  });
}

const PRE_RECEIVE = `#!/bin/sh
# Records the push options of every push, one line per push, tab-separated.
i=0; line="push	"
while [ "$i" -lt "\${GIT_PUSH_OPTION_COUNT:-0}" ]; do
  eval "opt=\\$GIT_PUSH_OPTION_$i"
  line="$line$opt	"
  i=$((i+1))
done
printf '%s\\n' "$line" >> "$GIT_DIR/push-options.log"
cat > /dev/null
exit 0
`;

function parseBasic(
  header: string | undefined,
): { user: string; password: string } | undefined {
  const match = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0
    ? undefined
    : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Starts a Git server on 127.0.0.1: `git http-backend` (smart HTTP, protocol v2) behind a Node
 * HTTP server that requires HTTP Basic credentials (for pushes always, for fetches unless
 * `anonymousRead`). Bare repositories live in a temporary directory removed by `stop()`.
 * @public
 */
export async function startGitServer(
  options: GitServerOptions = {},
): Promise<TestGitServer> {
  const users = options.users ?? { git: 'secret' };
  const root = await fs.promises.mkdtemp(
    path.join(os.tmpdir(), 'testbed-git-'),
  );
  const removeDir = trackDirectory(root);
  const requests: GitRequest[] = [];
  const children = new Set<ReturnType<typeof spawn>>();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const service =
      url.searchParams.get('service') ??
      (/\/(git-[a-z-]+)$/.exec(url.pathname)?.[1] || undefined);
    const credentials = parseBasic(req.headers.authorization);
    const authenticated =
      credentials !== undefined &&
      users[credentials.user] === credentials.password;
    const needsAuth = service === 'git-receive-pack' || !options.anonymousRead;
    const log: GitRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      service,
      status: 0,
    };
    requests.push(log);
    if (authenticated) log.user = credentials!.user;
    if (needsAuth && !authenticated) {
      log.status = 401;
      log.badCredentials = credentials !== undefined;
      res.writeHead(401, {
        'WWW-Authenticate': 'Basic realm="testbed-git"',
        'Content-Type': 'text/plain',
      });
      res.end('authentication required\n');
      req.resume();
      return;
    }
    const { pushDelayMs, beforePush } = options;
    if (
      (pushDelayMs || beforePush) &&
      service === 'git-receive-pack' &&
      req.method === 'POST'
    ) {
      req.pause();
      const repository = /^\/(.+)\.git\//.exec(url.pathname)?.[1] ?? '';
      new Promise(resolve => setTimeout(resolve, pushDelayMs ?? 0))
        .then(() => beforePush?.(repository))
        .then(
          () => backend(req, res, url, log),
          (error: Error) => {
            log.status = 500;
            res.writeHead(500, { 'Content-Type': 'text/plain' });
            res.end(`beforePush failed: ${error.message}\n`);
          },
        );
    } else {
      backend(req, res, url, log);
    }
  });

  const backend = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    log: GitRequest,
  ) => {
    const child = spawn('git', ['http-backend'], {
      env: {
        ...process.env,
        ...GIT_ENV,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        GIT_HTTP_MAX_REQUEST_BUFFER: '100M',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ''),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: log.user ?? '',
        REMOTE_ADDR: '127.0.0.1',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.add(child);
    child.on('exit', () => children.delete(child));
    req.pipe(child.stdin);
    child.stdin.on('error', () => {});
    let head = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const text = head.toString('latin1');
      const end = text.search(/\r?\n\r?\n/);
      if (end < 0) return;
      const separator = /\r?\n\r?\n/.exec(text.slice(end))![0];
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of text.slice(0, end).split(/\r?\n/)) {
        const colon = line.indexOf(':');
        const key = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (key.toLowerCase() === 'status') status = parseInt(value, 10);
        else headers[key] = value;
      }
      log.status = status;
      res.writeHead(status, headers);
      headersDone = true;
      res.write(head.subarray(end + separator.length));
    });
    child.stdout.on('end', () => {
      if (!headersDone) {
        log.status = 500;
        res.writeHead(500);
      }
      res.end();
    });
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address() as { port: number };
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const repoDir = (name: string) => path.join(root, `${name}.git`);

  const commitFiles = async (
    name: string,
    branch: string,
    files: Record<string, string>,
    message: string,
  ) => {
    const work = await fs.promises.mkdtemp(
      path.join(os.tmpdir(), 'testbed-git-work-'),
    );
    try {
      const env = {
        GIT_DIR: repoDir(name),
        GIT_WORK_TREE: work,
        GIT_INDEX_FILE: path.join(work, '.index'),
      };
      const exists =
        (
          await git(['for-each-ref', `refs/heads/${branch}`], undefined, env)
        ).trim() !== '';
      if (exists)
        await git(['read-tree', `refs/heads/${branch}`], undefined, env);
      for (const [file, content] of Object.entries(files)) {
        const full = path.join(work, file);
        await fs.promises.mkdir(path.dirname(full), { recursive: true });
        await fs.promises.writeFile(full, content);
      }
      // One git process for every path (a repository of thousands of files is made quickly).
      await gitWithInput(
        ['update-index', '--add', '-z', '--stdin'],
        work,
        env,
        Object.keys(files)
          .map(f => `${f}\0`)
          .join(''),
      );
      const tree = (await git(['write-tree'], undefined, env)).trim();
      const parents = exists ? ['-p', `refs/heads/${branch}`] : [];
      const commit = (
        await git(
          ['commit-tree', tree, ...parents, '-m', message],
          undefined,
          env,
        )
      ).trim();
      await git(['update-ref', `refs/heads/${branch}`, commit], undefined, env);
      return commit;
    } finally {
      await fs.promises.rm(work, { recursive: true, force: true });
    }
  };

  return {
    baseUrl,
    root,
    requests,
    url: name => `${baseUrl}/${name}.git`,
    async createRepository(name, files, opts = {}) {
      const branch = opts.branch ?? 'main';
      await git([
        'init',
        '--quiet',
        '--bare',
        `--initial-branch=${branch}`,
        repoDir(name),
      ]);
      await git(['-C', repoDir(name), 'config', 'http.receivepack', 'true']);
      await git([
        '-C',
        repoDir(name),
        'config',
        'receive.advertisePushOptions',
        'true',
      ]);
      await git([
        '-C',
        repoDir(name),
        'config',
        'uploadpack.allowAnySHA1InWant',
        'true',
      ]);
      const hook = path.join(repoDir(name), 'hooks', 'pre-receive');
      await fs.promises.writeFile(hook, PRE_RECEIVE, { mode: 0o755 });
      return commitFiles(name, branch, files, 'Initial commit');
    },
    git: (name, args) => git(['-C', repoDir(name), ...args]),
    async readFile(name, ref, file) {
      try {
        return await git(['-C', repoDir(name), 'show', `${ref}:${file}`]);
      } catch {
        return undefined;
      }
    },
    commitFiles,
    async pushOptions(name) {
      const log = await fs.promises
        .readFile(path.join(repoDir(name), 'push-options.log'), 'utf8')
        .catch(() => '');
      return log
        .split('\n')
        .filter(line => line !== '')
        .map(line => line.split('\t').slice(1).filter(Boolean));
    },
    async stop() {
      for (const child of children) child.kill('SIGKILL');
      const closed = new Promise<void>(resolve =>
        server.close(() => resolve()),
      );
      server.closeAllConnections();
      await closed;
      await removeDir();
    },
  };
}
