import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  formatRevision,
  GitReference,
  resolveRef,
  ResolvedRef,
} from './gitRef';
import { GitAuth, GitCommandError, redactUrls, runGit } from './runGit';
import { CommitSigner } from './commitSigner';
import { commitWithoutName } from './namelessCommit';
import {
  checkBranchName,
  checkPushOption,
  checkPushRefspec,
} from './refFormat';

/** Where and how to reach a remote repository. @internal */
export interface GitRemote {
  url: string;
  auth?: GitAuth;
  timeoutMs: number;
}

/**
 * A remote for a GitRepository URL. Credentials written into the URL (`https://user:token@…`)
 * are taken out of it and used as Basic credentials when no others are configured, so they
 * never reach git's command line, `.git/config` or a message.
 * @internal
 */
export function gitRemote(
  url: string,
  auth: GitAuth | undefined,
  timeoutMs: number,
): GitRemote {
  // An SSH URL's user is the login, not a credential (a password there is refused before).
  if (auth?.type === 'ssh') return { url, auth, timeoutMs };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, auth, timeoutMs };
  }
  if (!parsed.username && !parsed.password) return { url, auth, timeoutMs };
  const inline: GitAuth = {
    type: 'basic',
    username: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), auth: auth ?? inline, timeoutMs };
}

/** The refs of a remote: `refs/heads/main` → hash (tags peeled to their commit). @internal */
export async function listRemoteRefs(
  remote: GitRemote,
): Promise<Map<string, string>> {
  const out = await runGit(['ls-remote', '--', remote.url], {
    auth: remote.auth,
    timeoutMs: remote.timeoutMs,
  });
  const refs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [hash, name] = line.split('\t');
    if (!hash || !name) continue;
    if (name.endsWith('^{}')) refs.set(name.slice(0, -3), hash);
    else if (!refs.has(name)) refs.set(name, hash);
  }
  return refs;
}

/** The remote state a checkout needs, read with one `ls-remote`. @internal */
export interface RemoteState {
  resolved: ResolvedRef;
  /** The commit the reference points at now (undefined for a bare commit reference). */
  head?: string;
  refs: Map<string, string>;
}

/** Resolves a reference against the remote (semver needs its tags). @internal */
export async function readRemoteState(
  remote: GitRemote,
  ref: GitReference | undefined,
): Promise<RemoteState> {
  const refs = await listRemoteRefs(remote);
  const resolved = resolveRef(ref, () =>
    [...refs.keys()]
      .filter(r => r.startsWith('refs/tags/'))
      .map(r => r.slice('refs/tags/'.length)),
  );
  const head =
    resolved.kind === 'commit' ? undefined : refs.get(resolved.refName);
  if (resolved.kind !== 'commit' && !head) {
    let what: string;
    if (resolved.kind === 'branch') what = `branch '${resolved.branch}'`;
    else if (resolved.kind === 'name') what = `reference '${resolved.refName}'`;
    else what = `tag '${resolved.tag}'`;
    throw new Error(
      `unable to clone '${redactUrls(
        remote.url,
      )}': couldn't find remote ${what}`,
    );
  }
  return { resolved, head, refs };
}

/** A working copy of the remote, on the branch the automation pushes. @internal */
export interface Checkout {
  dir: string;
  /** The commit the checkout reference resolved to. */
  checkoutCommit: string;
  /** Flux's `observedSourceRevision` of that commit (`main@sha1:…`). */
  checkoutRevision: string;
  /** The commit the work is based on (the remote push branch's head when it exists). */
  baseCommit: string;
  /** The push branch's head on the remote when cloned, or undefined if it did not exist. */
  pushBranchHead?: string;
  pushBranch: string;
  remove(): Promise<void>;
}

/**
 * Clones the checkout reference shallowly into a new temporary directory and leaves the work
 * tree on `workBranch`: on top of the remote push branch when it exists (Flux's
 * `GitAllBranchReferences` behaviour), otherwise created from the checkout commit.
 * @internal
 */
