import { TestDatabases } from '@backstage/backend-test-utils';
import {
  AutomationObject,
  PromotionGateResult,
} from '@imageops/backstage-plugin-image-automation-common';
import { clusterTarget } from '../promotions/clusterTargets';
import { DatabaseEventStore } from '../store/DatabaseEventStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabasePromotionStore } from '../store/DatabasePromotionStore';
import { DefaultPromotionService } from './DefaultPromotionService';

// The rules of people's promotion decisions (DefaultPromotionService, behind the permission checks
// of AuthorizedPromotionService): what each decision refuses and how it says so, what it records.
// Real object, promotion and event stores (SQLite); the clock is the test's.

const databases = TestDatabases.create({
  ids: ['SQLITE_3'],
  disableDocker: true,
});

const NS = 'shop';
const SET = `ResourceSet/${NS}/web`;
const AUTOMATION = `ImageUpdateAutomation/${NS}/bump`;
const PROVIDER = `ResourceSetInputProvider/${NS}/releases`;
const TARGET = clusterTarget(SET, 'prod');
const NOW = new Date('2026-06-01T12:00:00.000Z');

function manifest(kind: string, name: string): AutomationObject {
  const apiVersion = kind.startsWith('Image')
    ? 'image.toolkit.fluxcd.io/v1'
    : 'fluxcd.controlplane.io/v1';
  const spec: Record<string, Record<string, unknown>> = {
    ResourceSet: { resources: [] },
    ResourceSetInputProvider: { type: 'Static' },
    ImagePolicy: {
      imageRepositoryRef: { name: 'app' },
      policy: { semver: { range: '>=1.0.0' } },
    },
    ImageUpdateAutomation: {
      interval: '5m',
      sourceRef: { kind: 'GitRepository', name: 'repo' },
      git: { commit: { author: { name: 'bot', email: 'bot@example.test' } } },
      update: { path: './', strategy: 'Setters' },
    },
  };
  return {
    apiVersion,
    kind,
    metadata: { name, namespace: NS },
    spec: spec[kind],
  } as AutomationObject;
}

