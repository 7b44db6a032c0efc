import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import {
  readWarmClonesSettings,
  WarmClones,
} from '@imageops/backstage-plugin-image-automation-backend/src/git/warmClones';
import { startGitServer, TestGitServer } from '../../testbed';
import {
  automation,
  GIT_PASSWORD,
  gitCredential,
  ready,
  startAutomationHarness,
} from './automationHarness';

// Issue #16: ImageUpdateAutomations keep a warm clone per repository, push branch and credential,
// fetch the delta and reset it, instead of cloning for every run. Against the test bed's Git
// server (smart HTTP, Basic auth).
jest.setTimeout(120_000);

const OTHER_PASSWORD = 'another-password-entirely';

const deployment = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  template:
    spec:
      containers:
        - name: web
          image: ${image} # {"$imagepolicy": "apps:web"}
`;

const web = (tag: string) => ({ web: { name: 'ghcr.io/acme/web', tag } });

describe('imageAutomation.git.cloneCache', () => {
  it('is on by default, under backend.workingDirectory, and refuses a bad maxClones by name', () => {
    expect(readWarmClonesSettings(new ConfigReader({}))).toEqual({
      directory: undefined,
      maxClones: undefined,
    });
    expect(
      readWarmClonesSettings(
        new ConfigReader({ backend: { workingDirectory: '/var/backstage' } }),
      ),
    ).toEqual({
      directory: '/var/backstage',
      maxClones: undefined,
    });
    expect(
      readWarmClonesSettings(
        new ConfigReader({
          backend: { workingDirectory: '/var/backstage' },
          imageAutomation: {
            git: { cloneCache: { directory: '/srv/clones', maxClones: 10 } },
          },
        }),
      ),
    ).toEqual({ directory: '/srv/clones', maxClones: 10 });
    expect(
      readWarmClonesSettings(
        new ConfigReader({
          imageAutomation: { git: { cloneCache: { enabled: false } } },
        }),
      ),
    ).toBeUndefined();
    expect(() =>
      readWarmClonesSettings(
        new ConfigReader({
          imageAutomation: { git: { cloneCache: { maxClones: 0 } } },
        }),
      ),
    ).toThrow(
      'imageAutomation.git.cloneCache.maxClones must be a whole number of at least 1, got 0',
    );
  });
});

describe('warm clones for ImageUpdateAutomations', () => {
  let git: TestGitServer;
  let work: string;
  let counter = 0;

  beforeAll(async () => {
    git = await startGitServer({
      users: { git: GIT_PASSWORD, other: OTHER_PASSWORD },
    });
  });
  afterAll(async () => {
    await git?.stop();
  });
  beforeEach(async () => {
    work = await fs.promises.mkdtemp(
      path.join(os.tmpdir(), 'warm-clones-test-'),
    );
  });
  afterEach(async () => {
    await fs.promises.rm(work, { recursive: true, force: true });
  });

  async function repository(
    files: Record<string, string> = {
      'deploy/web.yaml': deployment('ghcr.io/acme/web:1.0.0'),
    },
  ) {
    const name = `warm-${++counter}`;
    await git.createRepository(name, files);
    return name;
  }

  /** The one clone directory of the cache (under its process directory). */
  async function cloneDirs(): Promise<string[]> {
    const [root] = await fs.promises.readdir(work);
    if (!root) return [];
    return (await fs.promises.readdir(path.join(work, root)))
      .map(d => path.join(work, root, d))
      .sort();
  }

  const remoteImage = async (repo: string, file = 'deploy/web.yaml') =>
    /image: (\S+)/.exec((await git.readFile(repo, 'main', file)) ?? '')?.[1];

  it('fetches into the clone of the last run and resets it, instead of cloning again', async () => {
    const clones = new WarmClones({ directory: work });
    const repo = await repository();
    const h = await startAutomationHarness({ git, repo, clones });
    try {
      await h.declare(web('1.1.0'));
      expect(ready(await h.run(automation('auto')))?.status).toBe('True');
      expect(await remoteImage(repo)).toBe('ghcr.io/acme/web:1.1.0');
      expect({
        cloned: clones.cloned,
        reused: clones.reused,
        size: clones.size,
      }).toEqual({ cloned: 1, reused: 0, size: 1 });
      const [dir] = await cloneDirs();
      // Left-overs a run could leave: a marker in .git proves the repository is the same one, the
      // stray and edited files must be gone before the next run reads the tree.
      await fs.promises.writeFile(path.join(dir, '.git', 'warm-sentinel'), 'x');
      await fs.promises.writeFile(
        path.join(dir, 'deploy', 'stray.yaml'),
        'kind: Stray\n',
      );
      await fs.promises.writeFile(
        path.join(dir, 'deploy', 'web.yaml'),
        deployment('ghcr.io/evil/web:6.6.6'),
      );
      // …staged, with a merge in progress: a commit now would have two parents and the evil image.
      execFileSync('git', ['add', 'deploy/web.yaml'], { cwd: dir });
      const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir })
        .toString()
        .trim();
      await fs.promises.writeFile(
        path.join(dir, '.git', 'MERGE_HEAD'),
        `${head}\n`,
      );
      await fs.promises.writeFile(
        path.join(dir, '.git', 'MERGE_MSG'),
        'Merge left over\n',
      );
      // Another writer moves the branch meanwhile: the run must build on that commit.
      const theirs = await git.commitFiles(
        repo,
        'main',
        { 'deploy/notes.txt': 'hello\n' },
        'Someone else',
      );

      const requestsBefore = git.requests.length;
      await h.declare(web('1.2.0'));
      const second = await h.run(automation('auto'));
      expect(ready(second)?.status).toBe('True');
      expect({
        cloned: clones.cloned,
        reused: clones.reused,
        size: clones.size,
      }).toEqual({ cloned: 1, reused: 1, size: 1 });
      expect(await cloneDirs()).toEqual([dir]);
      expect(fs.existsSync(path.join(dir, '.git', 'warm-sentinel'))).toBe(true);
      expect(fs.existsSync(path.join(dir, 'deploy', 'stray.yaml'))).toBe(false);
      expect(await remoteImage(repo)).toBe('ghcr.io/acme/web:1.2.0');
      expect((await git.git(repo, ['rev-parse', 'main~1'])).trim()).toBe(
        theirs,
      );
      expect(
        (await git.git(repo, ['rev-list', '--parents', '-n', '1', 'main']))
          .trim()
          .split(' '),
      ).toHaveLength(2);
      expect(
        (await git.git(repo, ['ls-tree', '-r', '--name-only', 'main']))
          .trim()
          .split('\n'),
      ).toEqual(['deploy/notes.txt', 'deploy/web.yaml']);
      // One push, made with the run's credential.
      const pushes = git.requests
        .slice(requestsBefore)
        .filter(r => r.method === 'POST' && r.service === 'git-receive-pack');
      expect(pushes.map(r => r.user)).toEqual(['git']);

      // Nobody else wrote since: the remote head is the clone's own last push, nothing is fetched.
      // The only upload-pack request is the ls-remote (protocol v2: GET info/refs + one POST).
      const quiet = git.requests.length;
      await h.declare(web('1.2.1'));
      expect(ready(await h.run(automation('auto')))?.status).toBe('True');
      expect(await remoteImage(repo)).toBe('ghcr.io/acme/web:1.2.1');
      const posts = git.requests
        .slice(quiet)
        .filter(r => r.method === 'POST')
        .map(r => r.service);
      expect(posts).toEqual(['git-upload-pack', 'git-receive-pack']);
      expect({ cloned: clones.cloned, reused: clones.reused }).toEqual({
        cloned: 1,
        reused: 2,
      });
    } finally {
      await h.stop();
      await clones.close();
    }
    expect(await fs.promises.readdir(work)).toEqual([]);
  });

  it('works on after the remote branch was force-pushed to an unrelated history', async () => {
    const clones = new WarmClones({ directory: work });
    const repo = await repository();
    const h = await startAutomationHarness({ git, repo, clones });
    try {
      await h.declare(web('1.1.0'));
      expect(ready(await h.run(automation('auto')))?.status).toBe('True');
      // Rewritten history: a new root commit whose tree is the original one, force-set as main.
      const tree = (await git.git(repo, ['rev-parse', 'main~1^{tree}'])).trim();
      const orphan = (
        await git.git(repo, ['commit-tree', tree, '-m', 'Rewritten'])
      ).trim();
      await git.git(repo, ['update-ref', 'refs/heads/main', orphan]);

      await h.declare(web('1.3.0'));
      const result = await h.run(automation('auto'));
      expect(ready(result)).toMatchObject({
        status: 'True',
        reason: 'Succeeded',
      });
      expect(await remoteImage(repo)).toBe('ghcr.io/acme/web:1.3.0');
      expect((await git.git(repo, ['rev-parse', 'main~1'])).trim()).toBe(
        orphan,
      );
      expect({ cloned: clones.cloned, reused: clones.reused }).toEqual({
        cloned: 1,
        reused: 1,
      });
    } finally {
      await h.stop();
      await clones.close();
    }
  });

  it('discards a corrupt clone and clones again', async () => {
    const clones = new WarmClones({ directory: work });
    const repo = await repository();
    const h = await startAutomationHarness({ git, repo, clones });
    try {
      await h.declare(web('1.1.0'));
      expect(ready(await h.run(automation('auto')))?.status).toBe('True');
      const [dir] = await cloneDirs();
      // Every object gone: the shallow fetch has no "haves" left to offer and gets the whole tip.
      await fs.promises.rm(path.join(dir, '.git', 'objects'), {
        recursive: true,
        force: true,
      });
      await fs.promises.mkdir(path.join(dir, '.git', 'objects'));
      await h.declare(web('1.4.0'));
      expect(ready(await h.run(automation('auto')))?.status).toBe('True');
      expect(await remoteImage(repo)).toBe('ghcr.io/acme/web:1.4.0');

      // Not a repository any more: discarded and cloned afresh.
      await fs.promises.writeFile(path.join(dir, '.git', 'HEAD'), 'garbage\n');
      await fs.promises.writeFile(path.join(dir, '.git', 'warm-sentinel'), 'x');
      const cloned = clones.cloned;
      await h.declare(web('1.5.0'));
      expect(ready(await h.run(automation('auto')))?.status).toBe('True');
      expect(await remoteImage(repo)).toBe('ghcr.io/acme/web:1.5.0');
      expect(clones.cloned).toBe(cloned + 1);
      expect(await cloneDirs()).toEqual([dir]);
      expect(fs.existsSync(path.join(dir, '.git', 'warm-sentinel'))).toBe(
        false,
      );
    } finally {
      await h.stop();
      await clones.close();
    }
  });

  it('never shares a clone between different credentials, and shares one per repository otherwise', async () => {
    const clones = new WarmClones({ directory: work });
    const repo = await repository();
    // Same credential name, another user and secret: another scope, another clone.
    const a = await startAutomationHarness({ git, repo, clones });
    const b = await startAutomationHarness({
      git,
      repo,
      clones,
      credentials: {
        git: gitCredential(git, {
          username: 'other',
          password: OTHER_PASSWORD,
        }),
      },
    });
    try {
      await a.declare(web('1.1.0'));
      await b.declare(web('1.2.0'));
      expect(ready(await a.run(automation('first')))?.status).toBe('True');
      expect(ready(await b.run(automation('second')))?.status).toBe('True');
      expect({ cloned: clones.cloned, size: clones.size }).toEqual({
        cloned: 2,
        size: 2,
      });
      expect(await cloneDirs()).toHaveLength(2);
      // Another automation with A's credential on the same repository and branch reuses A's clone.
      await a.declare(web('1.3.0'));
      expect(ready(await a.run(automation('third')))?.status).toBe('True');
      expect({
        cloned: clones.cloned,
        reused: clones.reused,
        size: clones.size,
      }).toEqual({ cloned: 2, reused: 1, size: 2 });
      expect(await remoteImage(repo)).toBe('ghcr.io/acme/web:1.3.0');
      // Each push was made with its own credential.
      const pushers = git.requests
        .filter(r => r.service === 'git-receive-pack' && r.method === 'POST')
        .map(r => r.user);
      expect(pushers.slice(-3)).toEqual(['git', 'other', 'git']);
    } finally {
      await a.stop();
      await b.stop();
      await clones.close();
    }
  });

  it('gives 100 automations on 10 repositories 10 clones', async () => {
    const clones = new WarmClones({ directory: work });
    const apps = Array.from({ length: 10 }, (_, i) => `app-${i}`);
    const files = Object.fromEntries(
      apps.map(app => [
        `${app}/web.yaml`,
        deployment('ghcr.io/acme/web:1.0.0'),
      ]),
    );
    const repos = await Promise.all(
      Array.from({ length: 10 }, () => repository(files)),
    );
    const harnesses = await Promise.all(
      repos.map(repo => startAutomationHarness({ git, repo, clones })),
    );
    try {
      for (const h of harnesses) await h.declare(web('2.0.0'));
      const results = await Promise.all(
        harnesses.flatMap(h =>
          apps.map(app => h.run(automation(app, { update: { path: app } }))),
        ),
      );
      expect(results.map(r => ready(r)?.status)).toEqual(
        Array(100).fill('True'),
      );
      expect({
        cloned: clones.cloned,
        reused: clones.reused,
        size: clones.size,
      }).toEqual({ cloned: 10, reused: 90, size: 10 });
      expect(await cloneDirs()).toHaveLength(10);
      for (const repo of repos) {
        // Every automation committed its own file, one commit each on top of the first.
        expect(
          (await git.git(repo, ['rev-list', '--count', 'main'])).trim(),
        ).toBe('11');
        for (const app of apps)
          expect(await remoteImage(repo, `${app}/web.yaml`)).toBe(
            'ghcr.io/acme/web:2.0.0',
          );
      }
    } finally {
      for (const h of harnesses) await h.stop();
      await clones.close();
    }
    // 100 runs, each a commit and a push, ten serialised on each clone: well within the file's two
    // minutes alone, past them once in a clean-clone run with every other suite beside it.
  }, 300_000);

  it('keeps one clone per repository for many automations, bounded by maxClones, and serialises runs on one clone', async () => {
    const clones = new WarmClones({ directory: work, maxClones: 3 });
    const repos: string[] = [];
    for (let i = 0; i < 3; i++) {
      repos.push(
        await repository({
          'a/web.yaml': deployment('ghcr.io/acme/web:1.0.0'),
          'b/web.yaml': deployment('ghcr.io/acme/web:1.0.0'),
        }),
      );
    }
    const harnesses = await Promise.all(
      repos.map(repo => startAutomationHarness({ git, repo, clones })),
    );
    try {
      for (const h of harnesses) await h.declare(web('2.0.0'));
      // Two automations per repository (one per directory), all at once: the ones on one clone
      // take turns, and each finds the other's push when it fetches.
      const results = await Promise.all(
        harnesses.flatMap(h =>
          ['a', 'b'].map(p =>
            h.run(automation(`auto-${p}`, { update: { path: p } })),
          ),
        ),
      );
      expect(results.map(r => ready(r)?.status)).toEqual(Array(6).fill('True'));
      for (const repo of repos) {
        expect(await remoteImage(repo, 'a/web.yaml')).toBe(
          'ghcr.io/acme/web:2.0.0',
        );
        expect(await remoteImage(repo, 'b/web.yaml')).toBe(
          'ghcr.io/acme/web:2.0.0',
        );
        expect(
          (await git.git(repo, ['rev-list', '--count', 'main'])).trim(),
        ).toBe('3');
      }
      expect({
        cloned: clones.cloned,
        reused: clones.reused,
        size: clones.size,
      }).toEqual({ cloned: 3, reused: 3, size: 3 });

      // A fourth repository: the least recently used clone goes, its directory with it.
      const fourth = await repository();
      const h = await startAutomationHarness({ git, repo: fourth, clones });
      try {
        await h.declare(web('2.1.0'));
        expect(ready(await h.run(automation('auto')))?.status).toBe('True');
      } finally {
        await h.stop();
      }
      expect(clones.size).toBe(3);
      expect(await cloneDirs()).toHaveLength(3);
    } finally {
      for (const h of harnesses) await h.stop();
      await clones.close();
    }
  });
});