export async function cloneForUpdate(
  remote: GitRemote,
  state: RemoteState,
  workBranch: string,
): Promise<Checkout> {
  checkBranchName(workBranch, 'push branch');
  const dir = await fs.promises.mkdtemp(
    path.join(os.tmpdir(), 'image-automation-git-'),
  );
  const remove = () => fs.promises.rm(dir, { recursive: true, force: true });
  const git = (args: string[]) =>
    runGit(args, { cwd: dir, auth: remote.auth, timeoutMs: remote.timeoutMs });
  try {
    await git(['init', '--quiet', '--initial-branch=image-automation-init']);
    await git(['remote', 'add', '--', 'origin', remote.url]);
    const { resolved } = state;
    const source =
      resolved.kind === 'commit'
        ? resolved.commit
        : `+${resolved.refName}:refs/remotes/origin/checkout`;
    await git([
      'fetch',
      '--quiet',
      '--no-tags',
      '--depth=1',
      '--',
      'origin',
      source,
    ]);
    const checkoutCommit = (
      await git([
        'rev-parse',
        '--verify',
        '--end-of-options',
        resolved.kind === 'commit'
          ? `${resolved.commit}^{commit}`
          : 'refs/remotes/origin/checkout^{commit}',
      ])
    ).trim();
    const checkoutBranch =
      resolved.kind === 'branch' ? resolved.branch : undefined;
    const pushBranchHead = state.refs.get(`refs/heads/${workBranch}`);
    let baseCommit = checkoutCommit;
    if (workBranch !== checkoutBranch && pushBranchHead) {
      await git([
        'fetch',
        '--quiet',
        '--no-tags',
        '--depth=1',
        '--',
        'origin',
        `+refs/heads/${workBranch}:refs/remotes/origin/${workBranch}`,
      ]);
      baseCommit = (
        await git([
          'rev-parse',
          '--verify',
          '--end-of-options',
          `refs/remotes/origin/${workBranch}^{commit}`,
        ])
      ).trim();
    }
    await git(['checkout', '--quiet', '-B', workBranch, baseCommit, '--']);
    return {
      dir,
      checkoutCommit,
      checkoutRevision: formatRevision(resolved, checkoutCommit),
      baseCommit,
      pushBranchHead,
      pushBranch: workBranch,
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** The commit author (committer is the same, as go-git does). @internal */
export interface CommitAuthor {
  name: string;
  email: string;
}

/**
 * Commits every modified and untracked file of the work tree (Flux adds all of `git status`).
 * `paths` (relative to the work tree) narrows what git looks at to those files, when the caller
 * knows they are the only changes (a run starts from a clean work tree and the setters write only
 * them): git then does not scan the whole tree for untracked files, most of an `add` in a large
 * repository. Returns the new commit's hash.
 * @internal
 */
export async function commitAll(
  checkout: Checkout,
  options: {
    author: CommitAuthor;
    message: string;
    signer?: CommitSigner;
    now: Date;
    paths?: string[];
  },
): Promise<string> {
  const date = `${Math.floor(options.now.getTime() / 1000)} +0000`;
  const env = {
    GIT_AUTHOR_NAME: options.author.name,
    GIT_AUTHOR_EMAIL: options.author.email,
    GIT_COMMITTER_NAME: options.author.name,
    GIT_COMMITTER_EMAIL: options.author.email,
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
    ...options.signer?.env,
  };
  if (options.paths) {
    // Read from stdin, NUL-separated: any number of paths, and none taken for an option or a pattern.
    await runGit(
      [
        '--literal-pathspecs',
        'add',
        '--all',
        '--pathspec-from-file=-',
        '--pathspec-file-nul',
      ],
      {
        cwd: checkout.dir,
        input: options.paths.map(p => `${p}\0`).join(''),
      },
    );
  } else {
    await runGit(['add', '--all'], { cwd: checkout.dir });
  }
  if (!options.author.name) {
    return commitWithoutName(checkout.dir, {
      email: options.author.email,
      date,
      message: options.message,
      signer: options.signer,
    });
  }
  const sign = options.signer ? ['-S'] : ['--no-gpg-sign'];
  await runGit(
    [
      'commit',
      '--quiet',
      '--allow-empty-message',
      '--no-verify',
      ...sign,
      '--cleanup=verbatim',
      '-F',
      '-',
    ],
    {
      cwd: checkout.dir,
      env,
      config: options.signer?.config,
      input: options.message,
    },
  );
  return (
    await runGit(['rev-parse', '--verify', 'HEAD'], { cwd: checkout.dir })
  ).trim();
}

/** A push the remote refused because the branch moved (another writer got there first). @internal */
export class PushRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PushRejectedError';
  }
}

/**
 * Pushes the work branch: to the checkout branch as a fast-forward; to another branch with a
 * lease on the head it was cloned at, so a branch that moved meanwhile is never overwritten.
 * Then pushes `refspec` if given. A rejected push throws {@link PushRejectedError}. The branch,
 * the refspec and the push options are validated first (nothing reaches git as an option), and
 * an invalid one throws before anything is pushed.
 * @internal
 */
export async function pushBranch(
  remote: GitRemote,
  checkout: Checkout,
  options: {
    switched: boolean;
    refspec?: string;
    pushOptions?: Record<string, string>;
  },
): Promise<void> {
  checkBranchName(checkout.pushBranch, 'push branch');
  if (options.refspec) checkPushRefspec(options.refspec);
  const pushOptions = Object.entries(options.pushOptions ?? {})
    .sort(([a], [b]) => Number(a > b) - Number(a < b))
    .map(
      ([key, value]) => `--push-option=${checkPushOption(key, String(value))}`,
    );
  const target = `refs/heads/${checkout.pushBranch}`;
  const lease = options.switched
    ? [`--force-with-lease=${target}:${checkout.pushBranchHead ?? ''}`]
    : [];
  const push = async (args: string[]) => {
    try {
      await runGit(
        ['push', '--quiet', '--no-verify', ...pushOptions, ...args],
        {
          cwd: checkout.dir,
          auth: remote.auth,
          timeoutMs: remote.timeoutMs,
        },
      );
    } catch (error) {
      const stderr = error instanceof GitCommandError ? error.stderr : '';
      // The last two are the server-side form of the same race: another push updated the ref
      // between receive-pack's check and its update.
      if (
        /\[rejected\]|non-fast-forward|fetch first|stale info|cannot lock ref|failed to update ref/.test(
          stderr,
        )
      ) {
        throw new PushRejectedError(
          `push to '${checkout.pushBranch}' was rejected: the branch moved on the remote`,
        );
      }
      throw error;
    }
  };
  await push([...lease, '--', 'origin', `HEAD:${target}`]);
  if (options.refspec) await push(['--', 'origin', options.refspec]);
}
