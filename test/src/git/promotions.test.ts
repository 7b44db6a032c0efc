import request from 'supertest';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  pushImage,
  startGitServer,
  startRegistry,
  TestGitServer,
  TestRegistry,
} from '../../testbed';
import { eventually, startBackend } from '../integration/backendHarness';

jest.setTimeout(180_000);

// alice owns the service; bob does not.
const alice = mockCredentials.user.header('user:default/alice');
const bob = mockCredentials.user.header('user:default/bob');

/**
 * A stub permission policy (mocked: the permission backend's ownership conditions are resolved by
 * the catalog on behalf of the user, which the test backend's mocked service auth cannot do): like
 * the demo's restrictive policy, everyone may read, and only the owner, alice, may change the
 * automation, approve or promote now.
 */
const ownersOnly = mockServices.permissions.mock({
  authorize: async (requests, options) => {
    const user = (
      options?.credentials.principal as { userEntityRef?: string } | undefined
    )?.userEntityRef;
    return requests.map(r => ({
      result:
        !r.permission.name.startsWith('image-automation.') ||
        r.permission.name.endsWith('.read') ||
        user === 'user:default/alice'
          ? AuthorizeResult.ALLOW
          : AuthorizeResult.DENY,
    }));
  },
  authorizeConditional: async requests =>
    requests.map(() => ({ result: AuthorizeResult.ALLOW })),
});

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: podinfo
  annotations:
    image-automation.io/manifests: ./automation.yaml
spec: { type: service, lifecycle: production, owner: user:default/alice }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: alice }
spec: {}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: bob }
spec: {}
`;

/** What reaches Backstage's auditor (a recording stand-in for the auditor service). */
const audit: Array<{
  eventId: string;
  meta?: unknown;
  outcome?: string;
  error?: string;
}> = [];
const recordingAuditor = mockServices.auditor.mock({
  createEvent: async options => {
    const entry: (typeof audit)[number] = {
      eventId: options.eventId,
      meta: options.meta,
    };
    audit.push(entry);
    return {
      success: async () => {
        entry.outcome = 'success';
      },
      fail: async ({ error }) => {
        entry.outcome = 'fail';
        entry.error = error.message;
      },
    };
  },
});

function manifests(registryHost: string, gitUrl: string) {
  return `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: podinfo, namespace: flux-system }
spec:
  image: ${registryHost}/stefanprodan/podinfo
  interval: 1m
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: { name: podinfo, namespace: flux-system }
spec:
  imageRepositoryRef:
    name: podinfo
  policy:
    semver:
      range: '>= 1.0.0 <2.0.0'
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: { name: flux-system, namespace: flux-system }
spec:
  interval: 1m
  url: ${gitUrl}
  ref: { branch: main }
  secretRef: { name: git-writer }
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: flux-system
  namespace: flux-system
  annotations:
    promotion.image-automation.io/approvals: "1"
spec:
  interval: 30m
  sourceRef:
    kind: GitRepository
    name: flux-system
  git:
    commit:
      author:
        email: fluxcdbot@users.noreply.github.com
        name: fluxcdbot
      messageTemplate: '{{range .Changed.Changes}}{{print .OldValue}} -> {{println .NewValue}}{{end}}'
    push:
      branch: main
  update:
    path: ./clusters/my-cluster
    strategy: Setters
`;
}

const DEPLOYMENT = (host: string, tag: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
  namespace: default
spec:
  template:
    spec:
      containers:
      - name: podinfod
        image: ${host}/stefanprodan/podinfo:${tag} # {"$imagepolicy": "flux-system:podinfo"}
`;

