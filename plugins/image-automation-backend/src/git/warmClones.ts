import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Config } from '@backstage/config';
import { formatRevision } from './gitRef';
import { Checkout, GitRemote, RemoteState } from './GitWorkspace';
import { GitAuth, runGit } from './runGit';
import { checkBranchName } from './refFormat';

/**
 * Settings of {@link WarmClones} (`imageAutomation.git.cloneCache`).
 * @internal
 */
export interface WarmClonesOptions {
  /** Where the clones live; a new directory of this process is made under it. Default: the OS temp dir. */
  directory?: string;
  /** How many clones are kept at most; the least recently used one is removed first. Default 50. */
  maxClones?: number;
  /** A clone is discarded and cloned afresh after this many runs, so shallow fetches never pile up. Default 200. */
  maxUses?: number;
}

/**
 * `imageAutomation.git.cloneCache` (default: enabled, 50 clones, under `backend.workingDirectory`
 * or else the OS temp dir); undefined when `enabled: false` (every run clones afresh).
 * @internal
 */
export function readWarmClonesSettings(
  config: Config,
): WarmClonesOptions | undefined {
  const cache = config.getOptionalConfig('imageAutomation.git.cloneCache');
  if (cache?.getOptionalBoolean('enabled') === false) return undefined;
  const maxClones = cache?.getOptionalNumber('maxClones');
  if (
    maxClones !== undefined &&
    !(Number.isInteger(maxClones) && maxClones >= 1)
  ) {
    throw new Error(
      `imageAutomation.git.cloneCache.maxClones must be a whole number of at least 1, got ${maxClones}`,
    );
  }
  return {
    directory:
      cache?.getOptionalString('directory') ??
      config.getOptionalString('backend.workingDirectory'),
    maxClones,
  };
}

interface Entry {
  dir: string;
  lastUsed: number;
  uses: number;
  /** The tail of the lock chain: the next user waits for it. */
  lock: Promise<void>;
  busy: number;
}

/**
 * Who a clone may be served to, as a string that is part of its cache key: clones are only shared
 * between runs that reach the remote with the same credential, and a run only gets that far after
 * its entity was found allowed to use it.
 *
 * - a named credential (`secretRef`): its name and a digest of its secret material. Which entity
 *   may use a named credential is checked by `resolveGitAuth` (the credential's `allowedEntities`
 *   and its host/path binding, for both the GitRepository's entity and the automation's) before a
 *   run gets here; so two entities meet in one clone only if both were granted that credential for
 *   that repository, i.e. both may read it anyway. A rotated secret is a new key (a new clone).
 * - Backstage's integration token (no `secretRef`; or credentials written in the URL): a digest of
 *   the token; the integration token only reaches here for repositories under
 *   `imageAutomation.git.integrationPush`, which is checked before.
 * - no credential: `anonymous` (a public repository, readable by anyone).
 *
 * Every run also fetches with its own credential before it reads the clone, so a credential that
 * lost access fails there instead of being served what was fetched earlier.
 * @internal
 */
export function credentialScope(
  credentialName: string | undefined,
  auth: GitAuth | undefined,
): string {
  if (!auth) return 'anonymous';
  const material = crypto
    .createHash('sha256')
    .update(JSON.stringify(auth))
    .digest('hex')
    .slice(0, 32);
  return credentialName
    ? `credential:${credentialName}:${material}`
    : `token:${material}`;
}

/**
 * Warm clones of the repositories automations push to, one per repository URL, push branch and
 * credential scope ({@link credentialScope}): a run fetches only what changed (`--depth=1`, so a
 * force-pushed branch costs one commit's objects, never a history) into the clone it used last time
 * and resets it (a forced checkout + `clean -ffdx`), instead of cloning anew. Runs on one clone are
 * serialised (a lock per clone); the number of clones is bounded (least recently used removed first);
 * a clone that fails to fetch, reset or check out (corrupt, diverged beyond repair) is discarded and
 * cloned afresh once before the run fails. Clones live in a directory of this process, removed by
 * {@link WarmClones.close} (on shutdown): nothing is shared with another process.
 * @internal
 */
