import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeCertificates, TestCertificates } from './certificates';
import { freePort } from './freePort';
import { request, TestbedResponse } from './httpRequest';
import { spawnTracked, trackDirectory, waitUntil } from './processes';

const execFileAsync = promisify(execFile);

/** A repository created on the test Gitea. @public */
export interface GiteaRepository {
  owner: string;
  name: string;
  /** `owner/name` */
  fullName: string;
  /** The web URL, `http://127.0.0.1:PORT/owner/name`: what a ResourceSetInputProvider's `spec.url` names. */
  url: string;
  /** `http://127.0.0.1:PORT/owner/name.git` */
  cloneUrl: string;
  defaultBranch: string;
}

/** A user of the test Gitea with an API token (scope `all`). @public */
export interface GiteaUser {
  username: string;
  password: string;
  token: string;
}

/** A pull request as created. @public */
export interface GiteaPullRequest {
  number: number;
  title: string;
  head: string;
  sha: string;
}

/** Options of {@link TestGitea.api}. @public */
export interface GiteaApiOptions {
  /** Token to send (default: the admin's); `null` for an anonymous request. */
  token?: string | null;
  /** Expected status; anything else throws with Gitea's answer. Default: any 2xx. */
  expect?: number;
}

/** A running Gitea (SQLite, HTTP on 127.0.0.1, no SSH, offline, no mailer). @public */
export interface TestGitea {
  /** `http://127.0.0.1:PORT` (`https://` when started with `tls`; no trailing slash) */
  url: string;
  /** The CA (and server certificate) when started with `tls`. */
  certificates?: TestCertificates;
  /** The temporary directory with `app.ini`, the SQLite database and the repositories (deleted by `stop`). */
  dataDir: string;
  /** `127.0.0.1:PORT` */
  host: string;
  version: string;
  admin: GiteaUser;
  /** The admin's API token (scope `all`). */
  adminToken: string;
  /** Calls `/api/v1<path>` with JSON; returns the parsed body (undefined when empty). */
  api<T = any>(
    method: string,
    apiPath: string,
    body?: unknown,
    options?: GiteaApiOptions,
  ): Promise<T>;
  /** The raw answer of `/api/v1<path>`, whatever its status. */
  rawApi(
    method: string,
    apiPath: string,
    body?: unknown,
    options?: GiteaApiOptions,
  ): Promise<TestbedResponse>;
  /** A new (non-admin) user with a token of scope `all`. */
  createUser(username: string): Promise<GiteaUser>;
  /** A repository with an initial commit on `main` (default owner: the admin; `as` creates it as that user). */
  createRepository(
    name: string,
    options?: { private?: boolean; as?: GiteaUser },
  ): Promise<GiteaRepository>;
  /** A branch from `from` (default the default branch) with one commit of its own (a file), so a pull request from it has changes. Returns the head commit. */
  createBranch(
    repo: GiteaRepository,
    name: string,
    options?: { from?: string; emptyCommit?: boolean },
  ): Promise<string>;
  /**
   * Many branches at once with one `git push` (each with a commit of its own on top of
   * `from`): thousands in seconds, where the API takes ~50 ms each. Returns the head commits by branch.
   */
  pushBranches(
    repo: GiteaRepository,
    names: readonly string[],
    options?: { from?: string },
  ): Promise<Record<string, string>>;
  /** A tag on `target` (default the default branch); annotated when `message` is given. Returns the commit it points at. */
  createTag(
    repo: GiteaRepository,
    name: string,
    options?: { target?: string; message?: string },
  ): Promise<string>;
  /** Many lightweight tags at once with one `git push`. */
  pushTags(
    repo: GiteaRepository,
    names: readonly string[],
    options?: { target?: string },
  ): Promise<void>;
  /** An open pull request from `head` into `base` (default the default branch), with labels (created when missing). */
  createPullRequest(
    repo: GiteaRepository,
    options: { head: string; base?: string; title?: string; labels?: string[] },
  ): Promise<GiteaPullRequest>;
  /** Adds labels (created when missing) to an issue or pull request. */
  addLabels(
    repo: GiteaRepository,
    number: number,
    labels: readonly string[],
  ): Promise<void>;
  /** Removes one label from an issue or pull request. */
  removeLabel(
    repo: GiteaRepository,
    number: number,
    label: string,
  ): Promise<void>;
  /** Closes a pull request. */
  closePullRequest(repo: GiteaRepository, number: number): Promise<void>;
  /** The server's log so far (for failing tests). */
  log(): string;
  /** Stops Gitea and deletes its data. */
  stop(): Promise<void>;
}

