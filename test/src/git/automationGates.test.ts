import fs from 'fs';
import path from 'path';
import { AutomationObject } from '@imageops/backstage-plugin-image-automation-common';
import {
  automation,
  GIT_PASSWORD,
  gitServerForSuite,
  HARNESS_ENTITY,
  ready,
  startAutomationHarness,
} from './automationHarness';
import { startGitServer, TestGitServer } from '../../testbed';

jest.setTimeout(120_000);

// Promotions of a Git target, the reconciler called directly on a real Git server with the
// promotion planner on a real (SQLite) store: what a held selection does to a run, and to the next.

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.0.0 # {"$imagepolicy": "apps:web"}
        - name: api
          image: ghcr.io/acme/api:1.0.0 # {"$imagepolicy": "apps:api"}
        - name: worker
          image: ghcr.io/acme/worker:1.0.0 # {"$imagepolicy": "apps:worker"}
`;

const WEB = (tag: string) => ({ name: 'ghcr.io/acme/web', tag });
const API = (tag: string) => ({ name: 'ghcr.io/acme/api', tag });
const WORKER = (tag: string) => ({ name: 'ghcr.io/acme/worker', tag });

function gated(annotations: Record<string, string>): AutomationObject {
  const manifest = automation('auto');
  manifest.metadata.annotations = annotations;
  return manifest;
}

describe('promotions of a Git target, the reconciler called directly', () => {
  const bed = gitServerForSuite('gates', { 'deploy/app.yaml': deployment });

  const file = () => bed.git.readFile(bed.repo, 'main', 'deploy/app.yaml');
  const uploadPacks = () =>
    bed.git.requests.filter(
      r =>
        r.path.startsWith(`/${bed.repo}.git/`) &&
        r.method === 'POST' &&
        r.path.endsWith('/git-upload-pack'),
    ).length;

  it('holds a selection waiting for approval, looks again once it is approved although nothing else moved, then writes it', async () => {
    const h = await bed.harness({ promotions: true });
    try {
      const manifest = gated({
        'promotion.image-automation.io/approvals': '1',
      });
      await h.declare({ web: WEB('1.1.0') }, [manifest]);
      const held = await h.run(manifest);
      expect(ready(held)?.status).toBe('True');
      expect(held.requeueAfterMs).toBe(600_000);
      expect(await file()).toContain('ghcr.io/acme/web:1.0.0');
      const [pending] = await h.promotionsOf(manifest);
      expect(pending).toMatchObject({
        state: 'pending',
        to: { tag: '1.1.0' },
      });

      await h.promotionService.approve(pending.id, 'user:default/alice');
      const before = uploadPacks();
      const written = await h.run(manifest);
      expect(uploadPacks()).toBeGreaterThan(before + 1);
      expect(ready(written)?.status).toBe('True');
      expect(await file()).toContain('ghcr.io/acme/web:1.1.0');
      const [applied] = await h.promotionsOf(manifest);
      expect(applied).toMatchObject({
        id: pending.id,
        state: 'applied',
        commit: written.status.lastPushCommit,
      });
      expect(applied.diff).toContain(
        '+          image: ghcr.io/acme/web:1.1.0',
      );
    } finally {
      await h.stop();
    }
  });

  it('records a written promotion as failed, with the cause, when its push is refused', async () => {
    const h = await bed.harness({ promotions: true });
    try {
      const manifest = gated({});
      await h.declare({ web: WEB('1.1.0') }, [manifest]);
      // The server's update hook refuses every change to main.
      fs.writeFileSync(
        path.join(bed.git.root, `${bed.repo}.git`, 'hooks', 'update'),
        '#!/bin/sh\necho "main is protected" >&2\nexit 1\n',
        { mode: 0o755 },
      );
      const result = await h.run(manifest);
      expect(ready(result)?.reason).toBe('GitOperationFailed');
      const [promotion] = await h.promotionsOf(manifest);
      expect(promotion).toMatchObject({
        state: 'failed',
        to: { tag: '1.1.0' },
      });
      expect(promotion.error).toMatch(
        /^failed to update source: .*main is protected/s,
      );
      expect(result.events?.map(e => e.reason)).toContain('PromotionFailed');
      expect(await file()).toBe(deployment);
    } finally {
      await h.stop();
    }
  });

  it('brings the next run forward to the earliest time a held selection passes by itself, never past the interval', async () => {
    const h = await bed.harness({ promotions: true });
    try {
      const manifest = gated({ 'promotion.image-automation.io/soak': '1h' });
      const repository: AutomationObject = {
        apiVersion: 'image.toolkit.fluxcd.io/v1',
        kind: 'ImageRepository',
        metadata: { name: 'app', namespace: 'apps' },
        spec: { image: 'ghcr.io/acme/app', interval: '1m' },
      };
      await h.declare(
        { web: WEB('1.1.0'), api: API('2.0.0'), worker: WORKER('3.0.0') },
        [manifest, repository],
      );
      const now = new Date();
      const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);
      const scan = (at: Date, tags: string[]) =>
        h.scans.recordScan({
          objectId: 'ImageRepository/apps/app',
          startedAt: at,
          durationMs: 10,
          requests: 1,
          tags,
        });
      // web's 1.1.0 has soaked for 58 minutes, api's 2.0.0 for 55, worker's 3.0.0 for 50: web's
      // gate passes first, though it is decided between api's and worker's (the policies are
      // decided in name order), so neither the first ETA nor the last one decides.
      await scan(minutesAgo(58), ['1.1.0']);
      await scan(minutesAgo(55), ['1.1.0', '2.0.0']);
      await scan(minutesAgo(50), ['1.1.0', '2.0.0', '3.0.0']);
      const result = await h.run(manifest, now);
      expect(ready(result)?.status).toBe('True');
      expect(await file()).toBe(deployment);
      const open = await h.promotionsOf(manifest);
      expect(
        open.map(p => [p.subject, p.to.tag, p.state, p.eta]).sort(),
      ).toEqual([
        [
          'ImagePolicy/apps/api',
          '2.0.0',
          'pending',
          minutesAgo(-5).toISOString(),
        ],
        [
          'ImagePolicy/apps/web',
          '1.1.0',
          'pending',
          minutesAgo(-2).toISOString(),
        ],
        [
          'ImagePolicy/apps/worker',
          '3.0.0',
          'pending',
          minutesAgo(-10).toISOString(),
        ],
      ]);
      // Each promotion is from its own policy's marker, not the first marker of the file.
      expect(open.map(p => [p.subject, p.from]).sort()).toEqual([
        ['ImagePolicy/apps/api', { image: 'ghcr.io/acme/api', tag: '1.0.0' }],
        ['ImagePolicy/apps/web', { image: 'ghcr.io/acme/web', tag: '1.0.0' }],
        [
          'ImagePolicy/apps/worker',
          { image: 'ghcr.io/acme/worker', tag: '1.0.0' },
        ],
      ]);
      // A second after the earliest gate passes.
      expect(result.requeueAfterMs).toBe(121_000);
      // Once it is later than the interval, the interval.
      expect((await h.run(manifest, minutesAgo(20))).requeueAfterMs).toBe(
        600_000,
      );
    } finally {
      await h.stop();
    }
  });

  it('leaves the promotion of a policy whose marker left the repository open, not recorded as applied', async () => {
    const h = await bed.harness({ promotions: true });
    try {
      const manifest = gated({
        'promotion.image-automation.io/approvals': '1',
      });
      await h.declare({ web: WEB('1.1.0') }, [manifest]);
      await h.run(manifest);
      const [pending] = await h.promotionsOf(manifest);
      expect(pending).toMatchObject({ state: 'pending', to: { tag: '1.1.0' } });
      // Someone pins web by hand in the repository: no marker of web is left to carry a version.
      await bed.git.commitFiles(
        bed.repo,
        'main',
        {
          'deploy/app.yaml': deployment.replace(
            'web:1.0.0 # {"$imagepolicy": "apps:web"}',
            'web:1.0.0',
          ),
        },
        'Pin web by hand',
      );
      const result = await h.run(manifest);
      expect(ready(result)?.status).toBe('True');
      expect(await h.promotionsOf(manifest)).toEqual([
        expect.objectContaining({ id: pending.id, state: 'pending' }),
      ]);
      expect(result.status.markers?.map(m => m.setter)).toEqual([
        'apps:api',
        'apps:worker',
      ]);
    } finally {
      await h.stop();
    }
  });

  it('keeps at most 500 markers in status when promotions plan the run, and still writes every one', async () => {
    const h = await bed.harness({ promotions: true });
    try {
      const manifest = gated({});
      const many = `images:\n${'  - ghcr.io/acme/web:1.0.0 # {"$imagepolicy": "apps:web"}\n'.repeat(
        501,
      )}`;
      await bed.git.commitFiles(
        bed.repo,
        'main',
        { 'deploy/many.yaml': many },
        'Many markers',
      );
      await h.declare({ web: WEB('1.1.0') }, [manifest]);
      const result = await h.run(manifest);
      expect(ready(result)?.status).toBe('True');
      // 504 markers in the repository (three in app.yaml), the first 500 in status.
      expect(result.status.markers).toHaveLength(500);
      // Each marker reads as its own line does after the write: web's moved, api's did not.
      expect(result.status.markers?.slice(0, 3)).toEqual([
        {
          file: 'deploy/app.yaml',
          line: 10,
          setter: 'apps:web',
          value: 'ghcr.io/acme/web:1.1.0',
        },
        {
          file: 'deploy/app.yaml',
          line: 12,
          setter: 'apps:api',
          value: 'ghcr.io/acme/api:1.0.0',
        },
        {
          file: 'deploy/app.yaml',
          line: 14,
          setter: 'apps:worker',
          value: 'ghcr.io/acme/worker:1.0.0',
        },
      ]);
      expect(
        (await bed.git.readFile(bed.repo, 'main', 'deploy/many.yaml'))?.split(
          'ghcr.io/acme/web:1.1.0',
        ),
      ).toHaveLength(502);
    } finally {
      await h.stop();
    }
  });
});

describe('promotions of a Git target when another writer wins the push race', () => {
  let racing: TestGitServer;
  let raced = false;
  beforeAll(async () => {
    racing = await startGitServer({
      users: { git: GIT_PASSWORD },
      // Before the first push is handled, another writer commits the very change it carries.
      beforePush: async name => {
        if (raced) return;
        raced = true;
        await racing.commitFiles(
          name,
          'main',
          {
            'deploy/app.yaml': deployment.replace('web:1.0.0', 'web:1.1.0'),
          },
          'Another writer',
        );
      },
    });
    await racing.createRepository('raced', { 'deploy/app.yaml': deployment });
  });
  afterAll(async () => {
    await racing?.stop();
  });

  it('records the promotion as applied without a commit of its own when the branch already carries it, and makes the automations waiting for it due', async () => {
    const h = await startAutomationHarness({
      git: racing,
      repo: 'raced',
      promotions: true,
    });
    try {
      const upstream = gated({});
      // An automation waiting for this entity to run the same version first (its upstream gate).
      const downstream = automation('downstream');
      downstream.metadata.annotations = {
        'promotion.image-automation.io/after': HARNESS_ENTITY,
      };
      await h.declare({ web: WEB('1.1.0') }, [upstream, downstream]);
      await h.run(downstream);
      expect(await h.promotionsOf(downstream)).toEqual([
        expect.objectContaining({
          state: 'pending',
          gates: [
            expect.objectContaining({ gate: 'upstream', state: 'waiting' }),
          ],
        }),
      ]);

      const result = await h.run(upstream);
      expect(raced).toBe(true);
      expect(ready(result)?.status).toBe('True');
      expect(result.dueNow).toEqual(['ImageUpdateAutomation/apps/downstream']);
      const [applied] = await h.promotionsOf(upstream);
      expect(applied).toMatchObject({ state: 'applied', to: { tag: '1.1.0' } });
      expect(applied.commit).toBeUndefined();
      expect(result.status.lastPushCommit).toBeUndefined();
      const pushes = racing.requests.filter(
        r => r.service === 'git-receive-pack' && r.method === 'POST',
      );
      expect(pushes).toHaveLength(1);
      expect(
        (
          await racing.git('raced', ['log', '-1', '--format=%s', 'main'])
        ).trim(),
      ).toBe('Another writer');
    } finally {
      await h.stop();
    }
  });
});
