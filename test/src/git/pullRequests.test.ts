/**
 * Pull-request mode of ImageUpdateAutomation (issue #19) against a real Gitea (v1.26, built by
 * test/testbed/build-gitea.sh): the reconciler with real SQLite stores and the promotion planner
 * pushes to the target's branch and opens, updates, closes the one pull request of the target;
 * reviews and merges are made through Gitea's API as a person would.
 */
import http from 'node:http';
import knexFactory, { Knex } from 'knex';
import { ConfigReader } from '@backstage/config';
import {
  AutomationObject,
  ImageRef,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '@imageops/backstage-plugin-image-automation-backend/src/credentials/NamedCredentials';
import { ImageUpdateAutomationReconciler } from '@imageops/backstage-plugin-image-automation-backend/src/engine/ImageUpdateAutomationReconciler';
import { ReconcileResult } from '@imageops/backstage-plugin-image-automation-backend/src/engine/Reconciler';
import { readGitAccessSettings } from '@imageops/backstage-plugin-image-automation-backend/src/git/gitAccess';
import { PromotionPlanner } from '@imageops/backstage-plugin-image-automation-backend/src/promotions/PromotionPlanner';
import { readPullRequestSettings } from '@imageops/backstage-plugin-image-automation-backend/src/pullRequests/pullRequestMode';
import { DatabaseObjectStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseObjectStore';
import { DatabasePromotionStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabasePromotionStore';
import { DatabaseScanStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseScanStore';
import { DefaultPromotionService } from '@imageops/backstage-plugin-image-automation-backend/src/service/DefaultPromotionService';
import { StoredObject } from '@imageops/backstage-plugin-image-automation-backend/src/store/ObjectStore';
import {
  GiteaRepository,
  GiteaUser,
  startGitea,
  TestGitea,
} from '../../testbed';

jest.setTimeout(240_000);

const ENTITY = 'component:default/shop';
const NS = 'apps';

let gitea: TestGitea;
let reviewer: GiteaUser;

beforeAll(async () => {
  gitea = await startGitea();
  reviewer = await gitea.createUser('reviewer');
});

afterAll(async () => {
  await gitea?.stop();
});

const deployment = (tag: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.example.com/team/app:${tag} # {"$imagepolicy": "apps:app"}
`;

const ref = (tag: string): ImageRef => ({
  name: 'registry.example.com/team/app',
  tag,
});

async function fileOn(
  repo: GiteaRepository,
  branch: string,
  file = 'deploy/app.yaml',
): Promise<string | undefined> {
  const res = await gitea.rawApi(
    'GET',
    `/repos/${repo.fullName}/contents/${file}?ref=${encodeURIComponent(
      branch,
    )}`,
  );
  if (res.status === 404) return undefined;
  const body = JSON.parse(res.body.toString()) as { content: string };
  return Buffer.from(body.content, 'base64').toString('utf8');
}

async function writeFile(
  repo: GiteaRepository,
  content: string,
  message: string,
) {
  const existing = await gitea.rawApi(
    'GET',
    `/repos/${repo.fullName}/contents/deploy/app.yaml?ref=main`,
  );
  const sha =
    existing.status === 200
      ? (JSON.parse(existing.body.toString()) as { sha: string }).sha
      : undefined;
  await gitea.api(
    sha ? 'PUT' : 'POST',
    `/repos/${repo.fullName}/contents/deploy/app.yaml`,
    {
      content: Buffer.from(content).toString('base64'),
      message,
      branch: 'main',
      ...(sha ? { sha } : {}),
    },
  );
}

async function pulls(
  repo: GiteaRepository,
  state: 'open' | 'closed' | 'all' = 'all',
) {
  return gitea.api<
    Array<{
      number: number;
      state: string;
      title: string;
      body: string;
      head: { ref: string };
      merged: boolean;
    }>
  >('GET', `/repos/${repo.fullName}/pulls?state=${state}&limit=50`);
}

/**
 * Merges as a person would. Gitea checks a pull request's mergeability in the background after each
 * push and answers 405 "Please try again later" until it is done: retried for up to 15 s.
 */
async function merge(repo: GiteaRepository, number: number) {
  for (let attempt = 0; ; attempt++) {
    const res = await gitea.rawApi(
      'POST',
      `/repos/${repo.fullName}/pulls/${number}/merge`,
      { Do: 'merge' },
    );
    if (res.status >= 200 && res.status < 300) return;
    if (
      res.status !== 405 ||
      !res.body.toString().includes('try again later') ||
      attempt >= 75
    ) {
      throw new Error(
        `merge of #${number}: HTTP ${res.status}: ${res.body.toString()}`,
      );
    }
    await new Promise(resolve => setTimeout(resolve, 200));
  }
}

/**
 * A counting proxy in front of Gitea's API (127.0.0.1): every call the engine makes goes through it
 * and is recorded as `METHOD path?query`, the repository prefix dropped; the answers are Gitea's own.
 */
async function countingProxy() {
  const calls: string[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url!, gitea.url);
    calls.push(
      `${req.method} ${url.pathname.replace(
        /^\/api\/v1\/repos\/[^/]+\/[^/]+/,
        '',
      )}${url.search}`,
    );
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'content-type', 'accept']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const answer = await fetch(url, {
      method: req.method,
      headers,
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    res.writeHead(answer.status, {
      'content-type': answer.headers.get('content-type') ?? 'application/json',
    });
    res.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    apiBaseUrl: `http://127.0.0.1:${port}/api/v1`,
    calls,
    /** The calls since `from`. */
    since: (from: number) => calls.slice(from),
    close: () => new Promise(resolve => server.close(resolve)),
  };
}

/** The reconciler on real SQLite stores with the promotion planner, against the test Gitea. */
async function harness(
  repo: GiteaRepository,
  options: {
    pullRequestHosts?: string[];
    fetch?: typeof fetch;
    url?: string;
    token?: string;
    reviewsApprove?: boolean;
    /** The pull-request API through another address (a counting proxy in front of Gitea). */
    apiBaseUrl?: string;
  } = {},
) {
  const knex: Knex = knexFactory({
    client: 'better-sqlite3',
    connection: ':memory:',
    useNullAsDefault: true,
  });
  const objects = await DatabaseObjectStore.create({ knex });
  const promotions = await DatabasePromotionStore.create({ knex });
  const scans = await DatabaseScanStore.create({ knex });
  const config = new ConfigReader({
    app: { baseUrl: 'http://backstage.example.com' },
    imageAutomation: {
      credentials: {
        gitea: {
          type: 'basic',
          username: gitea.admin.username,
          password: options.token ?? gitea.adminToken,
          allowedEntities: [ENTITY],
          hosts: [gitea.host],
        },
      },
      git: {
        insecureHosts: [
          gitea.host,
          ...(options.url ? [new URL(options.url).host] : []),
          ...(options.apiBaseUrl ? [new URL(options.apiBaseUrl).host] : []),
        ],
        pullRequests: (options.pullRequestHosts ?? [gitea.host]).map(host => ({
          host,
          type: 'gitea',
          reviewsApprove: options.reviewsApprove ?? false,
          ...(options.apiBaseUrl ? { apiBaseUrl: options.apiBaseUrl } : {}),
        })),
      },
    },
  });
  const planner = new PromotionPlanner({ promotions, objects });
  const settings = {
    ...readPullRequestSettings(config),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  };
  const reconciler = new ImageUpdateAutomationReconciler({
    objects,
    credentials: NamedCredentials.fromConfig(config),
    gitAccess: readGitAccessSettings(config),
    promotions: { planner, scans },
    pullRequests: settings,
  });
  const automation: AutomationObject = {
    apiVersion: 'image.toolkit.fluxcd.io/v1',
    kind: 'ImageUpdateAutomation',
    metadata: {
      name: 'app-updates',
      namespace: NS,
      annotations: { 'image-automation.io/pull-request': 'true' },
    },
    spec: {
      interval: '10m',
      sourceRef: { kind: 'GitRepository', name: 'repo' },
      git: {
        checkout: { ref: { branch: 'main' } },
        commit: {
          author: { name: 'Image Bot', email: 'bot@example.com' },
          messageTemplate:
            'Update app to {{ range .Changed.Changes }}{{ .NewValue }}{{ end }}\n\nAutomation: {{ .AutomationObject }}',
        },
      },
      update: { strategy: 'Setters', path: './deploy' },
    },
  };
  const id = `ImageUpdateAutomation/${NS}/app-updates`;
  let status: ObjectStatus = {};

  async function select(tag: string) {
    const manifests: AutomationObject[] = [
      {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'GitRepository',
        metadata: { name: 'repo', namespace: NS },
        spec: {
          url: options.url ?? repo.cloneUrl,
          interval: '5m',
          ref: { branch: 'main' },
          secretRef: { name: 'gitea' },
        },
      },
      {
        apiVersion: 'image.toolkit.fluxcd.io/v1',
        kind: 'ImagePolicy',
        metadata: { name: 'app', namespace: NS },
        spec: {
          imageRepositoryRef: { name: 'app' },
          policy: { semver: { range: '*' } },
        },
      },
    ];
    await objects.syncSource(
      'config:test.yaml',
      manifests.map(manifest => ({
        manifest,
        entityRef: ENTITY,
        source: { type: 'config' as const, location: 'test.yaml' },
      })),
    );
    const all = await objects.list({ sourceKey: 'config:test.yaml' });
    await objects.markDue(
      all.map(o => o.id),
      new Date(Date.now() - 1000),
    );
    for (const object of await objects.claimDue({
      owner: 'test',
      now: new Date(),
      limit: 100,
      leaseMs: 60_000,
    })) {
      await objects.completeRun(object.id, 'test', {
        status: object.kind === 'ImagePolicy' ? { latestRef: ref(tag) } : {},
        nextRunAt: new Date(Date.now() + 3_600_000),
        ranAt: new Date(),
      });
    }
  }

  let clock = Date.now();
  async function run(
    extra: Partial<StoredObject> = {},
    annotations: Record<string, string> = {},
  ): Promise<ReconcileResult> {
    clock += 60_000;
    const manifest = {
      ...automation,
      metadata: {
        ...automation.metadata,
        annotations: { ...automation.metadata.annotations, ...annotations },
      },
    };
    const object: StoredObject = {
      id,
      apiVersion: manifest.apiVersion,
      kind: manifest.kind,
      namespace: NS,
      name: 'app-updates',
      sourceKey: 'config:test.yaml',
      source: { type: 'config', location: 'test.yaml' },
      entityRef: ENTITY,
      manifest,
      generation: 1,
      status,
      suspended: false,
      nextRunAt: new Date(clock).toISOString(),
      ...extra,
    };
    const result = await reconciler.reconcile(object, new Date(clock));
    status = result.status;
    return result;
  }

  const service = new DefaultPromotionService({ promotions, objects });
  return {
    select,
    run,
    promotions,
    /** The promotion as the API serves it (`GET /promotions/:id`), through JSON. */
    async view(promotionId: string) {
      return JSON.parse(
        JSON.stringify(await service.view(await service.find(promotionId))),
      );
    },
    targetId: `git:${id}`,
    async promotionList() {
      return (await promotions.list({ targetId: `git:${id}`, limit: 100 }))
        .items;
    },
    stop: () => knex.destroy(),
  };
}

/**
 * Opens the pull request for `tag` (its promotion applying) and merges it as a person would,
 * before the next run: the pull request's number, its promotion and the merge commit.
 */
async function mergedByAPerson(
  h: Awaited<ReturnType<typeof harness>>,
  repo: GiteaRepository,
  tag: string,
) {
  await h.select(tag);
  const number = (await h.run()).status.pullRequest!.number;
  const [promotion] = await h.promotionList();
  expect(promotion).toMatchObject({ state: 'applying', to: { tag } });
  await merge(repo, number);
  const { merge_commit_sha: mergeCommit } = await gitea.api<{
    merge_commit_sha: string;
  }>('GET', `/repos/${repo.fullName}/pulls/${number}`);
  return { number, promotion, mergeCommit };
}

function ready(result: ReconcileResult) {
  const c = result.status.conditions?.find(x => x.type === 'Ready');
  return { status: c?.status, reason: c?.reason, message: c?.message ?? '' };
}

const BRANCH = `image-automation/${NS}/app-updates`;

describe('pull-request mode on a real Gitea', () => {
  it('opens one pull request, updates it for a newer version, records the review, and applies the promotion on merge with the merge commit', async () => {
    const repo = await gitea.createRepository('flow');
    await gitea.api(
      'PUT',
      `/repos/${repo.fullName}/collaborators/${reviewer.username}`,
      { permission: 'write' },
    );
    await writeFile(repo, deployment('1.0.0'), 'add deployment');
    const h = await harness(repo);
    try {
      await h.select('1.0.1');
      const first = await h.run();
      expect(ready(first)).toMatchObject({
        status: 'True',
        reason: 'Succeeded',
      });
      const pr = first.status.pullRequest!;
      expect(pr).toMatchObject({
        state: 'open',
        branch: BRANCH,
        base: 'main',
        versions: { app: '1.0.1' },
      });
      expect(await fileOn(repo, BRANCH)).toContain('app:1.0.1 #');
      expect(await fileOn(repo, 'main')).toContain('app:1.0.0 #');
      let open = await pulls(repo, 'open');
      expect(open).toHaveLength(1);
      expect(open[0].title).toBe(
        'Update app to registry.example.com/team/app:1.0.1',
      );
      expect(open[0].body).toContain(
        '`deploy/app.yaml:10` (`apps:app`): `registry.example.com/team/app:1.0.0` → `registry.example.com/team/app:1.0.1`',
      );
      expect(open[0].body).toContain(
        'http://backstage.example.com/catalog/default/component/shop/image-updates',
      );
      let [promotion] = await h.promotionList();
      expect(promotion).toMatchObject({
        state: 'applying',
        to: { tag: '1.0.1' },
      });
      expect(promotion.history.at(-1)?.note).toContain(
        `pull request #${pr.number} ${pr.url}: opened`,
      );
      expect(first.events?.map(e => e.reason)).toContain('PullRequestOpened');
      // The promotion's API view carries its pull request.
      expect((await h.view(promotion.id)).pullRequest).toEqual({
        url: pr.url,
        number: pr.number,
        host: gitea.host,
        state: 'open',
        updatedAt: expect.any(String),
      });
      expect(pr.url).toBe(`${gitea.url}/${repo.fullName}/pulls/${pr.number}`);

      // A newer version: the same pull request, force-pushed, its body saying what changed since.
      await h.select('1.0.2');
      const second = await h.run();
      expect(ready(second).status).toBe('True');
      expect(second.status.pullRequest).toMatchObject({
        number: pr.number,
        versions: { app: '1.0.2' },
      });
      open = await pulls(repo, 'open');
      expect(open).toHaveLength(1);
      expect(open[0].number).toBe(pr.number);
      expect(open[0].body).toContain('### Changed since the last update');
      expect(open[0].body).toContain('- app: 1.0.1 → 1.0.2');
      expect(await fileOn(repo, BRANCH)).toContain('app:1.0.2 #');
      const list = await h.promotionList();
      expect(list.find(p => p.to.tag === '1.0.1')?.state).toBe('superseded');
      expect(list.find(p => p.to.tag === '1.0.2')?.state).toBe('applying');

      // Nothing new: no push (the branch keeps its head), the condition says what it waits for.
      const head = second.status.pullRequest!.head;
      const idle = await h.run();
      expect(ready(idle).message).toContain(
        `pull request #${pr.number} open (waiting for review)`,
      );
      expect(idle.status.pullRequest!.head).toBe(head);
      expect(idle.events?.map(e => e.reason)).not.toContain(
        'PullRequestUpdated',
      );

      // A reviewer approves: recorded on the automation's status.
      await gitea.api(
        'POST',
        `/repos/${repo.fullName}/pulls/${pr.number}/reviews`,
        { event: 'APPROVED', body: 'ship it' },
        { token: reviewer.token },
      );
      const approved = await h.run();
      expect(approved.status.pullRequest!.approvedBy).toEqual([
        reviewer.username,
      ]);
      expect(ready(approved).message).toContain(
        `approved by ${reviewer.username}`,
      );
      const applying = (await h.promotionList()).find(
        p => p.to.tag === '1.0.2',
      )!;
      expect((await h.view(applying.id)).pullRequest).toMatchObject({
        number: pr.number,
        state: 'open',
        approvedBy: [reviewer.username],
        changesRequestedBy: [],
        checks: 'none',
      });
      // A run that learns nothing new writes nothing to the promotion.
      const revision = (await h.promotions.get(applying.id))!.revision;
      await h.run();
      expect((await h.promotions.get(applying.id))!.revision).toBe(revision);
      // The superseded promotion keeps the pull request it was in when it was replaced.
      expect(
        (await h.view(list.find(p => p.to.tag === '1.0.1')!.id)).pullRequest,
      ).toMatchObject({ number: pr.number, state: 'open' });

      // Merged by a person: the promotion is applied with the merge commit.
      await merge(repo, pr.number);
      const merged = await gitea.api<{ merge_commit_sha: string }>(
        'GET',
        `/repos/${repo.fullName}/pulls/${pr.number}`,
      );
      const after = await h.run();
      expect(ready(after)).toMatchObject({
        status: 'True',
        message: 'repository up-to-date',
      });
      expect(after.status.pullRequest).toMatchObject({
        state: 'merged',
        mergeCommit: merged.merge_commit_sha,
      });
      promotion = (await h.promotionList()).find(p => p.to.tag === '1.0.2')!;
      expect(promotion).toMatchObject({
        state: 'applied',
        commit: merged.merge_commit_sha,
      });
      const view = await h.view(promotion.id);
      expect(view).toMatchObject({
        state: 'applied',
        commit: merged.merge_commit_sha,
      });
      expect(view.pullRequest).toMatchObject({
        number: pr.number,
        host: gitea.host,
        state: 'merged',
        mergeCommit: merged.merge_commit_sha,
        approvedBy: [reviewer.username],
      });
      expect(view.history.at(-1)).toMatchObject({
        state: 'applied',
        note: `pull request #${pr.number} ${pr.url} merged as commit ${merged.merge_commit_sha}`,
      });
      expect(promotion.diff).toContain(
        '+          image: registry.example.com/team/app:1.0.2',
      );
      expect(await fileOn(repo, 'main')).toContain('app:1.0.2 #');
      expect(after.events?.map(e => e.reason)).toEqual(
        expect.arrayContaining(['PullRequestMerged', 'PromotionApplied']),
      );

      // No secret in status, events or promotions.
      const everything = JSON.stringify([
        first,
        second,
        idle,
        approved,
        after,
        await h.promotionList(),
        view,
      ]);
      expect(everything).not.toContain(gitea.adminToken);
      expect(everything).not.toContain(
        Buffer.from(`${gitea.admin.username}:${gitea.adminToken}`).toString(
          'base64',
        ),
      );
    } finally {
      await h.stop();
    }
  });

  it('costs one API call per update of its pull request, and three reads per run with nothing new (counted by a proxy in front of Gitea), never a listing', async () => {
    const repo = await gitea.createRepository('calls');
    await writeFile(repo, deployment('1.0.0'), 'add deployment');
    const proxy = await countingProxy();
    const h = await harness(repo, { apiBaseUrl: proxy.apiBaseUrl });
    try {
      await h.select('1.0.1');
      const first = await h.run();
      expect(ready(first).message).toMatch(/^pull request #\d+ opened/);
      const number = first.status.pullRequest!.number;
      expect(proxy.since(0)).toEqual([
        `GET /pulls/main/${encodeURIComponent(BRANCH)}`,
        'POST /pulls',
      ]);
      for (const tag of ['1.0.2', '1.0.3']) {
        await h.select(tag);
        const from = proxy.calls.length;
        const updated = await h.run();
        expect(ready(updated).message).toMatch(
          new RegExp(`^pull request #${number} updated`),
        );
        // The update, nothing read before it: its answer says the pull request is still open.
        expect(proxy.since(from)).toEqual([`PATCH /pulls/${number}`]);
        expect(await fileOn(repo, BRANCH)).toContain(`app:${tag} #`);
      }
      const open = await pulls(repo, 'open');
      expect(open.map(p => p.number)).toEqual([number]);
      expect(open[0].body).toContain('- app: 1.0.2 → 1.0.3');
      const byTag = new Map((await h.promotionList()).map(p => [p.to.tag, p]));
      expect(byTag.get('1.0.1')?.state).toBe('superseded');
      expect(byTag.get('1.0.2')?.state).toBe('superseded');
      expect(byTag.get('1.0.3')?.state).toBe('applying');

      // Nothing new: the pull request is read (a merge or a close is only learnt by asking), and
      // its reviews and head checks, since Gitea does not move `updated_at` on a review.
      const from = proxy.calls.length;
      const idle = await h.run();
      expect(ready(idle).message).toMatch(
        new RegExp(`^pull request #${number} open`),
      );
      const head = idle.status.pullRequest!.head!;
      expect(proxy.since(from)).toEqual([
        `GET /pulls/${number}`,
        `GET /pulls/${number}/reviews?limit=50`,
        `GET /commits/${head}/status`,
      ]);
      expect(proxy.calls.filter(c => /^GET \/pulls(\?|$)/.test(c))).toEqual([]);
    } finally {
      await h.stop();
      await proxy.close();
    }
  });

  it("applies the promotion with the merge commit when a person merged the pull request before a newer version came, learnt from the update's answer, and opens a new pull request for the newer version", async () => {
    const repo = await gitea.createRepository('merged-between');
    await writeFile(repo, deployment('1.0.0'), 'add deployment');
    const proxy = await countingProxy();
    const h = await harness(repo, { apiBaseUrl: proxy.apiBaseUrl });
    try {
      const { number, promotion, mergeCommit } = await mergedByAPerson(
        h,
        repo,
        '1.0.1',
      );

      await h.select('1.0.2');
      const from = proxy.calls.length;
      const result = await h.run();
      expect(ready(result)).toMatchObject({ status: 'True' });
      expect(ready(result).message).toMatch(/^pull request #\d+ opened/);
      // The first call is the update: nothing was read before it.
      expect(proxy.since(from)[0]).toBe(`PATCH /pulls/${number}`);
      const merged = await h.view(promotion.id);
      expect(merged).toMatchObject({ state: 'applied', commit: mergeCommit });
      expect(merged.pullRequest).toMatchObject({
        number,
        state: 'merged',
        mergeCommit,
      });
      expect(
        merged.history.map((step: { state: string }) => step.state),
      ).not.toContain('superseded');
      const newer = (await h.promotionList()).find(p => p.to.tag === '1.0.2')!;
      expect(newer).toMatchObject({
        state: 'applying',
        from: { tag: '1.0.1' },
      });
      expect(result.status.pullRequest).toMatchObject({
        state: 'open',
        versions: { app: '1.0.2' },
        promotions: [newer.id],
      });
      expect(result.status.pullRequest!.number).not.toBe(number);
      expect(result.events?.map(e => e.reason)).toEqual(
        expect.arrayContaining(['PullRequestMerged', 'PromotionApplied']),
      );
      expect(result.events?.map(e => e.reason)).not.toContain(
        'PromotionSuperseded',
      );
      const open = await pulls(repo, 'open');
      expect(open).toHaveLength(1);
      expect(open[0].body).toContain(
        '`registry.example.com/team/app:1.0.1` → `registry.example.com/team/app:1.0.2`',
      );
      expect(await fileOn(repo, 'main')).toContain('app:1.0.1 #');
    } finally {
      await h.stop();
      await proxy.close();
    }
  });

  it('applies the promotion with the merge commit when a person merged the pull request while the newer version waits for its gates, and writes nothing before the host says so', async () => {
    const repo = await gitea.createRepository('merged-gated');
    await writeFile(repo, deployment('1.0.0'), 'add deployment');
    const h = await harness(repo);
    try {
      const { number, promotion, mergeCommit } = await mergedByAPerson(
        h,
        repo,
        '1.0.1',
      );

      // 1.0.2 is selected and needs an approval: nothing to push, so the host is read first.
      await h.select('1.0.2');
      const result = await h.run(
        {},
        { 'promotion.image-automation.io/approvals': '1' },
      );
      expect(ready(result)).toMatchObject({
        status: 'True',
        message: 'repository up-to-date',
      });
      expect(result.status.pullRequest).toMatchObject({
        number,
        state: 'merged',
        mergeCommit,
      });
      const merged = await h.view(promotion.id);
      expect(merged).toMatchObject({ state: 'applied', commit: mergeCommit });
      expect(
        merged.history.map((step: { state: string }) => step.state),
      ).not.toContain('superseded');
      expect(result.events?.map(e => e.reason)).not.toContain(
        'PromotionSuperseded',
      );
      const newer = (await h.promotionList()).find(p => p.to.tag === '1.0.2')!;
      expect(newer).toMatchObject({ state: 'pending', from: { tag: '1.0.1' } });
      expect(await pulls(repo, 'open')).toHaveLength(0);
      expect(await fileOn(repo, 'main')).toContain('app:1.0.1 #');
    } finally {
      await h.stop();
    }
  });

  it('lets an approving review satisfy the approval gate where the platform allows it, and only there', async () => {
    const gated = { 'promotion.image-automation.io/approvals': '1' };
    const repo = await gitea.createRepository('reviewed');
    await gitea.api(
      'PUT',
      `/repos/${repo.fullName}/collaborators/${reviewer.username}`,
      { permission: 'write' },
    );
    await writeFile(repo, deployment('1.0.0'), 'add deployment');

    // Not allowed (the default): the gated promotion waits in Backstage; no pull request.
    const plain = await harness(repo);
    try {
      await plain.select('2.0.0');
      const waiting = await plain.run({}, gated);
      expect(waiting.status.pullRequest).toBeUndefined();
      expect((await plain.promotionList())[0]).toMatchObject({
        state: 'pending',
        to: { tag: '2.0.0' },
      });
      expect(await pulls(repo)).toHaveLength(0);
    } finally {
      await plain.stop();
    }

    const h = await harness(repo, { reviewsApprove: true });
    try {
      await h.select('2.0.0');
      const opened = await h.run({}, gated);
      const pr = opened.status.pullRequest!;
      expect(pr.state).toBe('open');
      let [promotion] = await h.promotionList();
      expect(promotion).toMatchObject({
        state: 'pending',
        to: { tag: '2.0.0' },
      });
      expect(promotion.gates.find(g => g.gate === 'approval')).toMatchObject({
        state: 'waiting',
        summary: 'approval 0/1',
      });
      expect((await h.view(promotion.id)).pullRequest).toMatchObject({
        number: pr.number,
        state: 'open',
      });

      // A review requesting changes is a rejection: still pending.
      await gitea.api(
        'POST',
        `/repos/${repo.fullName}/pulls/${pr.number}/reviews`,
        { event: 'REQUEST_CHANGES', body: 'not yet' },
        { token: reviewer.token },
      );
      await h.run({}, gated);
      promotion = (await h.promotionList())[0];
      expect(promotion.state).toBe('pending');
      expect(promotion.gates.find(g => g.gate === 'approval')?.summary).toBe(
        `rejected by review:${gitea.host}/${reviewer.username}`,
      );
      expect((await h.view(promotion.id)).pullRequest).toMatchObject({
        state: 'open',
        approvedBy: [],
        changesRequestedBy: [reviewer.username],
      });

      // The same reviewer approves: the vote is replaced, the gate passes, the promotion is applying.
      await gitea.api(
        'POST',
        `/repos/${repo.fullName}/pulls/${pr.number}/reviews`,
        { event: 'APPROVED', body: 'ok' },
        { token: reviewer.token },
      );
      await h.run({}, gated);
      promotion = (await h.promotionList())[0];
      expect(promotion.state).toBe('applying');
      const votes = await h.promotions.votes(promotion.id);
      expect(votes).toEqual([
        expect.objectContaining({
          actor: `review:${gitea.host}/${reviewer.username}`,
          decision: 'approve',
        }),
      ]);

      await merge(repo, pr.number);
      const merged = await h.run({}, gated);
      expect(merged.status.pullRequest?.state).toBe('merged');
      expect((await h.promotionList())[0]).toMatchObject({
        state: 'applied',
        commit: merged.status.pullRequest!.mergeCommit,
      });
      expect((await h.view(promotion.id)).pullRequest).toMatchObject({
        state: 'merged',
        mergeCommit: merged.status.pullRequest!.mergeCommit,
      });
    } finally {
      await h.stop();
    }
  });

  it('closes the pull request of a promotion given a gate that a review cannot pass, rather than leave it open to be merged past that gate', async () => {
    const approval = { 'promotion.image-automation.io/approvals': '1' };
    const repo = await gitea.createRepository('regated');
    await writeFile(repo, deployment('1.0.0'), 'add deployment');
    const h = await harness(repo, { reviewsApprove: true });
    try {
      await h.select('2.0.0');
      const opened = await h.run({}, approval);
      const number = opened.status.pullRequest!.number;
      expect(opened.status.pullRequest?.state).toBe('open');
      const [promotion] = await h.promotionList();
      expect(promotion).toMatchObject({
        state: 'pending',
        to: { tag: '2.0.0' },
      });

      // The owners add a soak of a day: no review can make 2.0.0 older.
      const soaking = await h.run(
        {},
        { ...approval, 'promotion.image-automation.io/soak': '24h' },
      );
      expect(ready(soaking).status).toBe('True');
      expect(soaking.status.pullRequest).toBeUndefined();
      expect(
        await gitea.api<{ state: string; merged: boolean }>(
          'GET',
          `/repos/${repo.fullName}/pulls/${number}`,
        ),
      ).toMatchObject({ state: 'closed', merged: false });
      const comments = await gitea.api<Array<{ body: string }>>(
        'GET',
        `/repos/${repo.fullName}/issues/${number}/comments`,
      );
      expect(comments.map(c => c.body).join('\n')).toContain(
        'superseded by app 2.0.0, which waits for its promotion gates',
      );
      const [held] = await h.promotionList();
      expect(held).toMatchObject({ id: promotion.id, state: 'pending' });
      expect(held.gates.find(g => g.gate === 'soak')?.state).toBe('waiting');
      expect(await fileOn(repo, 'main')).toBe(deployment('1.0.0'));
    } finally {
      await h.stop();
    }
  });

  it('puts a version pinned while the pull request is open in its place, on the same pull request', async () => {
    const repo = await gitea.createRepository('pinned');
    await writeFile(repo, deployment('1.0.0'), 'add deployment');
    const h = await harness(repo);
    try {
      await h.select('1.1.0');
      const opened = await h.run();
      const number = opened.status.pullRequest!.number;
      const [proposed] = await h.promotionList();
      expect(proposed).toMatchObject({
        state: 'applying',
        to: { tag: '1.1.0' },
      });

      // Someone pins app at 1.0.5 while the pull request proposes 1.1.0; nothing else moves.
      await h.promotions.pin({
        targetId: h.targetId,
        subject: `ImagePolicy/${NS}/app`,
        version: { image: 'registry.example.com/team/app', tag: '1.0.5' },
        reason: '1.1.0 breaks checkout',
        by: 'user:default/alice',
        at: new Date().toISOString(),
      });
      const repinned = await h.run();
      expect(ready(repinned).status).toBe('True');
      expect(repinned.status.pullRequest).toMatchObject({
        number,
        state: 'open',
      });
      expect(await fileOn(repo, BRANCH)).toBe(deployment('1.0.5'));
      const byTag = Object.fromEntries(
        (await h.promotionList()).map(p => [p.to.tag, p]),
      );
      expect(byTag['1.1.0']).toMatchObject({
        id: proposed.id,
        state: 'superseded',
      });
      expect(
        byTag['1.1.0'].history?.map((s: { note?: string }) => s.note),
      ).toContain('superseded in the pull request by 1.0.5');
      expect(byTag['1.0.5']).toMatchObject({ state: 'applying' });
    } finally {
      await h.stop();
    }
  });

  it('closes its pull request with a comment when the base reaches the version another way', async () => {
    const repo = await gitea.createRepository('elsewhere');
    await writeFile(repo, deployment('1.0.0'), 'add deployment');
    const h = await harness(repo);
    try {
      await h.select('1.0.3');
      const opened = await h.run();
      const number = opened.status.pullRequest!.number;
      await writeFile(repo, deployment('1.0.3'), 'bump by hand');
      const after = await h.run();
      expect(ready(after)).toMatchObject({
        status: 'True',
        message: 'repository up-to-date',
      });
      expect(after.status.pullRequest).toBeUndefined();
      // No automation waits for this entity's version: none is made due.
      expect(after.dueNow).toEqual([]);
      const pr = await gitea.api<{ state: string; merged: boolean }>(
        'GET',
        `/repos/${repo.fullName}/pulls/${number}`,
      );
      expect(pr).toMatchObject({ state: 'closed', merged: false });
      const comments = await gitea.api<Array<{ body: string }>>(
        'GET',
        `/repos/${repo.fullName}/issues/${number}/comments`,
      );
      expect(comments.map(c => c.body).join('\n')).toContain(
        '`main` already carries what this pull request proposed (app 1.0.3)',
      );
      expect(
        (await h.promotionList()).find(p => p.to.tag === '1.0.3')?.state,
      ).toBe('applied');
    } finally {
      await h.stop();
    }
  });

  it('holds what a person closed until a newer version is selected or a reconcile is requested, and never reopens the closed pull request', async () => {
    const repo = await gitea.createRepository('closed');
    await writeFile(repo, deployment('1.0.0'), 'add deployment');
    const h = await harness(repo);
    try {
      await h.select('1.0.4');
      const first = (await h.run()).status.pullRequest!.number;
      await gitea.closePullRequest(repo, first);
      const held = await h.run();
      expect(ready(held)).toMatchObject({
        status: 'False',
        reason: 'PullRequestClosed',
      });
      expect(ready(held).message).toContain(`pull request #${first}`);
      expect(ready(held).message).toContain(
        'app 1.0.4 held until a newer version is selected or a reconcile is requested',
      );
      const rejected = (await h.promotionList()).find(
        p => p.to.tag === '1.0.4',
      )!;
      expect(rejected.state).toBe('rejected');
      expect((await h.view(rejected.id)).pullRequest).toMatchObject({
        number: first,
        state: 'closed',
      });
      // Still held on the next run: no pull request opened, the closed one stays closed.
      expect(ready(await h.run()).reason).toBe('PullRequestClosed');
      expect(await pulls(repo, 'open')).toHaveLength(0);

      // A newer version: a new pull request.
      await h.select('1.0.5');
      const newer = await h.run();
      expect(ready(newer).status).toBe('True');
      const second = newer.status.pullRequest!.number;
      expect(second).not.toBe(first);
      expect((await pulls(repo, 'open')).map(p => p.number)).toEqual([second]);

      // Closed again, then a reconcile is requested: proposed again in a new pull request.
      await gitea.closePullRequest(repo, second);
      expect(ready(await h.run()).reason).toBe('PullRequestClosed');
      const requested = await h.run({
        reconcileRequestedAt: new Date().toISOString(),
      });
      expect(ready(requested).status).toBe('True');
      const third = requested.status.pullRequest!.number;
      expect([first, second]).not.toContain(third);
      expect((await pulls(repo, 'open')).map(p => p.number)).toEqual([third]);
      expect(await fileOn(repo, BRANCH)).toContain('app:1.0.5 #');
    } finally {
      await h.stop();
    }
  });

  it('reports a push refused by branch protection as a condition naming the branch, keeps the promotion open, and succeeds once allowed', async () => {
    const repo = await gitea.createRepository('protected');
    await writeFile(repo, deployment('1.0.0'), 'add deployment');
    await gitea.api('POST', `/repos/${repo.fullName}/branch_protections`, {
      rule_name: 'image-automation/**',
      enable_push: false,
    });
    const h = await harness(repo);
    try {
      await h.select('1.1.0');
      const refused = await h.run();
      expect(ready(refused)).toMatchObject({
        status: 'False',
        reason: 'GitOperationFailed',
      });
      expect(ready(refused).message).toContain(
        `failed to push the pull request branch '${BRANCH}'`,
      );
      expect(ready(refused).message).toMatch(/protected/i);
      expect((await h.promotionList())[0]).toMatchObject({
        state: 'failed',
        to: { tag: '1.1.0' },
      });
      expect(await pulls(repo)).toHaveLength(0);
      await gitea.api(
        'DELETE',
        `/repos/${repo.fullName}/branch_protections/${encodeURIComponent(
          'image-automation/**',
        )}`,
      );
      const allowed = await h.run();
      expect(ready(allowed).status).toBe('True');
      expect(await pulls(repo, 'open')).toHaveLength(1);
    } finally {
      await h.stop();
    }
  });

  it('holds what the deletion of its branch closed, saying so, and pushes the branch anew on a reconcile', async () => {
    const repo = await gitea.createRepository('deleted');
    await writeFile(repo, deployment('1.0.0'), 'add deployment');
    const h = await harness(repo);
    try {
      await h.select('1.2.0');
      const number = (await h.run()).status.pullRequest!.number;
      await gitea.api(
        'DELETE',
        `/repos/${repo.fullName}/branches/${encodeURIComponent(BRANCH)}`,
      );
      // Gitea closes the pull requests of a deleted branch in the background: wait for it to settle.
      let pr = { state: 'open' };
      for (let i = 0; i < 30 && pr.state === 'open'; i++) {
        await new Promise(resolve => setTimeout(resolve, 100));
        pr = await gitea.api<{ state: string }>(
          'GET',
          `/repos/${repo.fullName}/pulls/${number}`,
        );
      }
      const after = await h.run();
      // Gitea (1.26) closes the pull requests of a deleted head branch: held, as any closed one,
      // the condition naming the deletion as a possible cause; nothing is merged or lost.
      expect(pr.state).toBe('closed');
      expect(ready(after)).toMatchObject({
        status: 'False',
        reason: 'PullRequestClosed',
      });
      expect(ready(after).message).toContain(`pull request #${number}`);
      expect(ready(after).message).toContain('because its branch was deleted');
      expect(await pulls(repo, 'open')).toHaveLength(0);
      expect(await fileOn(repo, 'main')).toContain('app:1.0.0 #');
      // A reconcile proposes it again: the branch is pushed anew and a new pull request opened.
      const again = await h.run({
        reconcileRequestedAt: new Date().toISOString(),
      });
      expect(ready(again).status).toBe('True');
      expect(again.status.pullRequest!.number).not.toBe(number);
      expect(await fileOn(repo, BRANCH)).toContain('app:1.2.0 #');
    } finally {
      await h.stop();
    }
  });

  it('reports an API refusal (403) as a condition naming the host and the status, and keeps the promotion open', async () => {
    const repo = await gitea.createRepository('forbidden');
    await writeFile(repo, deployment('1.0.0'), 'add deployment');
    // A token that may push (write:repository) but not read labels (issue scope): Gitea answers 403.
    const res = await fetch(
      `${gitea.url}/api/v1/users/${gitea.admin.username}/tokens`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Basic ${Buffer.from(
            `${gitea.admin.username}:${gitea.admin.password}`,
          ).toString('base64')}`,
        },
        body: JSON.stringify({
          name: 'repository-only',
          scopes: ['write:repository'],
        }),
      },
    );
    expect(res.status).toBe(201);
    const token = ((await res.json()) as { sha1: string }).sha1;
    const h = await harness(repo, { token });
    try {
      await h.select('1.3.0');
      const result = await h.run(
        {},
        { 'image-automation.io/pull-request-labels': 'dependencies' },
      );
      expect(ready(result)).toMatchObject({
        status: 'False',
        reason: 'PullRequestFailed',
      });
      expect(ready(result).message).toContain(
        `${gitea.host}: listing labels failed with HTTP 403`,
      );
      expect((await h.promotionList())[0]).toMatchObject({
        state: 'failed',
        to: { tag: '1.3.0' },
      });
      expect(await pulls(repo)).toHaveLength(0);
      expect(JSON.stringify([result, await h.promotionList()])).not.toContain(
        token,
      );
      // Once the label annotation is dropped, the same version is proposed: nothing was lost.
      const retried = await h.run();
      expect(ready(retried).status).toBe('True');
      expect(await pulls(repo, 'open')).toHaveLength(1);
      expect(
        (await h.promotionList()).find(p => p.to.tag === '1.3.0')?.state,
      ).toBe('applying');
    } finally {
      await h.stop();
    }
  });

  it('asks a rate-limited host again when it said, not at the default retry (limit answered by a stand-in in front of the real Gitea)', async () => {
    const repo = await gitea.createRepository('rate-limited');
    await writeFile(repo, deployment('1.0.0'), 'add deployment');
    let limited = 0;
    // Gitea itself does not rate-limit: the first call that opens a pull request is answered as a
    // host over its limit would answer it, everything else goes through to Gitea.
    const limiting: typeof fetch = async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (
        limited === 0 &&
        init?.method === 'POST' &&
        /\/pulls$/.test(new URL(url).pathname)
      ) {
        limited++;
        return new Response('{"message":"API rate limit exceeded"}', {
          status: 429,
          headers: { 'retry-after': '120' },
        });
      }
      return fetch(input, init);
    };
    const h = await harness(repo, { fetch: limiting });
    try {
      await h.select('1.3.0');
      const result = await h.run();
      expect(limited).toBe(1);
      expect(ready(result)).toMatchObject({
        status: 'False',
        reason: 'PullRequestFailed',
      });
      expect(ready(result).message).toContain(
        'failed with HTTP 429: rate limited, retry after 120s: API rate limit exceeded',
      );
      // 120 s as the host said, where a failure is otherwise retried within a minute.
      expect(result.requeueAfterMs).toBe(120_000);
      expect(await pulls(repo)).toHaveLength(0);
      const retried = await h.run();
      expect(ready(retried).status).toBe('True');
      expect(await pulls(repo, 'open')).toHaveLength(1);
    } finally {
      await h.stop();
    }
  });

  it('never calls a host missing from imageAutomation.git.pullRequests, nor sends a credential to a host the platform did not bind it to', async () => {
    const repo = await gitea.createRepository('abuse');
    await writeFile(repo, deployment('1.0.0'), 'add deployment');
    let calls = 0;
    const counting: typeof fetch = (...args) => {
      calls++;
      return fetch(...args);
    };
    // Not allowed: the Gitea host is not in the list.
    const h = await harness(repo, {
      pullRequestHosts: ['gitea.example.com'],
      fetch: counting,
    });
    try {
      await h.select('1.4.0');
      const result = await h.run();
      expect(ready(result)).toMatchObject({
        status: 'False',
        reason: 'PullRequestHostNotAllowed',
      });
      expect(ready(result).message).toContain(
        `host '${gitea.host}' is not in imageAutomation.git.pullRequests`,
      );
      expect(calls).toBe(0);
      expect(await pulls(repo)).toHaveLength(0);
    } finally {
      await h.stop();
    }

    // A catalog author points the GitRepository at their own server, listed as a pull-request host
    // and plain-HTTP host by mistake: the credential is bound to the Gitea host, so nothing is sent.
    const seen: string[] = [];
    const attacker = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>(resolve =>
      attacker.listen(0, '127.0.0.1', resolve),
    );
    const port = (attacker.address() as { port: number }).port;
    const url = `http://127.0.0.1:${port}/admin/abuse.git`;
    const h2 = await harness(repo, {
      pullRequestHosts: [`127.0.0.1:${port}`],
      url,
    });
    try {
      await h2.select('1.4.0');
      const result = await h2.run();
      expect(ready(result).status).toBe('False');
      expect(seen.filter(s => /Basic|token/i.test(s))).toEqual([]);
    } finally {
      await h2.stop();
      await new Promise(resolve => attacker.close(resolve));
    }
  });
});