/** Options of {@link startGitea}. @public */
export interface StartGiteaOptions {
  /** `[api] MAX_RESPONSE_ITEMS` (Gitea's default 50: larger `limit`s are cut to it). */
  maxResponseItems?: number;
  /** Extra `app.ini` lines per section, e.g. `{ api: { DEFAULT_PAGING_NUM: '10' } }`. */
  ini?: Record<string, Record<string, string>>;
  /** Serve HTTPS with a certificate from a fresh CA (`certificates.ca`). */
  tls?: boolean;
}

let built: string | undefined;

/**
 * The directory of the Gitea build (binary, options, templates, public), building it once per
 * machine with `build-gitea.sh` when missing.
 * @internal
 */
export function giteaBuild(): string {
  built ??= execFileSync(path.join(__dirname, 'build-gitea.sh'), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return built;
}

function ini(sections: Record<string, Record<string, string>>): string {
  return Object.entries(sections)
    .map(([name, keys]) =>
      [
        name ? `[${name}]` : '',
        ...Object.entries(keys).map(([k, v]) => `${k} = ${v}`),
      ]
        .filter(Boolean)
        .join('\n'),
    )
    .join('\n\n');
}

const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Test Bed',
  GIT_AUTHOR_EMAIL: 'testbed@example.com',
  GIT_COMMITTER_NAME: 'Test Bed',
  GIT_COMMITTER_EMAIL: 'testbed@example.com',
};

/**
 * Starts Gitea (built from the Go module proxy by `build-gitea.sh`, cached in
 * `~/.cache/image-automation`) on 127.0.0.1 with SQLite in a temporary directory, an admin user
 * and its API token. Ready when returned (about 3 s); stopped by `stop()` or when the process exits.
 * @public
 */