export class WarmClones {
  private readonly entries = new Map<string, Entry>();
  private root?: Promise<string>;
  private readonly maxClones: number;
  private readonly maxUses: number;
  /** Clones made from nothing (for tests and benchmarks). */
  cloned = 0;
  /** Runs served by an existing clone (fetched). */
  reused = 0;

  constructor(private readonly options: WarmClonesOptions = {}) {
    this.maxClones = Math.max(1, options.maxClones ?? 50);
    this.maxUses = Math.max(1, options.maxUses ?? 200);
  }

  private base(): Promise<string> {
    this.root ??= (async () => {
      const parent = this.options.directory ?? os.tmpdir();
      await fs.promises.mkdir(parent, { recursive: true });
      return fs.promises.mkdtemp(path.join(parent, 'image-automation-clones-'));
    })();
    return this.root;
  }

  /** How many clones are kept now. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * A work tree of the remote on `pushBranch`, as {@link cloneForUpdate} makes it, from the warm
   * clone of (`remote.url`, `pushBranch`, `scope`). The clone stays locked until the checkout's
   * `remove()` is called (it is not deleted then, only released).
   */
  async checkout(
    remote: GitRemote,
    state: RemoteState,
    pushBranch: string,
    scope: string,
  ): Promise<Checkout> {
    checkBranchName(pushBranch, 'push branch');
    // The checkout reference is not part of the key: every run fetches it afresh into
    // refs/remotes/origin/checkout, so automations that only differ by it share the clone.
    const key = crypto
      .createHash('sha256')
      .update(JSON.stringify([remote.url, pushBranch, scope]))
      .digest('hex')
      .slice(0, 40);
    const base = await this.base();
    let entry = this.entries.get(key);
    if (!entry) {
      entry = {
        dir: path.join(base, key),
        lastUsed: 0,
        uses: 0,
        lock: Promise.resolve(),
        busy: 0,
      };
      this.entries.set(key, entry);
    }
    const held = entry;
    held.busy++;
    // Another run holds the clone: by the time this one gets it, that run may have pushed, so the
    // ls-remote this run made before is stale and its head commit is not taken as it is.
    const contended = held.busy > 1;
    let release!: () => void;
    const previous = held.lock;
    held.lock = new Promise<void>(resolve => (release = resolve));
    await previous;
    held.lastUsed = Date.now();
    let released = false;
    const done = async () => {
      if (released) return;
      released = true;
      held.busy--;
      release();
      await this.evict();
    };
    try {
      const fresh =
        held.uses >= this.maxUses || !(await isRepository(held.dir));
      let result: Omit<Checkout, 'remove' | 'dir'>;
      if (fresh) {
        result = await this.fromScratch(held, remote, state, pushBranch);
      } else {
        try {
          result = await prepare(
            held.dir,
            remote,
            state,
            pushBranch,
            !contended,
          );
          this.reused++;
        } catch {
          // Corrupt, half-written or beyond repair: start over once; a second failure is the run's.
          result = await this.fromScratch(held, remote, state, pushBranch);
        }
      }
      held.uses++;
      return { ...result, dir: held.dir, remove: done };
    } catch (error) {
      await fs.promises.rm(held.dir, { recursive: true, force: true });
      held.uses = 0;
      await done();
      throw error;
    }
  }

  private async fromScratch(
    entry: Entry,
    remote: GitRemote,
    state: RemoteState,
    pushBranch: string,
  ) {
    await fs.promises.rm(entry.dir, { recursive: true, force: true });
    entry.uses = 0;
    await fs.promises.mkdir(entry.dir, { recursive: true });
    const git = (args: string[]) =>
      runGit(args, { cwd: entry.dir, timeoutMs: remote.timeoutMs });
    await git(['init', '--quiet', '--initial-branch=image-automation-init']);
    await git(['remote', 'add', '--', 'origin', remote.url]);
    this.cloned++;
    return prepare(entry.dir, remote, state, pushBranch, false);
  }

  /** Removes the least recently used idle clones beyond `maxClones`. */
  private async evict(): Promise<void> {
    while (this.entries.size > this.maxClones) {
      const idle = [...this.entries.entries()]
        .filter(([, e]) => e.busy === 0)
        .sort(([, a], [, b]) => a.lastUsed - b.lastUsed);
      if (idle.length === 0) return;
      const [key, entry] = idle[0];
      this.entries.delete(key);
      await fs.promises.rm(entry.dir, { recursive: true, force: true });
    }
  }