describe('promotions of a Git target through the real backend, Git server and registry', () => {
  let registry: TestRegistry;
  let git: TestGitServer;
  beforeAll(async () => {
    [registry, git] = await Promise.all([
      startRegistry(),
      startGitServer({ users: { writer: 's3cret-token' } }),
    ]);
    await pushImage(registry, 'stefanprodan/podinfo', ['1.0.0']);
  });
  afterAll(async () => {
    await Promise.all([registry?.stop(), git?.stop()]);
  });

  it('holds a gated update (permissions from a stub owners-only policy) until an owner approves, then commits it with the diff recorded; refuses non-owners; pins, rolls back, promotes now and rejects', async () => {
    await git.createRepository('fleet', {
      'clusters/my-cluster/podinfo.yaml': DEPLOYMENT(registry.host, '1.0.0'),
    });
    const backend = await startBackend({
      files: {
        'catalog.yaml': catalog,
        'automation.yaml': manifests(registry.host, git.url('fleet')),
      },
      config: {
        // #13: granted to the entity, bound to the test bed's Git host, which speaks plain HTTP.
        credentials: {
          'git-writer': {
            type: 'basic',
            username: 'writer',
            password: 's3cret-token',
            allowedEntities: ['component:default/podinfo'],
            hosts: [new URL(git.baseUrl).host],
          },
        },
        git: { insecureHosts: [new URL(git.baseUrl).host] },
      },
      features: [ownersOnly.factory, recordingAuditor.factory],
    });
    const base = '/api/image-automation';
    const get = (path: string, as = alice) =>
      request(backend.server).get(`${base}${path}`).set('Authorization', as);
    const post = (path: string, body: object = {}, as = alice) =>
      request(backend.server)
        .post(`${base}${path}`)
        .set('Authorization', as)
        .send(body);
    const commits = async () =>
      (await git.git('fleet', ['log', '--format=%H', 'main']))
        .split('\n')
        .filter(Boolean);
    const file = () =>
      git.readFile('fleet', 'main', 'clusters/my-cluster/podinfo.yaml');
    const rescan = async () => {
      expect(
        (await post('/objects/ImageRepository/flux-system/podinfo/reconcile'))
          .status,
      ).toBe(200);
      await backend.reconcile();
    };
    const promotions = async (state?: string) =>
      (
        await get(
          `/entities/component/default/podinfo/promotions${
            state ? `?state=${state}` : ''
          }`,
        )
      ).body.items;
    const image = `${registry.host}/stefanprodan/podinfo`;
    try {
      await eventually(async () => {
        await backend.sync();
        const res = await get('/entities/component/default/podinfo/objects');
        return res.body.items?.length === 4 ? true : undefined;
      });
      await backend.reconcile();
      // The file carries what the policy selects: nothing to promote.
      expect(await promotions()).toEqual([]);
      expect(await commits()).toHaveLength(1);

      // 1.1.0 is selected; the approval gate holds it and the file keeps 1.0.0.
      await pushImage(registry, 'stefanprodan/podinfo', ['1.1.0'], {
        seed: '1.1.0',
      });
      await rescan();
      expect(await commits()).toHaveLength(1);
      const [pending] = await promotions('pending');
      expect(pending).toMatchObject({
        state: 'pending',
        subject: 'ImagePolicy/flux-system/podinfo',
        target: {
          id: 'git:ImageUpdateAutomation/flux-system/flux-system',
          type: 'git',
        },
        from: { tag: '1.0.0', image },
        to: { tag: '1.1.0', image },
        gates: [
          { gate: 'approval', state: 'waiting', summary: 'approval 0/1' },
        ],
        actions: { approve: { allowed: true }, promoteNow: { allowed: true } },
      });
      const asBob = (await get(`/promotions/${pending.id}`, bob)).body;
      expect(asBob.actions.approve).toEqual({
        allowed: false,
        reason:
          'You lack the image-automation.promotion.approve permission for component:default/podinfo',
      });

      // The versions matrix: deployed, selected, behind, the marker and the open promotion.
      const versions = (
        await get('/entities/component/default/podinfo/versions')
      ).body;
      expect(versions.items).toEqual([
        expect.objectContaining({
          target: {
            id: 'git:ImageUpdateAutomation/flux-system/flux-system',
            type: 'git',
            objectId: 'ImageUpdateAutomation/flux-system/flux-system',
          },
          subject: 'ImagePolicy/flux-system/podinfo',
          markers: [
            expect.objectContaining({
              file: 'podinfo.yaml',
              line: 11,
              value: `${image}:1.0.0`,
            }),
          ],
          deployed: { image, tag: '1.0.0' },
          selected: expect.objectContaining({ tag: '1.1.0' }),
          newest: expect.objectContaining({ tag: '1.1.0' }),
          behind: expect.objectContaining({ tags: 1 }),
          promotionId: pending.id,
        }),
      ]);

      // The preview is the exact diff and message, and changes nothing.
      const preview = await post(`/promotions/${pending.id}/preview`, {}, bob);
      expect(preview.status).toBe(200);
      expect(preview.body.diff).toBe(
        [
          '--- a/podinfo.yaml',
          '+++ b/podinfo.yaml',
          '@@ -11,1 +11,1 @@',
          `-        image: ${image}:1.0.0 # {"$imagepolicy": "flux-system:podinfo"}`,
          `+        image: ${image}:1.1.0 # {"$imagepolicy": "flux-system:podinfo"}`,
          '',
        ].join('\n'),
      );
      expect(preview.body.commitMessage).toBe(
        `${image}:1.0.0 -> ${image}:1.1.0\n`,
      );
      expect(await commits()).toHaveLength(1);

      // A non-owner may neither approve nor promote now; the record is unchanged.
      const refused = await post(`/promotions/${pending.id}/approve`, {}, bob);
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe(
        'you may not approve the promotions of component:default/podinfo (image-automation.promotion.approve)',
      );
      expect(
        (
          await post(
            `/promotions/${pending.id}/promote`,
            { justification: 'hotfix' },
            bob,
          )
        ).status,
      ).toBe(403);
      expect(
        (await post(`/promotions/${pending.id}/reject`, {}, alice)).body.error
          .message,
      ).toBe('reason is required');
      await backend.reconcile();
      expect(await commits()).toHaveLength(1);

      // The owner approves: the next pass commits 1.1.0 and records the commit and the diff.
      const approved = await post(`/promotions/${pending.id}/approve`, {
        comment: 'looks good',
      });
      expect(approved.status).toBe(200);
      expect(approved.body.votes).toEqual([
        expect.objectContaining({
          actor: 'user:default/alice',
          decision: 'approve',
          reason: 'looks good',
        }),
      ]);
      expect(approved.body.actions.approve).toEqual({
        allowed: false,
        reason: 'You approved this version already',
      });
      await backend.reconcile();
      const afterApproval = await commits();
      expect(afterApproval).toHaveLength(2);
      expect(await file()).toBe(DEPLOYMENT(registry.host, '1.1.0'));
      const applied = (await get(`/promotions/${pending.id}`)).body;
      expect(applied).toMatchObject({
        state: 'applied',
        commit: afterApproval[0],
        diff: preview.body.diff,
      });
      expect(applied.history.map((s: any) => [s.state, s.by])).toEqual([
        ['pending', 'image-automation'],
        ['approved', 'image-automation'],
        ['applying', 'image-automation'],
        ['applied', 'image-automation'],
      ]);
      expect(applied.history[1].note).toBe('every gate passed');
      // The versions view shows the commit at once, not after the automation's next interval.
      const [gitRow] = (
        await get('/entities/component/default/podinfo/versions')
      ).body.items;
      expect(gitRow).toMatchObject({
        deployed: { tag: '1.1.0' },
        behind: { tags: 0 },
      });
      expect(gitRow.promotionId).toBeUndefined();
      const events = (
        await get(
          '/objects/ImageUpdateAutomation/flux-system/flux-system/events',
        )
      ).body.items.map((e: any) => `${e.reason}: ${e.message}`);
      expect(events).toContain(
        'PromotionVote: user:default/alice approved ImagePolicy/flux-system/podinfo on git:ImageUpdateAutomation/flux-system/flux-system (1.0.0 → 1.1.0)',
      );
      expect(
        events.some((e: string) =>
          e.startsWith(
            'PromotionApplied: ImagePolicy/flux-system/podinfo on git:ImageUpdateAutomation/flux-system/flux-system: 1.0.0 → 1.1.0 in commit',
          ),
        ),
      ).toBe(true);
      expect((await post(`/promotions/${pending.id}/approve`)).status).toBe(
        409,
      );

      // Every decision, refused or not, reached the auditor.
      expect(audit.filter(e => e.eventId.startsWith('promotion-'))).toEqual([
        {
          eventId: 'promotion-approve',
          meta: { promotionId: pending.id },
          outcome: 'fail',
          error: refused.body.error.message,
        },
        {
          eventId: 'promotion-promote-now',
          meta: { promotionId: pending.id },
          outcome: 'fail',
          error: expect.stringContaining('you may not promote now'),
        },
        {
          eventId: 'promotion-reject',
          meta: { promotionId: pending.id },
          outcome: 'fail',
          error: 'reason is required',
        },
        {
          eventId: 'promotion-approve',
          meta: { promotionId: pending.id },
          outcome: 'success',
        },
        {
          eventId: 'promotion-approve',
          meta: { promotionId: pending.id },
          outcome: 'fail',
          error: expect.stringContaining('it is applied'),
        },
      ]);

      // Rollback: pinned at 1.0.0, the next pass writes 1.0.0 back.
      expect(
        (
          await post(
            `/promotions/${pending.id}/rollback`,
            { reason: 'errors in prod' },
            bob,
          )
        ).status,
      ).toBe(403);
      const pin = await post(`/promotions/${pending.id}/rollback`, {
        reason: 'errors in prod',
      });
      expect(pin.status).toBe(200);
      expect(pin.body).toMatchObject({
        version: { tag: '1.0.0' },
        by: 'user:default/alice',
        reason: `rollback of ${pending.id}: errors in prod`,
      });
      await backend.reconcile();
      expect(await file()).toBe(DEPLOYMENT(registry.host, '1.0.0'));
      // The pin holds on later runs too, while the policy still selects 1.1.0.
      expect(
        (
          await post(
            '/objects/ImageUpdateAutomation/flux-system/flux-system/reconcile',
          )
        ).status,
      ).toBe(200);
      await backend.reconcile();
      expect(await file()).toBe(DEPLOYMENT(registry.host, '1.0.0'));
      const rollback = (await promotions('applied'))[0];
      expect(rollback).toMatchObject({
        from: { tag: '1.1.0' },
        to: { tag: '1.0.0' },
      });
      expect(
        rollback.history.find((s: any) => s.state === 'approved'),
      ).toMatchObject({ by: 'user:default/alice' });

      // While pinned, the selection waits with the pin gate.
      const held = (await promotions('pending'))[0];
      expect(held).toMatchObject({ to: { tag: '1.1.0' } });
      expect(held.gates[0]).toMatchObject({
        gate: 'pin',
        state: 'waiting',
        summary: `pinned at 1.0.0 by user:default/alice: rollback of ${pending.id}: errors in prod`,
      });
      // Someone who may not change the automation can neither pin nor unpin it.
      const pinBody = {
        targetId: held.target.id,
        subject: held.subject,
        version: { tag: '1.1.0' },
        reason: 'mine now',
      };
      const foreignPin = await post('/pins', pinBody, bob);
      expect(foreignPin.status).toBe(403);
      expect(foreignPin.body.error.message).toBe(
        'you may not pin the image automation of component:default/podinfo (image-automation.object.update)',
      );
      const foreignUnpin = await request(backend.server)
        .delete(
          `${base}/pins?targetId=${encodeURIComponent(
            held.target.id,
          )}&subject=${encodeURIComponent(held.subject)}`,
        )
        .set('Authorization', bob);
      expect(foreignUnpin.status).toBe(403);
      const whilePinned = await post(`/promotions/${held.id}/promote`, {
        justification: 'fix verified in staging',
      });
      expect(whilePinned.status).toBe(409);
      expect(whilePinned.body.error.message).toBe(
        `cannot promote ${held.id} now: ImagePolicy/flux-system/podinfo is pinned at 1.0.0 on git:ImageUpdateAutomation/flux-system/flux-system by user:default/alice (rollback of ${pending.id}: errors in prod); unpin it first`,
      );
      const unpin = await request(backend.server)
        .delete(
          `${base}/pins?targetId=${encodeURIComponent(
            held.target.id,
          )}&subject=${encodeURIComponent(held.subject)}`,
        )
        .set('Authorization', alice);
      expect(unpin.status).toBe(204);

      // Promote now bypasses the approval gate with a justification, recorded.
      const forced = await post(`/promotions/${held.id}/promote`, {
        justification: 'fix verified in staging',
      });
      expect(forced.status).toBe(200);
      expect(forced.body).toMatchObject({
        state: 'approved',
        bypassedGates: ['approval'],
        justification: 'fix verified in staging',
      });
      await backend.reconcile();
      expect(await file()).toBe(DEPLOYMENT(registry.host, '1.1.0'));

      // A rejection holds that version for good; approving it afterwards conflicts.
      await pushImage(registry, 'stefanprodan/podinfo', ['1.2.0'], {
        seed: '1.2.0',
      });
      await rescan();
      const next = (await promotions('pending'))[0];
      expect(next.to.tag).toBe('1.2.0');
      const rejected = await post(`/promotions/${next.id}/reject`, {
        reason: 'breaks the API',
      });
      expect(rejected.body).toMatchObject({ state: 'rejected' });
      await backend.reconcile();
      await rescan();
      expect(await file()).toBe(DEPLOYMENT(registry.host, '1.1.0'));
      expect(await promotions('pending')).toEqual([]);
      const conflict = await post(`/promotions/${next.id}/approve`);
      expect(conflict.status).toBe(409);
      expect(conflict.body.error.message).toBe(
        `cannot approve promotion ${next.id}: it is rejected`,
      );

      // Bad input is refused with the field named.
      expect(
        (
          await get(
            '/entities/component/default/podinfo/promotions?state=waiting',
          )
        ).body.error.message,
      ).toBe(
        "unknown promotion state 'waiting'; known: pending, approved, rejected, applying, applied, failed, superseded",
      );
      expect(
        (
          await post('/pins', {
            targetId: held.target.id,
            subject: held.subject,
            version: { tag: '1.0.0', digest: 'md5:1' },
            reason: 'x',
          })
        ).body.error.message,
      ).toBe("version.digest must be sha256:<64 hex digits>, got 'md5:1'");
      expect(
        (
          await post('/pins', {
            targetId: held.target.id,
            subject: 'ImagePolicy/other-ns/podinfo',
            version: { tag: '1.0.0' },
            reason: 'x',
          })
        ).body.error.message,
      ).toBe(
        "subject must be ImagePolicy/flux-system/<name> for ImageUpdateAutomation/flux-system/flux-system, got 'ImagePolicy/other-ns/podinfo'",
      );
      // No credential in anything the API shows.
      const everything = JSON.stringify([
        await promotions(),
        (await get('/entities/component/default/podinfo/versions')).body,
      ]);
      expect(everything).not.toContain('s3cret-token');
    } finally {
      await backend.stop();
    }
  });
});