export async function startGitea(
  options: StartGiteaOptions = {},
): Promise<TestGitea> {
  const build = giteaBuild();
  const binary = path.join(build, 'gitea');
  const dir = await fs.promises.mkdtemp(
    path.join(os.tmpdir(), 'testbed-gitea-'),
  );
  const removeDir = trackDirectory(dir);
  const port = await freePort();
  const certificates = options.tls
    ? await makeCertificates(path.join(dir, 'certs'))
    : undefined;
  const url = `${certificates ? 'https' : 'http'}://127.0.0.1:${port}`;
  const config = path.join(dir, 'app.ini');
  const runUser = os.userInfo().username;
  const sections: Record<string, Record<string, string>> = {
    '': {
      APP_NAME: 'Image Automation test bed',
      RUN_MODE: 'prod',
      RUN_USER: runUser,
      WORK_PATH: dir,
      // The CI machines run as root; Gitea refuses that unless told.
      I_AM_BEING_UNSAFE_RUNNING_AS_ROOT: 'true',
    },
    server: {
      PROTOCOL: certificates ? 'https' : 'http',
      ...(certificates
        ? {
            CERT_FILE: certificates.serverCertFile,
            KEY_FILE: certificates.serverKeyFile,
          }
        : {}),
      HTTP_ADDR: '127.0.0.1',
      HTTP_PORT: String(port),
      DOMAIN: '127.0.0.1',
      ROOT_URL: `${url}/`,
      LOCAL_ROOT_URL: `${url}/`,
      DISABLE_SSH: 'true',
      START_SSH_SERVER: 'false',
      OFFLINE_MODE: 'true',
      LFS_START_SERVER: 'false',
      STATIC_ROOT_PATH: build,
      APP_DATA_PATH: path.join(dir, 'data'),
    },
    database: {
      DB_TYPE: 'sqlite3',
      PATH: path.join(dir, 'gitea.db'),
      SQLITE_JOURNAL_MODE: 'WAL',
    },
    repository: {
      ROOT: path.join(dir, 'repositories'),
      DEFAULT_BRANCH: 'main',
    },
    security: {
      INSTALL_LOCK: 'true',
      SECRET_KEY: crypto.randomBytes(32).toString('hex'),
      INTERNAL_TOKEN: crypto.randomBytes(48).toString('hex'),
      PASSWORD_HASH_ALGO: 'pbkdf2_hi',
      MIN_PASSWORD_LENGTH: '8',
      PASSWORD_COMPLEXITY: 'off',
    },
    service: {
      DISABLE_REGISTRATION: 'true',
      REQUIRE_SIGNIN_VIEW: 'false',
      ENABLE_NOTIFY_MAIL: 'false',
    },
    mailer: { ENABLED: 'false' },
    oauth2: { ENABLED: 'false' },
    actions: { ENABLED: 'false' },
    cron: { ENABLED: 'false' },
    'cron.update_checker': { ENABLED: 'false' },
    indexer: { ISSUE_INDEXER_TYPE: 'db', REPO_INDEXER_ENABLED: 'false' },
    session: { PROVIDER: 'memory' },
    cache: { ADAPTER: 'memory' },
    queue: { TYPE: 'channel' },
    log: { MODE: 'console', LEVEL: 'warn', ROOT_PATH: path.join(dir, 'log') },
    api: { MAX_RESPONSE_ITEMS: String(options.maxResponseItems ?? 50) },
    picture: { DISABLE_GRAVATAR: 'true', ENABLE_FEDERATED_AVATAR: 'false' },
    other: { SHOW_FOOTER_VERSION: 'false' },
  };
  for (const [name, keys] of Object.entries(options.ini ?? {})) {
    sections[name] = { ...(sections[name] ?? {}), ...keys };
  }
  await fs.promises.writeFile(config, `${ini(sections)}\n`, { mode: 0o600 });
  const env = {
    ...process.env,
    ...GIT_ENV,
    HOME: dir,
    GITEA_WORK_DIR: dir,
    GITEA_CUSTOM: path.join(dir, 'custom'),
    GITEA_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT: 'true',
    ...(certificates ? { GIT_SSL_CAINFO: certificates.caFile } : {}),
  };
  const ca = certificates?.ca;
  const cli = async (args: string[]) => {
    try {
      await execFileAsync(
        binary,
        [...args, '--config', config, '--work-path', dir],
        { env, cwd: dir, timeout: 120_000 },
      );
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      throw new Error(
        `gitea ${args[0]} ${args[1] ?? ''} failed: ${e.message}\n${
          e.stdout ?? ''
        }${e.stderr ?? ''}`,
      );
    }
  };
  await cli(['migrate']);
  const admin = {
    username: 'testbed-admin',
    password: `pw-${crypto.randomBytes(12).toString('hex')}`,
    token: '',
  };
  await cli([
    'admin',
    'user',
    'create',
    '--admin',
    '--username',
    admin.username,
    '--password',
    admin.password,
    '--email',
    'admin@testbed.invalid',
    '--must-change-password=false',
  ]);

  const server = spawnTracked(
    binary,
    ['web', '--config', config, '--work-path', dir],
    { env, cwd: dir },
  );
  const stop = async () => {
    await server.stop('SIGTERM', 10_000);
    await removeDir();
  };
  try {
    await waitUntil(
      async () =>
        (
          await request(`${url}/api/healthz`, { timeoutMs: 2000, ca })
        ).status === 200,
      {
        timeoutMs: 60_000,
        intervalMs: 100,
        what: `Gitea on ${url}`,
        describe: server.output,
        exited: server.exited,
      },
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const basic = (user: { username: string; password: string }) =>
    `Basic ${Buffer.from(`${user.username}:${user.password}`).toString(
      'base64',
    )}`;

  const rawApi = async (
    method: string,
    apiPath: string,
    body?: unknown,
    opts: GiteaApiOptions & { authorization?: string } = {},
  ) => {
    const token = opts.token === undefined ? admin.token : opts.token;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.authorization) headers.authorization = opts.authorization;
    else if (token) headers.authorization = `token ${token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    return request(`${url}/api/v1${apiPath}`, {
      method,
      headers,
      body: payload,
      timeoutMs: 60_000,
      ca,
    });
  };
  const api = async <T = any>(
    method: string,
    apiPath: string,
    body?: unknown,
    opts: GiteaApiOptions & { authorization?: string } = {},
  ) => {
    const res = await rawApi(method, apiPath, body, opts);
    const ok =
      opts.expect !== undefined
        ? res.status === opts.expect
        : res.status >= 200 && res.status < 300;
    if (!ok) {
      throw new Error(
        `Gitea ${method} /api/v1${apiPath}: HTTP ${res.status}: ${res.body
          .toString('utf8')
          .slice(0, 500)}`,
      );
    }
    const text = res.body.toString('utf8');
    return (text ? JSON.parse(text) : undefined) as T;
  };

  const newToken = async (user: { username: string; password: string }) =>
    (
      await api<{ sha1: string }>(
        'POST',
        `/users/${encodeURIComponent(user.username)}/tokens`,
        {
          name: `testbed-${crypto.randomBytes(4).toString('hex')}`,
          scopes: ['all'],
        },
        { authorization: basic(user) },
      )
    ).sha1;
  admin.token = await newToken(admin);

  const version = (await api<{ version: string }>('GET', '/version')).version;
  const repoPath = (repo: GiteaRepository) =>
    `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.name)}`;
  const users = new Map<string, GiteaUser>([[admin.username, admin]]);
  const tokenOf = (repo: GiteaRepository) =>
    users.get(repo.owner)?.token ?? admin.token;

  const labelIds = async (
    repo: GiteaRepository,
    names: readonly string[],
  ): Promise<number[]> => {
    if (names.length === 0) return [];
    const existing = new Map<string, number>();
    for (let page = 1; ; page++) {
      const list = await api<Array<{ id: number; name: string }>>(
        'GET',
        `${repoPath(repo)}/labels?page=${page}&limit=50`,
      );
      for (const l of list) existing.set(l.name, l.id);
      if (list.length < 50) break;
    }
    const ids: number[] = [];
    for (const name of names) {
      let id = existing.get(name);
      if (id === undefined) {
        id = (
          await api<{ id: number }>('POST', `${repoPath(repo)}/labels`, {
            name,
            color: '#00aabb',
          })
        ).id;
        existing.set(name, id);
      }
      ids.push(id);
    }
    return ids;
  };

  /** A bare scratch clone of `repo` to build commits in and push from. */
  const withClone = async <T>(
    repo: GiteaRepository,
    fn: (
      git: (args: string[], input?: string) => Promise<string>,
    ) => Promise<T>,
  ) => {
    const work = await fs.promises.mkdtemp(path.join(dir, 'push-'));
    const owner = users.get(repo.owner) ?? admin;
    const remote = new URL(repo.cloneUrl);
    remote.username = owner.username;
    remote.password = owner.token;
    const git = async (args: string[], input?: string) => {
      const child = execFileAsync('git', args, {
        cwd: work,
        env: { ...env, HOME: work },
        maxBuffer: 64 * 1024 * 1024,
      });
      if (input !== undefined) {
        child.child.stdin?.end(input);
      }
      return (await child).stdout.trim();
    };
    try {
      await git(['init', '-q', '--bare', '.']);
      await git([
        'fetch',
        '-q',
        remote.toString(),
        '+refs/heads/*:refs/heads/*',
      ]);
      await git(['remote', 'add', 'origin', remote.toString()]);
      return await fn(git);
    } finally {
      await fs.promises.rm(work, { recursive: true, force: true });
    }
  };

  const gitea: TestGitea = {
    url,
    certificates,
    dataDir: dir,
    host: `127.0.0.1:${port}`,
    version,
    admin,
    adminToken: admin.token,
    api,
    rawApi,
    async createUser(username) {
      const password = `pw-${crypto.randomBytes(12).toString('hex')}`;
      await api('POST', '/admin/users', {
        username,
        password,
        email: `${username}@testbed.invalid`,
        must_change_password: false,
      });
      const user = { username, password, token: '' };
      user.token = await newToken(user);
      users.set(username, user);
      return user;
    },
    async createRepository(name, opts = {}) {
      const repo = await api<{
        owner: { login: string };
        name: string;
        full_name: string;
        html_url: string;
        clone_url: string;
        default_branch: string;
      }>(
        'POST',
        '/user/repos',
        {
          name,
          private: opts.private ?? false,
          auto_init: true,
          readme: 'Default',
          default_branch: 'main',
        },
        { token: opts.as?.token },
      );
      return {
        owner: repo.owner.login,
        name: repo.name,
        fullName: repo.full_name,
        url: repo.html_url.replace(/\/$/, ''),
        cloneUrl: repo.clone_url,
        defaultBranch: repo.default_branch,
      };
    },
    async createBranch(repo, name, opts = {}) {
      const from = opts.from ?? repo.defaultBranch;
      if (opts.emptyCommit) {
        await api(
          'POST',
          `${repoPath(repo)}/branches`,
          { new_branch_name: name, old_ref_name: from },
          { token: tokenOf(repo) },
        );
      } else {
        await api(
          'POST',
          `${repoPath(repo)}/contents/${encodeURIComponent(
            `changes/${name.replace(/\//g, '_')}.txt`,
          )}`,
          {
            branch: from,
            new_branch: name,
            message: `change on ${name}`,
            content: Buffer.from(`${name}\n`).toString('base64'),
          },
          { token: tokenOf(repo) },
        );
      }
      return (
        await api<{ commit: { id: string } }>(
          'GET',
          `${repoPath(repo)}/branches/${encodeURIComponent(name)}`,
          undefined,
          { token: tokenOf(repo) },
        )
      ).commit.id;
    },
    async pushBranches(repo, names, opts = {}) {
      const from = opts.from ?? repo.defaultBranch;
      return withClone(repo, async git => {
        const base = await git(['rev-parse', `refs/heads/${from}`]);
        // One commit of its own per branch (a file named after it), all written by one fast-import.
        const data = (text: string) =>
          `data ${Buffer.byteLength(text)}\n${text}\n`;
        const stream = names
          .map(
            name =>
              `commit refs/heads/${name}\ncommitter Test Bed <testbed@example.com> 1700000000 +0000\n${data(
                `change on ${name}`,
              )}` +
              `from ${base}\nM 100644 inline changes/${name.replace(
                /\//g,
                '_',
              )}.txt\n${data(`${name}\n`)}`,
          )
          .join('\n');
        await git(['fast-import', '--quiet'], `${stream}\n`);
        await git([
          'push',
          '-q',
          'origin',
          ...names.map(n => `refs/heads/${n}:refs/heads/${n}`),
        ]);
        const heads: Record<string, string> = {};
        for (const line of (
          await git([
            'for-each-ref',
            '--format=%(refname:lstrip=2) %(objectname)',
            'refs/heads',
          ])
        ).split('\n')) {
          const [name, sha] = line.split(' ');
          if (names.includes(name)) heads[name] = sha;
        }
        return heads;
      });
    },
    async createTag(repo, name, opts = {}) {
      const tag = await api<{ commit: { sha: string } }>(
        'POST',
        `${repoPath(repo)}/tags`,
        {
          tag_name: name,
          target: opts.target ?? repo.defaultBranch,
          ...(opts.message ? { message: opts.message } : {}),
        },
        { token: tokenOf(repo) },
      );
      return tag.commit.sha;
    },
    async pushTags(repo, names, opts = {}) {
      await withClone(repo, async git => {
        const target = await git([
          'rev-parse',
          opts.target ?? `refs/heads/${repo.defaultBranch}`,
        ]);
        await git(
          ['update-ref', '--stdin'],
          `${names.map(n => `update refs/tags/${n} ${target}`).join('\n')}\n`,
        );
        await git([
          'push',
          '-q',
          'origin',
          ...names.map(n => `refs/tags/${n}:refs/tags/${n}`),
        ]);
      });
    },
    async createPullRequest(repo, opts) {
      const labels = await labelIds(repo, opts.labels ?? []);
      const pr = await api<{
        number: number;
        title: string;
        head: { ref: string; sha: string };
      }>(
        'POST',
        `${repoPath(repo)}/pulls`,
        {
          head: opts.head,
          base: opts.base ?? repo.defaultBranch,
          title: opts.title ?? `Change ${opts.head}`,
          labels,
        },
        { token: tokenOf(repo) },
      );
      return {
        number: pr.number,
        title: pr.title,
        head: pr.head.ref,
        sha: pr.head.sha,
      };
    },
    async addLabels(repo, number, labels) {
      const ids = await labelIds(repo, labels);
      await api('POST', `${repoPath(repo)}/issues/${number}/labels`, {
        labels: ids,
      });
    },
    async removeLabel(repo, number, label) {
      const [id] = await labelIds(repo, [label]);
      await api(
        'DELETE',
        `${repoPath(repo)}/issues/${number}/labels/${id}`,
        undefined,
        { expect: 204 },
      );
    },
    async closePullRequest(repo, number) {
      await api('PATCH', `${repoPath(repo)}/pulls/${number}`, {
        state: 'closed',
      });
    },
    log: server.output,
    stop,
  };
  return gitea;
}
