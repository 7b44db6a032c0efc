import { startGitServer, TestGitServer } from '../../testbed';
import {
  automation,
  GIT_PASSWORD,
  gitCredential,
  HARNESS_ENTITY,
  ready,
  startAutomationHarness,
} from './automationHarness';

jest.setTimeout(120_000);

const deployment = (image: string, extra = '') => `apiVersion: apps/v1
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
${extra}`;

const WEB = { name: 'ghcr.io/acme/web', tag: '1.1.0' };
const TEMPLATE = `Automated update by {{ .AutomationObject }}

{{ range $file, $objects := .Changed.FileChanges -}}
{{ range $object, $changes := $objects -}}
{{ range $changes -}}
- {{ $file }} {{ $object.Kind }}/{{ $object.Name }}: {{ .OldValue }} -> {{ .NewValue }}
{{ end -}}
{{ end -}}
{{ end -}}`;

describe('ImageUpdateAutomation against a real Git server', () => {
  let git: TestGitServer;
  let counter = 0;
  let repo: string;

  beforeAll(async () => {
    git = await startGitServer({ users: { git: GIT_PASSWORD } });
  });
  afterAll(async () => {
    await git?.stop();
  });
  beforeEach(async () => {
    repo = `repo-${++counter}`;
    await git.createRepository(repo, {
      'deploy/web.yaml': deployment('ghcr.io/acme/web:1.0.0'),
      'deploy/other.yaml': 'kind: ConfigMap\n',
    });
  });

  async function harness(
    options: Partial<Parameters<typeof startAutomationHarness>[0]> = {},
  ) {
    return startAutomationHarness({ git, repo, ...options });
  }

  it('commits the templated message changing only the marked line, then does nothing while nothing changes', async () => {
    const h = await harness();
    try {
      await h.declare({ web: WEB });
      const before = (await git.git(repo, ['rev-parse', 'main'])).trim();
      const first = await h.run(
        automation('auto', { commit: { messageTemplate: TEMPLATE } }),
      );
      expect(ready(first)).toEqual({
        status: 'True',
        reason: 'Succeeded',
        message: 'repository up-to-date',
      });
      const head = (await git.git(repo, ['rev-parse', 'main'])).trim();
      expect(head).not.toBe(before);
      expect(first.status.lastPushCommit).toBe(head);
      expect(first.status.observedSourceRevision).toBe(`main@sha1:${head}`);
      expect(first.status.observedPolicies).toEqual({ web: WEB });
      expect(first.status.lastAutomationRunTime).toBeDefined();
      expect(first.status.lastPushTime).toBeDefined();
      const diff = await git.git(repo, ['diff', '--unified=0', before, head]);
      expect(diff.split('\n').filter(l => /^[-+][^-+]/.test(l))).toEqual([
        '-          image: ghcr.io/acme/web:1.0.0 # {"$imagepolicy": "apps:web"}',
        '+          image: ghcr.io/acme/web:1.1.0 # {"$imagepolicy": "apps:web"}',
      ]);
      const message = await git.git(repo, ['log', '-1', '--format=%B', head]);
      expect(message).toBe(
        'Automated update by apps/auto\n\n- deploy/web.yaml Deployment/web: ghcr.io/acme/web:1.0.0 -> ghcr.io/acme/web:1.1.0\n\n',
      );
      expect(
        await git.git(repo, [
          'log',
          '-1',
          '--format=%an <%ae>|%cn <%ce>',
          head,
        ]),
      ).toBe('Flux Bot <bot@example.com>|Flux Bot <bot@example.com>\n');
      expect(first.events).toEqual(
        [
          {
            type: 'Normal',
            reason: 'Succeeded',
            message: `pushed commit '${head.slice(
              0,
              7,
            )}' to branch 'main'\n${message.replace(/\n$/, '')}`,
          },
        ].map(e => ({
          ...e,
          message: expect.stringContaining(
            `pushed commit '${head.slice(
              0,
              7,
            )}' to branch 'main'\nAutomated update by apps/auto`,
          ),
          // The pushed commit, for commit-status Providers (gitlab): branch and full hash.
          metadata: { revision: `main@sha1:${head}` },
        })),
      );

      const requestsBefore = git.requests.length;
      const second = await h.run(
        automation('auto', { commit: { messageTemplate: TEMPLATE } }),
      );
      expect(ready(second)?.message).toBe('repository up-to-date');
      expect((await git.git(repo, ['rev-parse', 'main'])).trim()).toBe(head);
      // Nothing changed since the last run: one ls-remote, no clone.
      expect(
        git.requests
          .slice(requestsBefore)
          .filter(r => r.service === 'git-upload-pack' && r.method === 'POST'),
      ).toHaveLength(1);
    } finally {
      await h.stop();
    }
  });

  it('pushes to a new branch, and to an existing diverged branch on top of its head', async () => {
    const h = await harness();
    try {
      await h.declare({ web: WEB });
      const main = (await git.git(repo, ['rev-parse', 'main'])).trim();
      const created = await h.run(
        automation('auto', { push: { branch: 'image-updates' } }),
      );
      expect(ready(created)?.status).toBe('True');
      expect((await git.git(repo, ['rev-parse', 'main'])).trim()).toBe(main);
      expect(
        await git.readFile(repo, 'image-updates', 'deploy/web.yaml'),
      ).toContain('web:1.1.0');
      expect(created.status.observedSourceRevision).toBe(`main@sha1:${main}`);
      // The push event names the push branch and the commit pushed there, not the checkout.
      const pushed = (
        await git.git(repo, ['rev-parse', 'image-updates'])
      ).trim();
      expect(
        created.events?.find(e => e.reason === 'Succeeded')?.metadata,
      ).toEqual({ revision: `image-updates@sha1:${pushed}` });

      // Someone else commits on the push branch; the next update builds on it (nothing lost).
      await git.commitFiles(
        repo,
        'image-updates',
        { 'notes.txt': 'keep me\n' },
        'A human commit',
      );
      await h.declare({ web: { name: 'ghcr.io/acme/web', tag: '1.2.0' } });
      const diverged = await h.run(
        automation('auto', { push: { branch: 'image-updates' } }),
      );
      expect(ready(diverged)?.status).toBe('True');
      expect(await git.readFile(repo, 'image-updates', 'notes.txt')).toBe(
        'keep me\n',
      );
      expect(
        await git.readFile(repo, 'image-updates', 'deploy/web.yaml'),
      ).toContain('web:1.2.0');
      expect(await git.git(repo, ['log', '--format=%s', 'image-updates'])).toBe(
        'Update from image update automation\nA human commit\nUpdate from image update automation\nInitial commit\n',
      );
    } finally {
      await h.stop();
    }
  });

  it('checks out a commit or a semver tag and pushes to the given branch', async () => {
    const first = (await git.git(repo, ['rev-parse', 'main'])).trim();
    await git.commitFiles(
      repo,
      'main',
      { 'later.txt': 'later\n' },
      'Later commit',
    );
    await git.git(repo, ['tag', 'v1.0.0', first]);
    const h = await harness();
    try {
      await h.declare({ web: WEB });
      const fromCommit = await h.run(
        automation('c', {
          checkout: { ref: { commit: first } },
          push: { branch: 'from-commit' },
        }),
      );
      expect(ready(fromCommit)?.status).toBe('True');
      expect(fromCommit.status.observedSourceRevision).toBe(`sha1:${first}`);
      expect((await git.git(repo, ['rev-parse', 'from-commit~1'])).trim()).toBe(
        first,
      );
      expect(
        await git.readFile(repo, 'from-commit', 'deploy/web.yaml'),
      ).toContain('web:1.1.0');
      const fromTag = await h.run(
        automation('t', {
          checkout: { ref: { semver: '^1.0.0' } },
          push: { branch: 'from-tag' },
        }),
      );
      expect(fromTag.status.observedSourceRevision).toBe(
        `v1.0.0@sha1:${first}`,
      );
      expect(await git.readFile(repo, 'from-tag', 'later.txt')).toBeUndefined();
    } finally {
      await h.stop();
    }
  });

  it('pushes a refspec after the branch, with push options', async () => {
    const h = await harness();
    try {
      await h.declare({ web: WEB });
      const result = await h.run(
        automation('auto', {
          push: {
            branch: 'auto',
            refspec: 'refs/heads/auto:refs/heads/review/auto',
            options: { 'merge_request.create': '', ci: 'skip' },
          },
        }),
      );
      expect(ready(result)?.status).toBe('True');
      const auto = (await git.git(repo, ['rev-parse', 'auto'])).trim();
      expect((await git.git(repo, ['rev-parse', 'review/auto'])).trim()).toBe(
        auto,
      );
      expect(result.events?.[0].message).toMatch(
        new RegExp(
          `^pushed commit '${auto.slice(
            0,
            7,
          )}' to branch 'auto' and refspecs 'refs/heads/auto:refs/heads/review/auto'\n`,
        ),
      );
      expect(await git.pushOptions(repo)).toEqual([
        ['ci=skip', 'merge_request.create'],
        ['ci=skip', 'merge_request.create'],
      ]);
    } finally {
      await h.stop();
    }
  });

  it('fails clearly with wrong credentials and never reveals the secret', async () => {
    const secret = 'wrong-password-4711';
    const h = await harness({
      credentials: { git: gitCredential(git, { password: secret }) },
    });
    try {
      await h.declare({ web: WEB });
      const result = await h.run(automation('auto'));
      expect(ready(result)).toEqual({
        status: 'False',
        reason: 'GitOperationFailed',
        message: expect.stringMatching(
          /^failed to checkout source: authentication failed for 'http:\/\/127\.0\.0\.1:\d+': the server rejected the credentials, or none were configured \(HTTP 401\)$/,
        ),
      });
      expect(JSON.stringify(result)).not.toContain(secret);
      expect(JSON.stringify(result)).not.toContain(
        Buffer.from(`git:${secret}`).toString('base64'),
      );
      expect(git.requests.some(r => r.badCredentials)).toBe(true);
    } finally {
      await h.stop();
    }
  });

  describe('untrusted manifests (#13)', () => {
    /** Every branch and tag of the repository: `refs/...` → hash. */
    const refsOf = async () =>
      (
        await git.git(repo, [
          'for-each-ref',
          '--format=%(refname) %(objectname)',
        ])
      ).trim();
    const pushes = () =>
      git.requests.filter(r => r.service === 'git-receive-pack').length;

    it('refuses a --mirror refspec (and other option-like or destructive git arguments) before any push', async () => {
      await git.git(repo, ['branch', 'release', 'main']);
      await git.git(repo, ['tag', 'v1.0.0', 'main']);
      const h = await harness();
      try {
        await h.declare({ web: WEB });
        const before = await refsOf();
        const pushesBefore = pushes();
        const mirror = await h.run(
          automation('mirror', {
            push: { branch: 'auto', refspec: '--mirror' },
          }),
        );
        expect(ready(mirror)).toEqual({
          status: 'False',
          reason: 'InvalidGitArgument',
          message:
            "failed configuring source manager: invalid push refspec '--mirror': it starts with '-', which git would read as an option",
        });
        expect(
          mirror.status.conditions?.find(c => c.type === 'Stalled')?.status,
        ).toBe('True');
        const cases: Array<[Record<string, any>, string]> = [
          [
            { push: { refspec: ':refs/heads/release' } },
            "invalid push refspec ':refs/heads/release': an empty source would delete the destination",
          ],
          [
            { push: { refspec: '+refs/heads/main:refs/heads/release' } },
            "invalid push refspec '+refs/heads/main:refs/heads/release': forced updates ('+') are not allowed",
          ],
          [
            { push: { refspec: 'refs/heads/*:refs/heads/*' } },
            "invalid push refspec 'refs/heads/*:refs/heads/*': source 'refs/heads/*': it contains a space, a control character or one of ~ ^ : ? * [ \\",
          ],
          [
            { push: { branch: '--delete' } },
            "invalid spec.git.push.branch '--delete': it starts with '-'",
          ],
          [
            { push: { branch: 'auto', options: { '--force': '' } } },
            "invalid push option '--force': a key must be non-empty, not start with '-' and have no '=' or control characters",
          ],
          [
            { checkout: { ref: { branch: '--upload-pack=touch /tmp/pwned' } } },
            "invalid spec.git.checkout.ref.branch '--upload-pack=touch /tmp/pwned': it starts with '-'",
          ],
          [
            { checkout: { ref: { commit: '--all' } }, push: { branch: 'x' } },
            "invalid spec.git.checkout.ref.commit '--all': it is not a full hexadecimal commit hash",
          ],
        ];
        for (const [gitSpec, message] of cases) {
          const result = await h.run(automation('bad', gitSpec));
          expect(ready(result)).toEqual({
            status: 'False',
            reason: 'InvalidGitArgument',
            message: `failed configuring source manager: ${message}`,
          });
        }
        // Nothing reached the server's receive-pack; every branch and tag is still there.
        expect(pushes()).toBe(pushesBefore);
        expect(await refsOf()).toBe(before);
        expect(before).toMatch(/refs\/heads\/release/);
        expect(before).toMatch(/refs\/tags\/v1\.0\.0/);
        // A legitimate neighbour with a valid refspec still works.
        const good = await h.run(
          automation('good', {
            push: {
              branch: 'auto',
              refspec: 'refs/heads/auto:refs/heads/review/auto',
            },
          }),
        );
        expect(ready(good)?.status).toBe('True');
        expect(await refsOf()).toMatch(
          /refs\/heads\/release[\s\S]*refs\/tags\/v1\.0\.0/,
        );
      } finally {
        await h.stop();
      }
    });

    it('runs git in a clean environment: inherited GIT_* variables change nothing', async () => {
      const h = await harness();
      const saved = { ...process.env };
      try {
        await h.declare({ web: WEB });
        // Would send every fetch and push of the test bed's server to a dead port, and run a hook.
        process.env.GIT_CONFIG_PARAMETERS = `'url.http://127.0.0.1:9/.insteadof'='${git.baseUrl}/'`;
        process.env.GIT_CONFIG_GLOBAL = '/nonexistent/gitconfig';
        const result = await h.run(automation('auto'));
        expect(ready(result)).toEqual({
          status: 'True',
          reason: 'Succeeded',
          message: 'repository up-to-date',
        });
      } finally {
        for (const key of ['GIT_CONFIG_PARAMETERS', 'GIT_CONFIG_GLOBAL']) {
          if (saved[key] === undefined) delete process.env[key];
          else process.env[key] = saved[key];
        }
        await h.stop();
      }
      expect(await git.readFile(repo, 'main', 'deploy/web.yaml')).toContain(
        'web:1.1.0',
      );
    });

    it('refuses a credential not granted to the entity, or bound to another host, without contacting the server', async () => {
      const h = await harness({
        credentials: {
          git: gitCredential(git),
          nobody: gitCredential(git, { allowedEntities: undefined }),
          payments: gitCredential(git, {
            allowedEntities: ['component:default/payments'],
          }),
          elsewhere: gitCredential(git, { hosts: ['git.example.com/team'] }),
          otherPath: gitCredential(git, {
            hosts: [`${new URL(git.baseUrl).host}/team`],
          }),
          unbound: gitCredential(git, { hosts: undefined }),
        },
      });
      try {
        const host = new URL(git.baseUrl).host;
        const cases: Array<[string, string]> = [
          [
            'nobody',
            `credential 'nobody' is not granted to ${HARNESS_ENTITY}: imageAutomation.credentials.nobody.allowedEntities is not set, so no entity may use it`,
          ],
          [
            'payments',
            `credential 'payments' is not granted to ${HARNESS_ENTITY} (imageAutomation.credentials.payments.allowedEntities)`,
          ],
          [
            'elsewhere',
            `credential 'elsewhere' may not be sent to ${host}/${repo}: it is bound to git.example.com/team (imageAutomation.credentials.elsewhere.hosts)`,
          ],
          [
            'otherPath',
            `credential 'otherPath' may not be sent to ${host}/${repo}: it is bound to ${host}/team (imageAutomation.credentials.otherPath.hosts)`,
          ],
          [
            'unbound',
            `credential 'unbound' may not be sent to ${host}/${repo}: imageAutomation.credentials.unbound.hosts is not set, so it may be sent nowhere`,
          ],
        ];
        const requestsBefore = git.requests.length;
        for (const [name, message] of cases) {
          await h.declare({ web: WEB }, [], { secretRef: { name } });
          const result = await h.run(automation('auto'));
          expect(ready(result)).toEqual({
            status: 'False',
            reason: 'SourceManagerFailed',
            message: `failed configuring source manager: ${message}`,
          });
          expect(JSON.stringify(result)).not.toContain(GIT_PASSWORD);
        }
        expect(git.requests.length).toBe(requestsBefore);
        // The granted, bound credential works.
        await h.declare({ web: WEB }, [], { secretRef: { name: 'git' } });
        expect(ready(await h.run(automation('auto')))?.status).toBe('True');
      } finally {
        await h.stop();
      }
    });

    it('refuses a credential reserved for a Kubernetes cluster', async () => {
      const h = await harness({
        credentials: {
          git: gitCredential(git),
          'cluster-token': {
            type: 'token',
            token: 'kube-secret',
            allowedEntities: [HARNESS_ENTITY],
            hosts: [new URL(git.baseUrl).host],
          },
        },
        config: {
          kubernetes: {
            clusters: [
              {
                name: 'prod',
                credential: 'cluster-token',
                url: 'https://kube.example.com',
              },
            ],
          },
        },
      });
      try {
        await h.declare({ web: WEB }, [], {
          secretRef: { name: 'cluster-token' },
        });
        const requestsBefore = git.requests.length;
        const result = await h.run(automation('auto'));
        expect(ready(result)?.message).toBe(
          "failed configuring source manager: credential 'cluster-token' is reserved for Kubernetes cluster 'prod' (imageAutomation.kubernetes.clusters) and cannot be named by a manifest",
        );
        expect(git.requests.length).toBe(requestsBefore);
        expect(JSON.stringify(result)).not.toContain('kube-secret');
      } finally {
        await h.stop();
      }
    });

    it('refuses plain HTTP unless the host is in imageAutomation.git.insecureHosts', async () => {
      const h = await harness({
        config: { git: { insecureHosts: ['git.example.com'] } },
      });
      try {
        await h.declare({ web: WEB });
        const requestsBefore = git.requests.length;
        const result = await h.run(automation('auto'));
        expect(ready(result)).toEqual({
          status: 'False',
          reason: 'InvalidSourceConfiguration',
          message: `failed configuring source manager: plain HTTP Git URL '${git.url(
            repo,
          )}' refused: only https:// is allowed unless the host ${
            new URL(git.baseUrl).host
          } is in imageAutomation.git.insecureHosts: invalid source configuration`,
        });
        expect(git.requests.length).toBe(requestsBefore);
        await h.declare({ web: WEB }, [], {
          url: `file://${git.root}/${repo}.git`,
        });
        expect(ready(await h.run(automation('auto')))?.message).toBe(
          `failed configuring source manager: only https:// and ssh:// Git URLs are supported, got 'file://${git.root}/${repo}.git': invalid source configuration`,
        );
      } finally {
        await h.stop();
      }
    });

    it('pushes with the Backstage integration token only where imageAutomation.git.integrationPush allows', async () => {
      const host = new URL(git.baseUrl).host;
      const integrations = async (url: string) =>
        new URL(url).host === host
          ? { type: 'basic' as const, username: 'git', password: GIT_PASSWORD }
          : undefined;
      const refused = await harness({
        integrations,
        config: {
          git: {
            insecureHosts: [host],
            integrationPush: [{ host, pathPrefix: 'other-team' }],
          },
        },
      });
      try {
        await refused.declare({ web: WEB }, [], { secretRef: undefined });
        const before = (await git.git(repo, ['rev-parse', 'main'])).trim();
        const requestsBefore = git.requests.length;
        const result = await refused.run(automation('auto'));
        expect(ready(result)).toEqual({
          status: 'False',
          reason: 'IntegrationPushNotAllowed',
          message: `failed configuring source manager: the Backstage integration token for ${host}/${repo}.git may not be used to push: the repository is not under an entry of imageAutomation.git.integrationPush (give the GitRepository a secretRef, or add { host, pathPrefix } there)`,
        });
        expect((await git.git(repo, ['rev-parse', 'main'])).trim()).toBe(
          before,
        );
        // Not even a clone: the token was never sent (#13).
        expect(git.requests.slice(requestsBefore)).toEqual([]);
      } finally {
        await refused.stop();
      }
      // Reading is not pushing: an integrationRead entry for the repository does not let the automation push.
      const readOnly = await harness({
        integrations,
        config: {
          git: {
            insecureHosts: [host],
            integrationRead: [{ host, pathPrefix: repo }],
          },
        },
      });
      try {
        await readOnly.declare({ web: WEB }, [], { secretRef: undefined });
        const before = (await git.git(repo, ['rev-parse', 'main'])).trim();
        const requestsBefore = git.requests.length;
        expect(ready(await readOnly.run(automation('auto')))?.reason).toBe(
          'IntegrationPushNotAllowed',
        );
        expect((await git.git(repo, ['rev-parse', 'main'])).trim()).toBe(
          before,
        );
        expect(git.requests.slice(requestsBefore)).toEqual([]);
      } finally {
        await readOnly.stop();
      }
      const allowed = await harness({
        integrations,
        config: {
          git: {
            insecureHosts: [host],
            integrationPush: [{ host, pathPrefix: repo }],
          },
        },
      });
      try {
        await allowed.declare({ web: WEB }, [], { secretRef: undefined });
        expect(ready(await allowed.run(automation('auto')))?.status).toBe(
          'True',
        );
        expect(await git.readFile(repo, 'main', 'deploy/web.yaml')).toContain(
          'web:1.1.0',
        );
      } finally {
        await allowed.stop();
      }
    });
  });

  it('loses no update when two automations race on one branch', async () => {
    // Pushes are held long enough that both automations clone the same head before either
    // push lands: one push must be rejected and redone from a fresh clone.
    const slow = await startGitServer({
      users: { git: GIT_PASSWORD },
      pushDelayMs: 1500,
    });
    const raced = 'raced';
    await slow.createRepository(raced, {
      'deploy/web.yaml': deployment('ghcr.io/acme/web:1.0.0'),
      'deploy/api.yaml': deployment('ghcr.io/acme/api:1.0.0')
        .replace(/apps:web/g, 'apps:api')
        .replace('name: web', 'name: api'),
    });
    const h = await startAutomationHarness({ git: slow, repo: raced });
    try {
      await h.declare({
        web: WEB,
        api: { name: 'ghcr.io/acme/api', tag: '2.0.0' },
      });
      const [a, b] = await Promise.all([
        h.run(
          automation('web-auto', {
            policySelector: { matchLabels: { policy: 'web' } },
          }),
        ),
        h.run(
          automation('api-auto', {
            policySelector: { matchLabels: { policy: 'api' } },
          }),
        ),
      ]);
      expect([ready(a), ready(b)].map(r => r?.message)).toEqual([
        'repository up-to-date',
        'repository up-to-date',
      ]);
      expect(await slow.readFile(raced, 'main', 'deploy/web.yaml')).toContain(
        'ghcr.io/acme/web:1.1.0',
      );
      expect(await slow.readFile(raced, 'main', 'deploy/api.yaml')).toContain(
        'ghcr.io/acme/api:2.0.0',
      );
      expect(
        (await slow.git(raced, ['log', '--format=%s', 'main']))
          .split('\n')
          .filter(Boolean),
      ).toHaveLength(3);
      const pushes = slow.requests.filter(
        r => r.service === 'git-receive-pack' && r.method === 'POST',
      );
      expect(pushes.length).toBeGreaterThanOrEqual(3);
    } finally {
      await h.stop();
      await slow.stop();
    }
  });

  it('loses no update when two automations run at once without delay', async () => {
    await git.commitFiles(
      repo,
      'main',
      {
        'deploy/api.yaml': deployment('ghcr.io/acme/api:1.0.0')
          .replace(/apps:web/g, 'apps:api')
          .replace('name: web', 'name: api'),
      },
      'Add api',
    );
    const h = await harness();
    try {
      await h.declare({
        web: WEB,
        api: { name: 'ghcr.io/acme/api', tag: '2.0.0' },
      });
      const [a, b] = await Promise.all([
        h.run(
          automation('web-auto', {
            policySelector: { matchLabels: { policy: 'web' } },
          }),
        ),
        h.run(
          automation('api-auto', {
            policySelector: { matchLabels: { policy: 'api' } },
          }),
        ),
      ]);
      expect([ready(a), ready(b)].map(r => r?.message)).toEqual([
        'repository up-to-date',
        'repository up-to-date',
      ]);
      expect(await git.readFile(repo, 'main', 'deploy/web.yaml')).toContain(
        'ghcr.io/acme/web:1.1.0',
      );
      expect(await git.readFile(repo, 'main', 'deploy/api.yaml')).toContain(
        'ghcr.io/acme/api:2.0.0',
      );
      expect(
        (await git.git(repo, ['log', '--format=%s', 'main']))
          .split('\n')
          .filter(Boolean),
      ).toHaveLength(4);
    } finally {
      await h.stop();
    }
  });

  it('gives up after five pushes that each lost the race, with a condition naming the cause', async () => {
    // Another writer moves main before every push reaches the server: each push is rejected and
    // retried from a fresh clone, and the fifth rejection ends the run instead of a sixth clone.
    const moving = await startGitServer({
      users: { git: GIT_PASSWORD },
      beforePush: async name => {
        await moving.commitFiles(
          name,
          'main',
          { [`other/${moving.requests.length}.txt`]: 'x\n' },
          'Another writer',
        );
      },
    });
    const contested = 'contested';
    await moving.createRepository(contested, {
      'deploy/web.yaml': deployment('ghcr.io/acme/web:1.0.0'),
      // A marker it cannot apply: warned about once per run, not once per attempt.
      'deploy/odd.yaml': 'b: y # {"$imagepolicy": "apps:ghost"}\n',
    });
    const h = await startAutomationHarness({ git: moving, repo: contested });
    try {
      await h.declare({ web: WEB });
      const result = await h.run(automation('auto'));
      expect(ready(result)).toEqual({
        status: 'False',
        reason: 'GitOperationFailed',
        message:
          "failed to update source: push to 'main' was rejected: the branch moved on the remote",
      });
      const pushes = moving.requests.filter(
        r => r.service === 'git-receive-pack' && r.method === 'POST',
      );
      expect(pushes).toHaveLength(5);
      expect(
        result.events?.filter(e => e.type === 'Warning').map(e => e.message),
      ).toEqual([expect.stringMatching(/^deploy\/odd\.yaml:1: /)]);
      expect(
        h.logs.filter(l => l.includes('retrying from a fresh clone')),
      ).toHaveLength(4);
      // Nothing the automation wrote reached main: only the other writer's five commits.
      expect(
        await moving.readFile(contested, 'main', 'deploy/web.yaml'),
      ).toContain('ghcr.io/acme/web:1.0.0');
      expect(
        (await moving.git(contested, ['log', '--format=%s', 'main']))
          .split('\n')
          .filter(Boolean),
      ).toEqual([...Array(5).fill('Another writer'), 'Initial commit']);
    } finally {
      await h.stop();
      await moving.stop();
    }
  });

  it("reports Flux's errors: no push branch, escaping or missing update path, removed template fields", async () => {
    const h = await harness({ ref: { tag: 'v1' } });
    try {
      await git.git(repo, ['tag', 'v1', 'main']);
      await h.declare({ web: WEB });
      expect(ready(await h.run(automation('auto')))).toEqual({
        status: 'False',
        reason: 'SourceManagerFailed',
        message:
          'failed configuring source manager: push spec not provided, and cannot be inferred from .spec.git.checkout.ref or GitRepository .spec.ref',
      });
      const checkout = { ref: { branch: 'main' } };
      const escaped = await h.run(
        automation('escape', { checkout, update: { path: '../../../deploy' } }),
      );
      expect(ready(escaped)?.status).toBe('True');
      expect(await git.readFile(repo, 'main', 'deploy/web.yaml')).toContain(
        'web:1.1.0',
      );
      expect(
        ready(
          await h.run(
            automation('missing', { checkout, update: { path: './nope' } }),
          ),
        ),
      ).toEqual({
        status: 'False',
        reason: 'UpdateFailed',
        message:
          'failed to apply policies: walking path for files: lstat nope: no such file or directory',
      });
      await h.declare({ web: { name: 'ghcr.io/acme/web', tag: '1.3.0' } });
      const removed = await h.run(
        automation('removed', {
          checkout,
          commit: {
            messageTemplate: '{{ range .Updated.Images }}{{ . }}{{ end }}',
          },
        }),
      );
      expect(ready(removed)?.reason).toBe('RemovedTemplateField');
      expect(
        removed.status.conditions?.find(c => c.type === 'Stalled')?.status,
      ).toBe('True');
    } finally {
      await h.stop();
    }
  });

  it('reports markers it cannot apply as warning events naming file and line', async () => {
    await git.commitFiles(
      repo,
      'main',
      {
        'deploy/odd.yaml':
          'a: x # {"$imagepolicy": "other:web"}\nb: y # {"$imagepolicy": "apps:ghost"}\n',
        'deploy/broken.yaml':
          '{{- if .Values.on }}\nimage: x # {"$imagepolicy": "apps:web"}\n',
      },
      'odd files',
    );
    const h = await harness();
    try {
      await h.declare({ web: WEB });
      const result = await h.run(automation('auto'));
      const warnings = result.events
        ?.filter(e => e.type === 'Warning')
        .map(e => e.message.split(':').slice(0, 2).join(':'));
      expect(warnings).toEqual([
        'deploy/broken.yaml:1',
        'deploy/odd.yaml:1',
        'deploy/odd.yaml:2',
      ]);
    } finally {
      await h.stop();
    }
  });

  it('updates 50 markers in a repository of 1,000 YAML files', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) {
      files[`apps/app-${String(i).padStart(4, '0')}.yaml`] =
        i % 20 === 0
          ? deployment('ghcr.io/acme/web:1.0.0')
          : `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c${i}\ndata:\n  k: "${i}"\n`;
    }
    const big = `big-${counter}`;
    await git.createRepository(big, files);
    const h = await startAutomationHarness({ git, repo: big });
    try {
      await h.declare({ web: WEB });
      const started = Date.now();
      const result = await h.run(automation('auto'));
      const elapsed = Date.now() - started;
      expect(ready(result)?.status).toBe('True');
      const changed = await git.git(big, [
        'diff',
        '--name-only',
        'main~1',
        'main',
      ]);
      expect(changed.split('\n').filter(Boolean)).toHaveLength(50);
      expect(elapsed).toBeLessThan(30_000);
    } finally {
      await h.stop();
    }
  });
});