describe('promotion decisions', () => {
  async function setup() {
    const knex = await databases.init('SQLITE_3');
    const objects = await DatabaseObjectStore.create({ knex });
    const promotions = await DatabasePromotionStore.create({
      knex,
      skipMigrations: true,
    });
    const events = await DatabaseEventStore.create({
      knex,
      skipMigrations: true,
    });
    await objects.syncSource(
      'shop',
      [
        manifest('ResourceSet', 'web'),
        manifest('ResourceSetInputProvider', 'releases'),
        manifest('ResourceSetInputProvider', 'other'),
        manifest('ImageUpdateAutomation', 'bump'),
        manifest('ImagePolicy', 'app'),
      ].map(m => ({
        manifest: m,
        entityRef: 'component:default/shop',
        source: { type: 'config', location: 'shop' },
      })),
    );
    const service = new DefaultPromotionService({
      promotions,
      objects,
      events,
      now: () => NOW,
    });
    /** A promotion of the provider on prod, in `state`, with `gates` as last evaluated. */
    const promotion = async (
      options: {
        state?: 'pending' | 'approved' | 'applied' | 'superseded';
        gates?: PromotionGateResult[];
        from?: boolean;
      } = {},
    ) => {
      const created = await promotions.create({
        entityRef: 'component:default/shop',
        target: TARGET,
        subject: PROVIDER,
        ...(options.from === false
          ? {}
          : { from: { tag: 'v1', revision: 'sha256:1' } }),
        to: { tag: 'v2', revision: 'sha256:2' },
        by: 'image-automation',
        now: NOW,
      });
      const patch = {
        ...(options.gates ? { gates: options.gates } : {}),
        ...(options.state && options.state !== 'pending'
          ? { state: options.state }
          : {}),
      };
      return Object.keys(patch).length
        ? (await promotions.update(created.id, created.revision, patch, NOW))!
        : created;
    };
    const eventMessages = async (id = SET) =>
      (await events.list(id)).items.map(e => `${e.reason}: ${e.message}`);
    return { service, promotions, promotion, eventMessages };
  }

  const gate = (
    name: PromotionGateResult['gate'],
    state: PromotionGateResult['state'],
  ): PromotionGateResult => ({
    gate: name,
    state,
    summary: name,
    evidence: {},
  });

  it('names what is missing: a promotion, a target, a subject', async () => {
    const { service } = await setup();
    await expect(service.find('nope')).rejects.toThrow('no promotion nope');
    const version = { tag: 'v0', revision: 'sha256:0' };
    const pin = (targetId: string, subject = PROVIDER) =>
      service.pin({
        targetId,
        subject,
        version,
        reason: 'hold',
        actor: 'user:default/alice',
      });
    for (const targetId of [
      'cluster:ResourceSet/shop/gone@prod',
      'git:ImageUpdateAutomation/shop/gone',
      `${SET}@prod`,
    ]) {
      await expect(pin(targetId)).rejects.toMatchObject({
        name: 'NotFoundError',
        message: `no promotion target ${targetId}`,
      });
    }
    await expect(
      pin(TARGET.id, `ResourceSetInputProvider/${NS}/ghost`),
    ).rejects.toMatchObject({
      name: 'NotFoundError',
      message: `no ResourceSetInputProvider/${NS}/ghost`,
    });
    // A subject of the wrong kind for the target, of another namespace, or no object id at all.
    for (const [targetId, subject, expected, object] of [
      [TARGET.id, `ImagePolicy/${NS}/app`, 'ResourceSetInputProvider', SET],
      [
        TARGET.id,
        'ResourceSetInputProvider/other/releases',
        'ResourceSetInputProvider',
        SET,
      ],
      [TARGET.id, 'releases', 'ResourceSetInputProvider', SET],
      [`git:${AUTOMATION}`, PROVIDER, 'ImagePolicy', AUTOMATION],
    ]) {
      await expect(pin(targetId, subject)).rejects.toMatchObject({
        name: 'InputError',
        message: `subject must be ${expected}/${NS}/<name> for ${object}, got '${subject}'`,
      });
    }
    await expect(
      pin(`git:${AUTOMATION}`, `ImagePolicy/${NS}/app`),
    ).resolves.toMatchObject({ subject: `ImagePolicy/${NS}/app` });
  });

  it('checks when a pin expires: a time, and not already past', async () => {
    const { service, eventMessages } = await setup();
    const pin = (expiresAt?: string) =>
      service.pin({
        targetId: TARGET.id,
        subject: PROVIDER,
        version: { tag: 'v1', revision: 'sha256:1' },
        reason: 'incident 42',
        actor: 'user:default/alice',
        ...(expiresAt === undefined ? {} : { expiresAt }),
      });
    await expect(pin('tomorrow')).rejects.toMatchObject({
      name: 'InputError',
      message: "expiresAt must be an RFC 3339 time, got 'tomorrow'",
    });
    for (const past of [NOW.toISOString(), '2026-06-01T11:59:59Z']) {
      await expect(pin(past)).rejects.toMatchObject({
        name: 'InputError',
        message: `expiresAt '${past}' is in the past`,
      });
    }
    expect(await eventMessages()).toEqual([]);
    expect(await pin('2026-06-02T14:00:00+02:00')).toEqual({
      targetId: TARGET.id,
      subject: PROVIDER,
      version: { tag: 'v1', revision: 'sha256:1' },
      reason: 'incident 42',
      by: 'user:default/alice',
      at: NOW.toISOString(),
      expiresAt: '2026-06-02T12:00:00.000Z',
    });
    expect(await pin()).not.toHaveProperty('expiresAt');
    expect(await eventMessages()).toEqual([
      `PromotionPinned: user:default/alice pinned ${PROVIDER} on ${TARGET.id} at v1: incident 42`,
      `PromotionPinned: user:default/alice pinned ${PROVIDER} on ${TARGET.id} at v1: incident 42`,
    ]);
  });

  it('promotes now past the gates that had not passed, never past a pin', async () => {
    const { service, promotion, eventMessages } = await setup();
    const gated = await promotion({
      gates: [
        gate('soak', 'waiting'),
        gate('approval', 'passed'),
        gate('pin', 'waiting'),
        gate('window', 'error'),
        gate('soak', 'waiting'),
      ],
    });
    const approved = await service.promoteNow(
      gated.id,
      'user:default/alice',
      'hotfix',
    );
    expect(approved).toMatchObject({
      state: 'approved',
      bypassedGates: ['soak', 'window'],
      justification: 'hotfix',
    });
    expect(approved.history.slice(-1)[0]).toMatchObject({
      state: 'approved',
      by: 'user:default/alice',
      note: 'promoted now, bypassing soak, window: hotfix',
    });
    expect(await eventMessages()).toEqual([
      `PromotionForced: user:default/alice promoted ${PROVIDER} on ${TARGET.id} (v1 → v2) now, bypassing soak, window: hotfix`,
    ]);

    // Nothing left to bypass: said without a list.
    const open = await promotion({ gates: [gate('approval', 'passed')] });
    const plain = await service.promoteNow(open.id, 'user:default/bob', 'go');
    expect(plain.bypassedGates).toEqual([]);
    expect(plain.history.slice(-1)[0].note).toBe('promoted now: go');
    expect((await eventMessages())[0]).toBe(
      `PromotionForced: user:default/bob promoted ${PROVIDER} on ${TARGET.id} (v1 → v2) now: go`,
    );

    const pinnedOne = await promotion();
    await service.pin({
      targetId: TARGET.id,
      subject: PROVIDER,
      version: { tag: 'v1', revision: 'sha256:1' },
      reason: 'incident 42',
      actor: 'user:default/carol',
    });
    await expect(
      service.promoteNow(pinnedOne.id, 'user:default/alice', 'hotfix'),
    ).rejects.toMatchObject({
      name: 'ConflictError',
      message: `cannot promote ${pinnedOne.id} now: ${PROVIDER} is pinned at v1 on ${TARGET.id} by user:default/carol (incident 42); unpin it first`,
    });
    expect((await service.find(pinnedOne.id)).state).toBe('pending');
  });

  it('refuses decisions on promotions no longer open, saying when a newer one replaced it', async () => {
    const { service, promotion, eventMessages } = await setup();
    const superseded = await promotion({ state: 'superseded' });
    await expect(
      service.approve(superseded.id, 'user:default/alice'),
    ).rejects.toMatchObject({
      name: 'ConflictError',
      message: `cannot approve promotion ${superseded.id}: it is superseded: a newer promotion replaced it`,
    });
    const applied = await promotion({ state: 'applied' });
    await expect(
      service.reject(applied.id, 'user:default/alice', 'no'),
    ).rejects.toMatchObject({
      name: 'ConflictError',
      message: `cannot reject promotion ${applied.id}: it is applied`,
    });
    expect(await eventMessages()).toEqual([]);

    // A first promotion moves from nothing.
    const first = await promotion({ from: false });
    await service.approve(first.id, 'user:default/alice', 'looks good');
    expect(await eventMessages()).toEqual([
      `PromotionVote: user:default/alice approved ${PROVIDER} on ${TARGET.id} ((nothing) → v2)`,
    ]);
  });

  it('rolls back only an applied promotion that moved from an earlier version', async () => {
    const { service, promotion } = await setup();
    const pending = await promotion();
    await expect(
      service.rollback(pending.id, 'user:default/alice', 'broken'),
    ).rejects.toMatchObject({
      name: 'ConflictError',
      message: `promotion ${pending.id} is pending: only an applied promotion with an earlier version can be rolled back`,
    });
    const first = await promotion({ state: 'applied', from: false });
    await expect(
      service.rollback(first.id, 'user:default/alice', 'broken'),
    ).rejects.toMatchObject({
      message: `promotion ${first.id} is applied and has no earlier version: only an applied promotion with an earlier version can be rolled back`,
    });
    const applied = await promotion({ state: 'applied' });
    expect(
      await service.rollback(applied.id, 'user:default/alice', 'broken'),
    ).toMatchObject({
      targetId: TARGET.id,
      subject: PROVIDER,
      version: { tag: 'v1', revision: 'sha256:1' },
      reason: `rollback of ${applied.id}: broken`,
    });
  });
});