  /** Removes every clone (plugin shutdown). */
  async close(): Promise<void> {
    const root = this.root;
    this.entries.clear();
    this.root = undefined;
    if (root)
      await fs.promises.rm(await root, { recursive: true, force: true });
  }
}

async function isRepository(dir: string): Promise<boolean> {
  try {
    await fs.promises.access(path.join(dir, '.git', 'HEAD'));
    return true;
  } catch {
    return false;
  }
}

/**
 * Fetches the checkout reference (and the push branch when it is another one) into the clone and
 * leaves a clean work tree on `pushBranch`, exactly as a fresh clone would: tracked files as in the
 * base commit, nothing untracked or ignored left from an earlier run, no local branch but this one.
 */
async function prepare(
  dir: string,
  remote: GitRemote,
  state: RemoteState,
  pushBranch: string,
  /** The heads in `state` are current: a commit the clone has is used without a fetch. */
  trustState: boolean,
): Promise<Omit<Checkout, 'remove' | 'dir'>> {
  const git = (args: string[], auth?: GitAuth) =>
    runGit(args, { cwd: dir, auth, timeoutMs: remote.timeoutMs });
  const present = (commit: string) =>
    git(['cat-file', '-e', '--end-of-options', `${commit}^{commit}`]).then(
      () => true,
      () => false,
    );
  /**
   * Brings the remote's `ref` (at `expected`, as ls-remote saw it) to the local `target` ref: when the
   * clone already has that commit (typically the automation's own last push) no request is made at
   * all; otherwise a shallow fetch, with what the clone has as "haves": a moved branch transfers its
   * new objects, a force-pushed one at most one commit's tree.
   */
  const bring = async (
    ref: string,
    expected: string | undefined,
    target: string,
  ): Promise<string> => {
    if (trustState && expected && /^[0-9a-f]{40,64}$/.test(expected)) {
      // update-ref refuses an object the clone does not have: that is the presence check.
      const updated = await git([
        'update-ref',
        '--no-deref',
        target,
        expected,
      ]).then(
        () => true,
        () => false,
      );
      if (updated) return expected;
    }
    await git(
      [
        'fetch',
        '--quiet',
        '--no-tags',
        '--depth=1',
        '--',
        'origin',
        `+${ref}:${target}`,
      ],
      remote.auth,
    );
    return (
      await git([
        'rev-parse',
        '--verify',
        '--end-of-options',
        `${target}^{commit}`,
      ])
    ).trim();
  };
  const { resolved } = state;
  let checkoutCommit: string;
  if (resolved.kind === 'commit') {
    if (!(await present(resolved.commit))) {
      await git(
        [
          'fetch',
          '--quiet',
          '--no-tags',
          '--depth=1',
          '--',
          'origin',
          resolved.commit,
        ],
        remote.auth,
      );
    }
    checkoutCommit = (
      await git([
        'rev-parse',
        '--verify',
        '--end-of-options',
        `${resolved.commit}^{commit}`,
      ])
    ).trim();
  } else {
    checkoutCommit = await bring(
      resolved.refName,
      state.head,
      'refs/remotes/origin/checkout',
    );
  }
  const checkoutBranch =
    resolved.kind === 'branch' ? resolved.branch : undefined;
  const pushBranchHead = state.refs.get(`refs/heads/${pushBranch}`);
  let baseCommit = checkoutCommit;
  if (pushBranch !== checkoutBranch && pushBranchHead) {
    baseCommit = await bring(
      `refs/heads/${pushBranch}`,
      pushBranchHead,
      `refs/remotes/origin/${pushBranch}`,
    );
  }
  // Whatever an earlier run left (a commit that was never pushed, edited or new files, a merge in
  // progress) is dropped: the work tree is the base commit, nothing more. A forced checkout resets
  // the index and the tracked files and ends a merge in progress; clean removes everything else.
  await git([
    'checkout',
    '--quiet',
    '--force',
    '-B',
    pushBranch,
    baseCommit,
    '--',
  ]);
  await git(['clean', '-ffdxq']);
  return {
    checkoutCommit,
    checkoutRevision: formatRevision(resolved, checkoutCommit),
    baseCommit,
    pushBranchHead,
    pushBranch,
  };
}
