import fs from 'fs';
import os from 'os';
import path from 'path';
import { AutomationObject } from '@imageops/backstage-plugin-image-automation-common';
import { automation, gitServerForSuite, ready } from './automationHarness';

jest.setTimeout(120_000);

// The reconciler called directly (no engine, no backend) on a real Git server: what it refuses
// before reaching Git, what a preview computes, and when a run must look at the repository again
// although the source's revision did not move.

const deployment = (web: string, api: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: ${web} # {"$imagepolicy": "apps:web"}
        - name: api
          image: ${api} # {"$imagepolicy": "apps:api"}
`;

const WEB = (tag: string) => ({ name: 'ghcr.io/acme/web', tag });
const API = (tag: string) => ({ name: 'ghcr.io/acme/api', tag });

/** An automation with `change` applied to its manifest (fields the harness's helper does not set). */
function changed(
  change: (manifest: AutomationObject) => void,
  spec: Record<string, any> = {},
): AutomationObject {
  const manifest = automation('auto', spec);
  change(manifest);
  return manifest;
}

describe('ImageUpdateAutomationReconciler, called directly on a real Git server', () => {
  const bed = gitServerForSuite('edges', {
    'deploy/web.yaml': deployment(
      'ghcr.io/acme/web:1.0.0',
      'ghcr.io/acme/api:1.0.0',
    ),
  });

  const head = async (branch = 'main') =>
    (await bed.git.git(bed.repo, ['rev-parse', branch])).trim();
  const file = (branch = 'main') =>
    bed.git.readFile(bed.repo, branch, 'deploy/web.yaml');
  /** Requests for this test's repository (ls-remote, fetch, push). */
  const requests = () =>
    bed.git.requests.filter(r => r.path.startsWith(`/${bed.repo}.git/`));
  /**
   * The upload-pack requests a run makes: one (protocol v2's ls-refs) when it only reads the refs
   * and stops there, more when it also clones.
   */
  async function uploadPacks(run: () => Promise<unknown>) {
    const count = () =>
      requests().filter(
        r => r.method === 'POST' && r.path.endsWith('/git-upload-pack'),
      ).length;
    const before = count();
    await run();
    return count() - before;
  }

  it('refuses before reaching Git: a selector that does not parse, a source not granted, missing or foreign, a source field it cannot honour, an SSH URL without a credential, an invalid source ref, a signing key without signing keys, a refspec or an unlisted host in pull-request mode', async () => {
    const h = await bed.harness({ withoutSigningKeys: true });
    try {
      await h.declare({ web: WEB('1.1.0') }, [
        {
          apiVersion: 'example.com/v1',
          kind: 'GitRepository',
          metadata: { name: 'foreign', namespace: 'apps' },
          spec: { url: bed.git.url(bed.repo), interval: '5m' },
        },
      ]);
      const cases: Array<[AutomationObject, Record<string, string>]> = [
        [
          automation('auto', {
            policySelector: {
              matchExpressions: [
                { key: 'policy', operator: 'Sometimes', values: ['web'] },
              ],
            },
          }),
          {
            status: 'False',
            reason: 'InvalidPolicySelector',
            message:
              'failed to parse policy selector: "Sometimes" is not a valid label selector operator',
          },
        ],
        [
          changed(m => {
            m.spec.sourceRef = {
              kind: 'GitRepository',
              name: 'repo',
              namespace: 'team-b',
            };
          }),
          {
            status: 'False',
            reason: 'AccessDenied',
            message:
              "spec.sourceRef: cross-namespace reference to GitRepository 'team-b/repo' denied: namespace 'team-b' is not granted to component:default/shop (imageAutomation.tenancy.namespaces)",
          },
        ],
        [
          changed(m => {
            m.spec.sourceRef = { kind: 'GitRepository', name: 'absent' };
          }),
          {
            status: 'False',
            reason: 'SourceManagerFailed',
            message:
              'failed configuring source manager: unable to get source \'GitRepository/apps/absent\': gitrepositories.source.toolkit.fluxcd.io "absent" not found',
          },
        ],
        [
          changed(m => {
            m.spec.sourceRef = { kind: 'GitRepository', name: 'foreign' };
          }),
          {
            status: 'False',
            reason: 'SourceManagerFailed',
            message:
              'failed configuring source manager: unable to get source \'GitRepository/apps/foreign\': gitrepositories.source.toolkit.fluxcd.io "foreign" not found',
          },
        ],
        [
          automation('auto', {
            commit: { signingKey: { secretRef: { name: 'release' } } },
          }),
          {
            status: 'False',
            reason: 'InvalidSourceConfiguration',
            message:
              'failed configuring source manager: no signing keys are configured (imageAutomation.signingKeys): invalid source configuration',
          },
        ],
      ];
      for (const [manifest, expected] of cases) {
        const result = await h.run(manifest, new Date(), {
          source: { type: 'catalog', location: 'url:https://example.com/x' },
          grantedNamespaces: ['apps'],
        });
        expect(ready(result)).toEqual(expected);
      }
      // Pull-request mode: only its own branch is pushed, and only to a host the platform listed.
      const pullRequest = (spec: Record<string, any> = {}) =>
        changed(m => {
          m.metadata.annotations = {
            'image-automation.io/pull-request': 'true',
          };
        }, spec);
      expect(
        ready(
          await h.run(
            pullRequest({ push: { refspec: 'refs/heads/main:refs/heads/x' } }),
          ),
        ),
      ).toEqual({
        status: 'False',
        reason: 'InvalidPullRequestConfiguration',
        message:
          'pull-request mode: pull-request mode pushes only the pull request branch: remove spec.git.push.refspec',
      });
      expect(ready(await h.run(pullRequest()))).toEqual({
        status: 'False',
        reason: 'PullRequestHostNotAllowed',
        message: `pull-request mode: host '${
          new URL(bed.git.baseUrl).host
        }' is not in imageAutomation.git.pullRequests: no pull request is opened and no API call is made`,
      });
      // A source field that decides how Git is reached, which this plugin cannot honour.
      await h.declare({ web: WEB('1.1.0') }, [], {
        proxySecretRef: { name: 'proxy' },
      });
      expect(ready(await h.run(automation('auto')))).toEqual({
        status: 'False',
        reason: 'InvalidSourceConfiguration',
        message:
          'failed configuring source manager: GitRepository/apps/repo: spec.proxySecretRef is not supported: Git operations cannot go through a per-object proxy here; remove spec.proxySecretRef if they may go directly: invalid source configuration',
      });
      // An SSH URL needs a credential; with one, it is a reference the source names that is refused.
      const host = new URL(bed.git.baseUrl).host;
      await h.declare({ web: WEB('1.1.0') }, [], {
        url: `ssh://git@${host}/${bed.repo}.git`,
        secretRef: undefined,
      });
      expect(ready(await h.run(automation('auto')))).toEqual({
        status: 'False',
        reason: 'InvalidSourceConfiguration',
        message: `failed configuring source manager: SSH Git URL 'ssh://${host}/${bed.repo}.git' needs spec.secretRef naming an sshKey credential (a deploy key with knownHosts) granted to the entity and bound to ${host}: invalid source configuration`,
      });
      await h.declare({ web: WEB('1.1.0') }, [], {
        url: `ssh://git@${host}/${bed.repo}.git`,
        ref: { branch: 'main..old' },
      });
      expect(ready(await h.run(automation('auto')))).toEqual({
        status: 'False',
        reason: 'InvalidGitArgument',
        message:
          "failed configuring source manager: invalid GitRepository/apps/repo spec.ref.branch 'main..old': it contains '..'",
      });
      expect(requests()).toEqual([]);
      expect(await file()).toContain('ghcr.io/acme/web:1.0.0');
    } finally {
      await h.stop();
    }
  });

  it("writes although its source sets spec.verify, which Flux's automation does not check either", async () => {
    const h = await bed.harness();
    try {
      // Stalls the GitRepository itself (no signature is verified here), not an automation using it.
      await h.declare({ web: WEB('1.1.0') }, [], {
        verify: { mode: 'HEAD', secretRef: { name: 'keys' } },
      });
      expect(ready(await h.run(automation('auto')))?.status).toBe('True');
      expect(await file()).toContain('ghcr.io/acme/web:1.1.0');
    } finally {
      await h.stop();
    }
  });

  it('writes with an update section that names no strategy (Setters is the default)', async () => {
    const h = await bed.harness();
    try {
      await h.declare({ web: WEB('1.1.0') });
      const result = await h.run(
        changed(m => {
          m.spec.update = { path: './deploy' };
        }),
      );
      expect(ready(result)?.status).toBe('True');
      expect(await file()).toContain('ghcr.io/acme/web:1.1.0');
    } finally {
      await h.stop();
    }
  });

  it.each([
    ['names no ref', undefined],
    ['has an empty ref', {}],
  ])(
    "checks out and pushes to master when the GitRepository %s (Flux's default), not the remote's HEAD",
    async (_, ref) => {
      const main = await head();
      await bed.git.git(bed.repo, ['branch', 'master', main]);
      await bed.git.commitFiles(
        bed.repo,
        'main',
        { 'README.md': 'main only\n' },
        'x',
      );
      const h = await bed.harness();
      try {
        await h.declare({ web: WEB('1.1.0') }, [], { ref });
        const result = await h.run(automation('auto'));
        expect(ready(result)?.status).toBe('True');
        expect(await file('master')).toContain('ghcr.io/acme/web:1.1.0');
        expect(await head('master~1')).toBe(main);
        expect(await file('main')).toContain('ghcr.io/acme/web:1.0.0');
        expect(result.status.observedSourceRevision).toBe(
          `master@sha1:${await head('master')}`,
        );
      } finally {
        await h.stop();
      }
    },
  );

  it('names the Git step that failed: a checkout branch that does not exist, a template that does not parse, a push the server refuses', async () => {
    const h = await bed.harness();
    try {
      await h.declare({ web: WEB('1.1.0') });
      expect(
        ready(
          await h.run(
            automation('auto', { checkout: { ref: { branch: 'nope' } } }),
          ),
        ),
      ).toEqual({
        status: 'False',
        reason: 'GitOperationFailed',
        message: `failed to checkout source: unable to clone '${bed.git.url(
          bed.repo,
        )}': couldn't find remote branch 'nope'`,
      });
      const template = ready(
        await h.run(
          automation('auto', { commit: { messageTemplate: '{{ .Nope ' } }),
        ),
      );
      expect(template?.reason).toBe('GitOperationFailed');
      expect(template?.message).toBe(
        'failed to update source: unable to create commit message template from spec: template: commit message:1: unclosed action',
      );

      // The server's update hook refuses every change to main: not a race, so not retried.
      const hook = path.join(
        bed.git.root,
        `${bed.repo}.git`,
        'hooks',
        'update',
      );
      fs.writeFileSync(
        hook,
        '#!/bin/sh\necho "main is protected" >&2\nexit 1\n',
        {
          mode: 0o755,
        },
      );
      const refused = ready(await h.run(automation('auto')));
      expect(refused?.reason).toBe('GitOperationFailed');
      expect(refused?.message).toMatch(/^failed to update source: /);
      expect(refused?.message).toContain('main is protected');
      expect(
        requests().filter(
          r => r.method === 'POST' && r.path.endsWith('/git-receive-pack'),
        ),
      ).toHaveLength(1);
      expect(h.logs.join('\n')).not.toContain('retrying from a fresh clone');
    } finally {
      await h.stop();
    }
  });

  it('names the checkout as the failed step when the refs are read but the clone fails (a branch pointing at a commit the server lacks)', async () => {
    // A loose ref overrides a packed one: main now names an object the repository does not hold,
    // so listing the refs succeeds and fetching the commit fails.
    const missing = '0123456789abcdef0123456789abcdef01234567';
    const ref = path.join(
      bed.git.root,
      `${bed.repo}.git`,
      'refs',
      'heads',
      'main',
    );
    fs.mkdirSync(path.dirname(ref), { recursive: true });
    fs.writeFileSync(ref, `${missing}\n`);
    const h = await bed.harness();
    try {
      await h.declare({ web: WEB('1.1.0') });
      let result: Awaited<ReturnType<typeof h.run>> | undefined;
      // ls-refs, then the clone's own requests.
      expect(
        await uploadPacks(async () => {
          result = await h.run(automation('auto'));
        }),
      ).toBeGreaterThan(1);
      expect(ready(result!)).toEqual({
        status: 'False',
        reason: 'GitOperationFailed',
        message: `failed to checkout source: fatal: remote error: upload-pack: not our ref ${missing}`,
      });
      expect(
        requests().filter(r => r.path.endsWith('/git-receive-pack')),
      ).toEqual([]);
    } finally {
      await h.stop();
    }
  });

  it('retries from a fresh clone when a pushed refspec is rejected because its branch moved, and says so in the log', async () => {
    await bed.git.git(bed.repo, ['branch', 'review', 'main']);
    await bed.git.commitFiles(
      bed.repo,
      'review',
      { 'x.txt': 'x\n' },
      'elsewhere',
    );
    const h = await bed.harness();
    try {
      await h.declare({ web: WEB('1.1.0') });
      const result = await h.run(
        automation('auto', {
          push: { refspec: 'refs/heads/main:refs/heads/review' },
        }),
      );
      expect(ready(result)?.status).toBe('True');
      expect(await file()).toContain('ghcr.io/acme/web:1.1.0');
      expect(
        h.logs.filter(l =>
          l.includes(
            "ImageUpdateAutomation/apps/auto: push to 'main' was rejected: the branch moved on the remote; retrying from a fresh clone",
          ),
        ),
      ).toHaveLength(1);
    } finally {
      await h.stop();
    }
  });

  it('commits as an author with an email and no name, as Flux (go-git) writes it', async () => {
    const h = await bed.harness();
    try {
      await h.declare({ web: WEB('1.1.0') });
      const result = await h.run(
        changed(m => {
          (m.spec as any).git.commit.author = { email: 'bot@example.com' };
        }),
      );
      expect(ready(result)?.status).toBe('True');
      expect(await file()).toContain('ghcr.io/acme/web:1.1.0');
      const commit = await bed.git.git(bed.repo, [
        'cat-file',
        'commit',
        'main',
      ]);
      expect(commit).toMatch(/^author {2}<bot@example\.com> \d+ \+0000$/m);
      expect(commit).toMatch(/^committer {2}<bot@example\.com> \d+ \+0000$/m);
      await bed.git.git(bed.repo, ['fsck', '--strict']);
    } finally {
      await h.stop();
    }
  });

  describe('preview', () => {
    it("shows one policy's change alone, with the commit message, on a fresh clone it removes; nothing is pushed", async () => {
      // Where the preview clones: a directory of this test's own, to see that nothing is left.
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'preview-'));
      const tmpdir = jest.spyOn(os, 'tmpdir').mockReturnValue(tmp);
      const h = await bed.harness();
      try {
        await h.declare({ web: WEB('1.1.0'), api: API('2.0.0') });
        const main = await head();
        // A signing key is only needed to commit: a preview of an automation naming one that
        // does not exist still works.
        const manifest = automation('auto', {
          commit: {
            messageTemplate:
              '{{ range .Changed.Changes }}{{ .OldValue }} -> {{ .NewValue }}{{ end }}',
            signingKey: { secretRef: { name: 'absent' } },
          },
        });
        const preview = await h.preview(manifest, 'web', WEB('1.2.0'));
        expect(preview).toEqual({
          diff: expect.any(String),
          commitMessage: 'ghcr.io/acme/web:1.0.0 -> ghcr.io/acme/web:1.2.0',
        });
        const lines = preview.diff
          .split('\n')
          .filter(l => /^[-+][^-+]/.test(l));
        expect(lines).toEqual([
          '-          image: ghcr.io/acme/web:1.0.0 # {"$imagepolicy": "apps:web"}',
          '+          image: ghcr.io/acme/web:1.2.0 # {"$imagepolicy": "apps:web"}',
        ]);
        // What the marker holds already: no change, no commit message.
        expect(await h.preview(manifest, 'web', WEB('1.0.0'))).toEqual({
          diff: '',
        });
        expect(await head()).toBe(main);
        expect(tmpdir).toHaveBeenCalled();
        expect(fs.readdirSync(tmp)).toEqual([]);
      } finally {
        tmpdir.mockRestore();
        fs.rmSync(tmp, { recursive: true, force: true });
        await h.stop();
      }
    });

    it('says why it cannot preview: the Ready message, or that the automation is suspended', async () => {
      const h = await bed.harness();
      try {
        await h.declare({ web: WEB('1.1.0') });
        await expect(
          h.preview(
            changed(m => {
              m.spec.sourceRef = { kind: 'GitRepository', name: 'absent' };
            }),
            'web',
            WEB('1.2.0'),
          ),
        ).rejects.toThrow(
          'cannot preview ImageUpdateAutomation/apps/auto: failed configuring source manager: unable to get source \'GitRepository/apps/absent\': gitrepositories.source.toolkit.fluxcd.io "absent" not found',
        );
        await expect(
          h.preview(automation('auto'), 'web', WEB('1.2.0'), {
            suspended: true,
          }),
        ).rejects.toThrow(
          'cannot preview ImageUpdateAutomation/apps/auto: it is suspended or not configured',
        );
      } finally {
        await h.stop();
      }
    });
  });

  it('leaves out an ImagePolicy of another apiVersion, as if it did not exist', async () => {
    const h = await bed.harness();
    try {
      await h.declare({ web: WEB('1.1.0') }, [
        {
          apiVersion: 'image.toolkit.fluxcd.io/v1beta2',
          kind: 'ImagePolicy',
          metadata: {
            name: 'api',
            namespace: 'apps',
            labels: { policy: 'api' },
          },
          spec: {
            imageRepositoryRef: { name: 'app' },
            policy: { semver: { range: '*' } },
          },
        },
      ]);
      const result = await h.run(automation('auto'));
      expect(ready(result)?.status).toBe('True');
      expect(
        result.events
          ?.filter(e => e.reason === 'SetterNotApplied')
          .map(e => e.message),
      ).toEqual([
        "deploy/web.yaml:12: marker 'apps:api' names ImagePolicy 'api', which is not among the automation's policies in 'apps'",
      ]);
      expect(await file()).toContain('ghcr.io/acme/web:1.1.0');
    } finally {
      await h.stop();
    }
  });

  it('checks the source out again once it moved, and writes the selection back over a commit that reverted it', async () => {
    const h = await bed.harness();
    try {
      await h.declare({ web: WEB('1.1.0') });
      const manifest = automation('auto');
      expect(ready(await h.run(manifest))?.status).toBe('True');
      expect(await file()).toContain('ghcr.io/acme/web:1.1.0');
      // Someone reverts the update on main; the selection did not change.
      await bed.git.commitFiles(
        bed.repo,
        'main',
        {
          'deploy/web.yaml': deployment(
            'ghcr.io/acme/web:1.0.0',
            'ghcr.io/acme/api:1.0.0',
          ),
        },
        'revert the image update',
      );
      const reverted = await head();
      expect(await uploadPacks(() => h.run(manifest))).toBeGreaterThan(1);
      expect(await head()).not.toBe(reverted);
      expect(await file()).toContain('ghcr.io/acme/web:1.1.0');
    } finally {
      await h.stop();
    }
  });

  describe('a run looks at the repository again, although the source did not move', () => {
    it('when it pushes to another branch, which may have been deleted since', async () => {
      const h = await bed.harness();
      try {
        await h.declare({ web: WEB('1.1.0') });
        const manifest = automation('auto', { push: { branch: 'updates' } });
        expect(ready(await h.run(manifest))?.status).toBe('True');
        expect(await file('updates')).toContain('ghcr.io/acme/web:1.1.0');
        await bed.git.git(bed.repo, ['branch', '-D', 'updates']);
        expect(ready(await h.run(manifest))?.status).toBe('True');
        expect(await file('updates')).toContain('ghcr.io/acme/web:1.1.0');
      } finally {
        await h.stop();
      }
    });

    it('when it pushes a refspec', async () => {
      const h = await bed.harness();
      try {
        await h.declare({ web: WEB('1.1.0') });
        const manifest = automation('auto', {
          push: { refspec: 'refs/heads/main:refs/heads/review' },
        });
        expect(ready(await h.run(manifest))?.status).toBe('True');
        expect(await uploadPacks(() => h.run(manifest))).toBeGreaterThan(1);
        // Without a refspec, nothing moved: the refs are read and nothing is fetched.
        const plain = automation('plain');
        await h.run(plain);
        expect(await uploadPacks(() => h.run(plain))).toBe(1);
      } finally {
        await h.stop();
      }
    });

    it('when any selected image changed: one of two, its name, or a policy selected in place of another', async () => {
      const h = await bed.harness();
      try {
        const manifest = automation('auto');
        await h.declare({ web: WEB('1.1.0'), api: API('2.0.0') });
        await h.run(manifest);
        expect(await file()).toContain('ghcr.io/acme/api:2.0.0');

        // The source is where the last run left it: only the changed selection makes it look again.
        const seen = await head();
        await h.declare({ web: WEB('1.1.0'), api: API('2.1.0') });
        await h.run(manifest);
        expect(await file()).toContain('ghcr.io/acme/api:2.1.0');
        expect(await head()).not.toBe(seen);

        await h.declare({
          web: { name: 'ghcr.io/acme/website', tag: '1.1.0' },
          api: API('2.1.0'),
        });
        await h.run(manifest);
        expect(await file()).toContain('ghcr.io/acme/website:1.1.0');

        await h.declare({
          web: { name: 'ghcr.io/acme/website', tag: '1.1.0' },
          api: API('2.1.0'),
        });
        expect(await uploadPacks(() => h.run(manifest))).toBe(1);

        // Two policies each with one selected, the selected one changing: web, then api alone.
        await h.declare({ web: WEB('1.3.0'), api: undefined });
        await h.run(manifest);
        await h.declare({ web: undefined, api: API('2.3.0') });
        const result = await h.run(manifest);
        expect(ready(result)?.status).toBe('True');
        expect(await file()).toContain('ghcr.io/acme/api:2.3.0');
        expect(result.status.observedPolicies).toEqual({ api: API('2.3.0') });

        // One more policy selected, the other's selection unchanged.
        await h.declare({ web: WEB('1.4.0'), api: API('2.3.0') });
        await h.run(manifest);
        expect(await file()).toContain('ghcr.io/acme/web:1.4.0');
      } finally {
        await h.stop();
      }
    });

    it('when a policy is gone although the others selected what they did', async () => {
      const h = await bed.harness();
      try {
        const manifest = automation('auto');
        await h.declare({ web: WEB('1.1.0'), api: API('2.0.0') });
        await h.run(manifest);
        expect(await file()).toContain('ghcr.io/acme/api:2.0.0');
        // api's ImagePolicy is deleted: its marker names a policy the automation no longer has,
        // which only a run that looks at the repository can say.
        await h.declare({ web: WEB('1.1.0') });
        let result: any;
        expect(
          await uploadPacks(async () => {
            result = await h.run(manifest);
          }),
        ).toBeGreaterThan(1);
        expect(ready(result)?.status).toBe('True');
        expect(
          result.events
            .filter((e: any) => e.type === 'Warning')
            .map((e: any) => e.message),
        ).toEqual([
          "deploy/web.yaml:12: marker 'apps:api' names ImagePolicy 'api', which is not among the automation's policies in 'apps'",
        ]);
        expect(result.status.observedPolicies).toEqual({ web: WEB('1.1.0') });
      } finally {
        await h.stop();
      }
    });

    it('when the digest of a selected tag changed', async () => {
      const h = await bed.harness();
      try {
        const manifest = automation('auto');
        await h.declare({ web: WEB('1.1.0') });
        await h.run(manifest);
        const digest = `sha256:${'a'.repeat(64)}`;
        await h.declare({ web: { ...WEB('1.1.0'), digest } });
        let result: any;
        expect(
          await uploadPacks(async () => {
            result = await h.run(manifest);
          }),
        ).toBeGreaterThan(1);
        expect(result.status.observedPolicies).toEqual({
          web: { ...WEB('1.1.0'), digest },
        });
      } finally {
        await h.stop();
      }
    });
  });
});
