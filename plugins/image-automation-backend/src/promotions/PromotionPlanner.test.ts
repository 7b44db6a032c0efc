import {
  AutomationObject,
  ObjectEvent,
  ObjectStatus,
  PROMOTION_ANNOTATIONS as A,
  PromotionTarget,
  PromotionVersion,
} from '@imageops/backstage-plugin-image-automation-common';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabasePromotionStore } from '../store/DatabasePromotionStore';
import { PromotionRecord } from '../store/PromotionStore';
import { createStoreTestDatabases } from '../store/testDatabases';
import { clusterTarget } from './clusterTargets';
import { gitTarget } from './gitTargets';
import {
  ABANDONED_APPLYING_MS,
  ENGINE_ACTOR,
  PromotionPlanner,
  TargetDecision,
  TargetSelection,
} from './PromotionPlanner';

jest.setTimeout(60_000);

const databases = createStoreTestDatabases();

type Event = Pick<ObjectEvent, 'type' | 'reason' | 'message'>;

const shopRef = 'component:default/shop';
const stagingRef = 'component:default/staging';
const subject = 'ImagePolicy/apps/web';
const prod: PromotionTarget = gitTarget('ImageUpdateAutomation/apps/prod');
const staging: PromotionTarget = gitTarget(
  'ImageUpdateAutomation/apps/staging',
);
const jane = 'user:default/jane';
const bob = 'user:default/bob';

function version(tag: string, digest: string): PromotionVersion {
  return { image: 'ghcr.io/acme/web', tag, digest };
}
const v1 = version('1.0.0', 'sha256:1000');
const v2 = version('1.1.0', 'sha256:1100');
const v3 = version('1.2.0', 'sha256:1200');

/** The controllable clock: minutes after 2030-01-01T00:00Z (a Tuesday). */
function at(minute: number): Date {
  return new Date(Date.UTC(2030, 0, 1, 0, minute));
}
const iso = (minute: number) => at(minute).toISOString();

/** `<subject> on <target>: <from> → <to>`, as the planner's events say it. */
function on(
  target: PromotionTarget,
  from: PromotionVersion,
  to: PromotionVersion,
  what = subject,
) {
  return `${what} on ${target.id}: ${from.tag} → ${to.tag}`;
}

const NO_GATES = 'no gates: carried out on the next pass, as Flux does';
const EVERY_GATE = 'every gate passed';

function selection(overrides: Partial<TargetSelection> = {}): TargetSelection {
  return {
    entityRef: shopRef,
    target: prod,
    subject,
    carried: v1,
    selected: v2,
    ...overrides,
  };
}

/** The promotion of a `write` decision, failing the test on any other decision. */
function written(decision: TargetDecision): PromotionRecord {
  if (decision.action !== 'write') {
    throw new Error(`expected a write, got ${JSON.stringify(decision)}`);
  }
  expect(decision.version).toEqual(decision.promotion.to);
  expect(decision.promotion.state).toBe('applying');
  return decision.promotion;
}

/** The promotion of a `hold` decision that has one, failing the test on any other decision. */
function held(decision: TargetDecision): PromotionRecord {
  if (decision.action !== 'hold' || !decision.promotion) {
    throw new Error(
      `expected a hold with a promotion, got ${JSON.stringify(decision)}`,
    );
  }
  return decision.promotion;
}

function automation(name: string): AutomationObject {
  return {
    apiVersion: 'image.toolkit.fluxcd.io/v1',
    kind: 'ImageUpdateAutomation',
    metadata: { name, namespace: 'apps' },
    spec: {
      interval: '5m',
      sourceRef: { kind: 'GitRepository', name: 'fleet' },
    },
  };
}

function resourceSet(name: string): AutomationObject {
  return {
    apiVersion: 'fluxcd.controlplane.io/v1',
    kind: 'ResourceSet',
    metadata: { name, namespace: 'apps' },
    spec: { resources: [] },
  };
}

function readyStatus(ready: boolean, message: string): ObjectStatus {
  return {
    observedGeneration: 1,
    conditions: [
      {
        type: 'Ready',
        status: ready ? 'True' : 'False',
        reason: ready ? 'Succeeded' : 'GitOperationFailed',
        message,
        lastTransitionTime: iso(0),
      },
    ],
  };
}

describe.each(databases.eachSupportedId())(
  'PromotionPlanner on %p',
  databaseId => {
    async function setup(entities?: Record<string, Record<string, string>>) {
      const knex = await databases.init(databaseId);
      const promotions = await DatabasePromotionStore.create({ knex });
      const objects = await DatabaseObjectStore.create({
        knex,
        skipMigrations: true,
      });
      const lookups: string[] = [];
      const entityAnnotations = entities
        ? async (ref: string) => {
            lookups.push(ref);
            return entities[ref];
          }
        : undefined;
      const planner = new PromotionPlanner({
        promotions,
        objects,
        entityAnnotations,
      });

      /** Declares an object of an entity and stores a run's status for it (under a lease, as a reconciler does). */
      async function declare(
        manifest: AutomationObject,
        entityRef: string,
        status?: ObjectStatus,
      ) {
        const id = `${manifest.kind}/${manifest.metadata.namespace}/${manifest.metadata.name}`;
        // One source per object: a source's sync replaces everything it declared before.
        await objects.syncSource(`test:${id}`, [
          {
            manifest,
            entityRef,
            source: {
              type: 'catalog',
              location: `file:///catalog/${entityRef}.yaml`,
            },
          },
        ]);
        if (status) await setStatus(id, status);
        return id;
      }

      async function setStatus(id: string, status: ObjectStatus) {
        await objects.requestReconcile(id, 'test', new Date(0));
        const claimed = await objects.claimDue({
          owner: 'test',
          now: new Date(Date.now() + 1000),
          limit: 100,
          leaseMs: 60_000,
        });
        expect(claimed.map(o => o.id)).toContain(id);
        for (const object of claimed) {
          await objects.completeRun(object.id, 'test', {
            status: object.id === id ? status : object.status,
            nextRunAt: new Date(Date.now() + 3_600_000),
            ranAt: new Date(),
          });
        }
        expect((await objects.get(id))?.status).toEqual(status);
      }

      async function all(targetId = prod.id) {
        return (await promotions.list({ targetId })).items;
      }

      return {
        knex,
        promotions,
        objects,
        planner,
        lookups,
        declare,
        setStatus,
        all,
      };
    }

    describe('without gate annotations', () => {
      it('creates, approves and writes a changed selection, closes it when applied, and then does nothing', async () => {
        const { planner, promotions, all } = await setup();
        const events: Event[] = [];
        const promotion = written(
          await planner.decide(selection(), at(0), events),
        );

        expect(promotion).toMatchObject({
          entityRef: shopRef,
          target: prod,
          subject,
          from: v1,
          to: v2,
          state: 'applying',
          gates: [],
          createdAt: iso(0),
          updatedAt: iso(0),
          revision: 3,
        });
        expect(promotion.eta).toBeUndefined();
        expect(promotion.closedAt).toBeUndefined();
        expect(promotion.history).toEqual([
          {
            state: 'pending',
            at: iso(0),
            by: ENGINE_ACTOR,
            note: `${subject} selected 1.1.0`,
          },
          { state: 'approved', at: iso(0), by: ENGINE_ACTOR, note: NO_GATES },
          { state: 'applying', at: iso(0), by: ENGINE_ACTOR },
        ]);
        expect(events).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionCreated',
            message: on(prod, v1, v2),
          },
          {
            type: 'Normal',
            reason: 'PromotionApproved',
            message: `${on(prod, v1, v2)}: ${NO_GATES}`,
          },
        ]);
        expect(await promotions.get(promotion.id)).toEqual(promotion);

        const appliedEvents: Event[] = [];
        const commit = '0123456789abcdef0123456789abcdef01234567';
        const diff =
          '-image: ghcr.io/acme/web:1.0.0\n+image: ghcr.io/acme/web:1.1.0';
        await planner.applied(
          promotion,
          { commit, diff },
          at(1),
          appliedEvents,
        );
        const applied = await promotions.get(promotion.id);
        expect(applied).toMatchObject({
          state: 'applied',
          commit,
          diff,
          closedAt: iso(1),
          updatedAt: iso(1),
          revision: 4,
        });
        expect(applied?.error).toBeUndefined();
        expect(applied?.history.slice(3)).toEqual([
          {
            state: 'applied',
            at: iso(1),
            by: ENGINE_ACTOR,
            note: `commit ${commit}`,
          },
        ]);
        expect(appliedEvents).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionApplied',
            message: `${on(prod, v1, v2)} in commit 0123456789ab`,
          },
        ]);
        expect(await planner.carried(prod.id, subject)).toEqual(v2);

        // Reporting the outcome twice changes nothing.
        const again: Event[] = [];
        await planner.applied(promotion, { commit }, at(2), again);
        expect(again).toEqual([]);
        expect(await promotions.get(promotion.id)).toEqual(applied);

        const next: Event[] = [];
        expect(
          await planner.decide(
            selection({ carried: v2, selected: v2 }),
            at(3),
            next,
          ),
        ).toEqual({ action: 'none' });
        expect(next).toEqual([]);
        expect((await all()).map(p => p.id)).toEqual([promotion.id]);
      });

      it('closes an open promotion as applied when the target already carries its version', async () => {
        const { planner, promotions } = await setup();
        const promotion = written(await planner.decide(selection(), at(0), []));
        // The write went through but its outcome was never reported (the instance died).
        const events: Event[] = [];
        expect(
          await planner.decide(selection({ carried: v2 }), at(5), events),
        ).toEqual({ action: 'none' });
        const closed = await promotions.get(promotion.id);
        expect(closed).toMatchObject({ state: 'applied', closedAt: iso(5) });
        expect(closed?.history.slice(-1)).toEqual([
          {
            state: 'applied',
            at: iso(5),
            by: ENGINE_ACTOR,
            note: `${prod.id} carries 1.1.0`,
          },
        ]);
        expect(events).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionApplied',
            message: `${subject} on ${prod.id}: ${prod.id} carries 1.1.0`,
          },
        ]);
        expect(await promotions.findOpen(prod.id, subject)).toBeUndefined();
      });
    });

    describe('the approval gate', () => {
      const annotations = { [A.approvals]: '2' };

      it('holds until two distinct owners approved the digest, not counting stale votes', async () => {
        const { planner, promotions, all } = await setup();
        const events: Event[] = [];
        const pending = held(
          await planner.decide(selection({ annotations }), at(0), events),
        );
        expect(pending).toMatchObject({
          from: v1,
          to: v2,
          state: 'pending',
          revision: 2,
        });
        expect(pending.eta).toBeUndefined();
        expect(pending.gates).toEqual([
          {
            gate: 'approval',
            state: 'waiting',
            summary: 'approval 0/2',
            evidence: {
              required: 2,
              approvedBy: [],
              digest: v2.digest,
              staleVotes: 0,
            },
          },
        ]);
        expect(pending.history).toEqual([
          {
            state: 'pending',
            at: iso(0),
            by: ENGINE_ACTOR,
            note: `${subject} selected 1.1.0`,
          },
        ]);
        expect(events).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionCreated',
            message: on(prod, v1, v2),
          },
          {
            type: 'Normal',
            reason: 'PromotionWaiting',
            message: `${on(prod, v1, v2)} waits: approval 0/2`,
          },
        ]);

        // A pass that finds nothing new changes nothing and says nothing.
        const quiet: Event[] = [];
        expect(
          await planner.decide(selection({ annotations }), at(1), quiet),
        ).toEqual({ action: 'hold', promotion: pending });
        expect(quiet).toEqual([]);

        await promotions.vote(pending.id, {
          actor: jane,
          decision: 'approve',
          digest: pending.to.digest!,
          at: iso(2),
        });
        const one: Event[] = [];
        const afterOne = held(
          await planner.decide(selection({ annotations }), at(3), one),
        );
        expect(afterOne.id).toBe(pending.id);
        expect(afterOne.state).toBe('pending');
        expect(afterOne.gates).toEqual([
          {
            gate: 'approval',
            state: 'waiting',
            summary: 'approval 1/2',
            evidence: {
              required: 2,
              approvedBy: [jane],
              digest: v2.digest,
              staleVotes: 0,
            },
          },
        ]);
        expect(one).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionWaiting',
            message: `${on(prod, v1, v2)} waits: approval 1/2`,
          },
        ]);

        // A vote for another digest, and the same owner again under another spelling, do not count.
        await promotions.vote(pending.id, {
          actor: bob,
          decision: 'approve',
          digest: 'sha256:0999',
          at: iso(4),
        });
        await promotions.vote(pending.id, {
          actor: 'user:default/Jane',
          decision: 'approve',
          digest: v2.digest!,
          at: iso(4),
        });
        const stale = held(
          await planner.decide(selection({ annotations }), at(5), []),
        );
        expect(stale.state).toBe('pending');
        expect(stale.gates).toEqual([
          {
            gate: 'approval',
            state: 'waiting',
            summary: 'approval 1/2',
            evidence: {
              required: 2,
              approvedBy: [jane],
              digest: v2.digest,
              staleVotes: 1,
            },
          },
        ]);

        await promotions.vote(pending.id, {
          actor: bob,
          decision: 'approve',
          digest: v2.digest!,
          at: iso(6),
        });
        const events2: Event[] = [];
        const promotion = written(
          await planner.decide(selection({ annotations }), at(7), events2),
        );
        expect(promotion.id).toBe(pending.id);
        expect(promotion.to).toEqual(v2);
        expect(promotion.gates).toEqual([
          {
            gate: 'approval',
            state: 'passed',
            summary: 'approval 2/2',
            evidence: {
              required: 2,
              approvedBy: [jane, bob],
              digest: v2.digest,
              staleVotes: 1,
            },
          },
        ]);
        expect(promotion.history).toEqual([
          {
            state: 'pending',
            at: iso(0),
            by: ENGINE_ACTOR,
            note: `${subject} selected 1.1.0`,
          },
          { state: 'approved', at: iso(7), by: ENGINE_ACTOR, note: EVERY_GATE },
          { state: 'applying', at: iso(7), by: ENGINE_ACTOR },
        ]);
        expect(events2).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionApproved',
            message: `${on(prod, v1, v2)}: ${EVERY_GATE}`,
          },
        ]);
        expect(await all()).toHaveLength(1);
      });

      it('rebinds the open promotion to a re-pushed tag, and the earlier votes no longer count', async () => {
        const { planner, promotions, all } = await setup();
        const pending = held(
          await planner.decide(selection({ annotations }), at(0), []),
        );
        await promotions.vote(pending.id, {
          actor: jane,
          decision: 'approve',
          digest: v2.digest!,
          at: iso(1),
        });
        expect(
          held(await planner.decide(selection({ annotations }), at(2), []))
            .gates[0].summary,
        ).toBe('approval 1/2');

        const repushed = version('1.1.0', 'sha256:1101');
        const events: Event[] = [];
        const rebound = held(
          await planner.decide(
            selection({ annotations, selected: repushed }),
            at(3),
            events,
          ),
        );
        expect(rebound.id).toBe(pending.id);
        expect(rebound).toMatchObject({
          from: v1,
          to: repushed,
          state: 'pending',
        });
        expect(rebound.history).toEqual([
          {
            state: 'pending',
            at: iso(0),
            by: ENGINE_ACTOR,
            note: `${subject} selected 1.1.0`,
          },
          {
            state: 'pending',
            at: iso(3),
            by: ENGINE_ACTOR,
            note: '1.1.0 now points at sha256:1101 (was sha256:1100): earlier votes no longer count',
          },
        ]);
        expect(rebound.gates).toEqual([
          {
            gate: 'approval',
            state: 'waiting',
            summary: 'approval 0/2',
            evidence: {
              required: 2,
              approvedBy: [],
              digest: 'sha256:1101',
              staleVotes: 1,
            },
          },
        ]);
        expect(events).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionWaiting',
            message: `${on(prod, v1, repushed)} waits: approval 0/2`,
          },
        ]);
        expect(await all()).toHaveLength(1);

        // A second vote for the old digest still does not count.
        await promotions.vote(pending.id, {
          actor: bob,
          decision: 'approve',
          digest: v2.digest!,
          at: iso(4),
        });
        expect(
          held(
            await planner.decide(
              selection({ annotations, selected: repushed }),
              at(5),
              [],
            ),
          ).gates[0].summary,
        ).toBe('approval 0/2');
        await promotions.vote(pending.id, {
          actor: jane,
          decision: 'approve',
          digest: 'sha256:1101',
          at: iso(6),
        });
        expect(
          held(
            await planner.decide(
              selection({ annotations, selected: repushed }),
              at(7),
              [],
            ),
          ).gates[0].summary,
        ).toBe('approval 1/2');
        await promotions.vote(pending.id, {
          actor: bob,
          decision: 'approve',
          digest: 'sha256:1101',
          at: iso(8),
        });
        const decision = await planner.decide(
          selection({ annotations, selected: repushed }),
          at(9),
          [],
        );
        expect(written(decision).id).toBe(pending.id);
        expect(decision).toMatchObject({ action: 'write', version: repushed });
      });

      it('supersedes the pending promotion when a newer version is selected', async () => {
        const { planner, promotions, all } = await setup();
        const first = held(
          await planner.decide(selection({ annotations }), at(0), []),
        );
        const events: Event[] = [];
        const second = held(
          await planner.decide(
            selection({ annotations, selected: v3 }),
            at(1),
            events,
          ),
        );
        expect(second.id).not.toBe(first.id);
        expect(second).toMatchObject({
          from: v1,
          to: v3,
          state: 'pending',
          createdAt: iso(1),
        });
        expect(second.gates.map(g => g.summary)).toEqual(['approval 0/2']);
        expect(second.history).toEqual([
          {
            state: 'pending',
            at: iso(1),
            by: ENGINE_ACTOR,
            note: `${subject} selected 1.2.0`,
          },
        ]);

        const superseded = await promotions.get(first.id);
        expect(superseded).toMatchObject({
          state: 'superseded',
          closedAt: iso(1),
          to: v2,
        });
        expect(superseded?.history.slice(-1)).toEqual([
          {
            state: 'superseded',
            at: iso(1),
            by: ENGINE_ACTOR,
            note: `superseded by ${second.id}`,
          },
        ]);
        expect(events).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionCreated',
            message: on(prod, v1, v3),
          },
          {
            type: 'Normal',
            reason: 'PromotionWaiting',
            message: `${on(prod, v1, v3)} waits: approval 0/2`,
          },
        ]);
        expect((await promotions.findOpen(prod.id, subject))?.id).toBe(
          second.id,
        );
        expect((await all()).map(p => [p.id, p.state])).toEqual([
          [second.id, 'pending'],
          [first.id, 'superseded'],
        ]);
      });

      it('does not propose a rejected version again, but proposes a newer one', async () => {
        const { planner, promotions, all } = await setup();
        const pending = held(
          await planner.decide(selection({ annotations }), at(0), []),
        );
        await promotions.vote(pending.id, {
          actor: jane,
          decision: 'reject',
          digest: v2.digest!,
          at: iso(1),
          reason: 'breaks checkout',
        });
        const rejected = await promotions.update(
          pending.id,
          pending.revision,
          {
            state: 'rejected',
            closedAt: iso(1),
            step: {
              state: 'rejected',
              at: iso(1),
              by: jane,
              note: 'breaks checkout',
            },
          },
          at(1),
        );
        expect(rejected?.state).toBe('rejected');

        for (const minute of [2, 60, 600]) {
          const events: Event[] = [];
          expect(
            await planner.decide(
              selection({ annotations }),
              at(minute),
              events,
            ),
          ).toEqual({ action: 'hold' });
          expect(events).toEqual([]);
        }
        expect(await all()).toEqual([rejected]);
        expect(await planner.needsRun(prod.id, at(600))).toBe(false);

        const events: Event[] = [];
        const newer = held(
          await planner.decide(
            selection({ annotations, selected: v3 }),
            at(601),
            events,
          ),
        );
        expect(newer.id).not.toBe(pending.id);
        expect(newer).toMatchObject({ from: v1, to: v3, state: 'pending' });
        expect(events.map(e => e.reason)).toEqual([
          'PromotionCreated',
          'PromotionWaiting',
        ]);
        expect(await promotions.get(pending.id)).toEqual(rejected);
      });
    });

    describe('the soak gate', () => {
      it('holds until the tag has been seen for the soak, with the eta of its end', async () => {
        const { planner } = await setup();
        const annotations = { [A.soak]: '1h' };
        const firstSeenAt = at(0);
        const events: Event[] = [];
        const pending = held(
          await planner.decide(
            selection({ annotations, firstSeenAt }),
            at(10),
            events,
          ),
        );
        expect(pending.eta).toBe(iso(60));
        expect(pending.gates).toEqual([
          {
            gate: 'soak',
            state: 'waiting',
            summary: 'soak 50m left',
            evidence: { soak: '1h0m0s', firstSeenAt: iso(0), endsAt: iso(60) },
            eta: iso(60),
          },
        ]);
        expect(events).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionCreated',
            message: on(prod, v1, v2),
          },
          {
            type: 'Normal',
            reason: 'PromotionWaiting',
            message: `${on(prod, v1, v2)} waits: soak 50m left`,
          },
        ]);

        const later = held(
          await planner.decide(
            selection({ annotations, firstSeenAt }),
            at(59),
            [],
          ),
        );
        expect(later.state).toBe('pending');
        expect(later.eta).toBe(iso(60));
        expect(later.gates[0].summary).toBe('soak 1m left');

        const done: Event[] = [];
        const promotion = written(
          await planner.decide(
            selection({ annotations, firstSeenAt }),
            at(60),
            done,
          ),
        );
        expect(promotion.id).toBe(pending.id);
        expect(promotion.eta).toBeUndefined();
        expect(promotion.gates).toEqual([
          {
            gate: 'soak',
            state: 'passed',
            summary: 'soaked 1h (soak 1h0m0s)',
            evidence: { soak: '1h0m0s', firstSeenAt: iso(0), endsAt: iso(60) },
          },
        ]);
        expect(promotion.history.slice(1)).toEqual([
          {
            state: 'approved',
            at: iso(60),
            by: ENGINE_ACTOR,
            note: EVERY_GATE,
          },
          { state: 'applying', at: iso(60), by: ENGINE_ACTOR },
        ]);
        expect(done).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionApproved',
            message: `${on(prod, v1, v2)}: ${EVERY_GATE}`,
          },
        ]);
      });

      it('counts the soak from the creation of the promotion when the first-seen time is unknown', async () => {
        const { planner } = await setup();
        const annotations = { [A.soak]: '1h' };
        const pending = held(
          await planner.decide(selection({ annotations }), at(30), []),
        );
        expect(pending.eta).toBe(iso(90));
        expect(
          held(await planner.decide(selection({ annotations }), at(89), []))
            .gates[0].summary,
        ).toBe('soak 1m left');
        written(await planner.decide(selection({ annotations }), at(90), []));
      });
    });

    describe('the window gate', () => {
      const annotations = {
        [A.window]: '0 9 * * 1-5',
        [A.windowDuration]: '8h',
        [A.windowTimeZone]: 'Europe/Berlin',
      };
      const facts = {
        cron: '0 9 * * 1-5',
        timeZone: 'Europe/Berlin',
        duration: '8h0m0s',
      };
      // 2030-01-06 is a Sunday; Berlin is at UTC+1 in January.
      const sundayNoon = new Date('2030-01-06T12:00:00Z');
      const mondayOpening = '2030-01-07T08:00:00.000Z';

      it('holds outside the window with the next opening as eta, and writes inside it', async () => {
        const { planner } = await setup();
        const events: Event[] = [];
        const pending = held(
          await planner.decide(selection({ annotations }), sundayNoon, events),
        );
        expect(pending.eta).toBe(mondayOpening);
        expect(pending.gates).toEqual([
          {
            gate: 'window',
            state: 'waiting',
            summary: 'window opens Mon 09:00 (Europe/Berlin)',
            evidence: { ...facts, opensAt: mondayOpening },
            eta: mondayOpening,
          },
        ]);
        expect(events).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionCreated',
            message: on(prod, v1, v2),
          },
          {
            type: 'Normal',
            reason: 'PromotionWaiting',
            message: `${on(
              prod,
              v1,
              v2,
            )} waits: window opens Mon 09:00 (Europe/Berlin)`,
          },
        ]);

        // One minute before it opens: still held.
        expect(
          held(
            await planner.decide(
              selection({ annotations }),
              new Date('2030-01-07T07:59:00Z'),
              [],
            ),
          ).state,
        ).toBe('pending');

        const monday = new Date('2030-01-07T10:00:00Z');
        const promotion = written(
          await planner.decide(selection({ annotations }), monday, []),
        );
        expect(promotion.id).toBe(pending.id);
        expect(promotion.eta).toBeUndefined();
        expect(promotion.gates).toEqual([
          {
            gate: 'window',
            state: 'passed',
            summary: 'window open until Mon 17:00 (Europe/Berlin)',
            evidence: {
              ...facts,
              openedAt: mondayOpening,
              closesAt: '2030-01-07T16:00:00.000Z',
            },
          },
        ]);
      });

      it('holds after the window closed on Friday until it opens on Monday', async () => {
        const { planner } = await setup();
        const fridayEvening = new Date('2030-01-11T16:30:00Z'); // 17:30 in Berlin
        const pending = held(
          await planner.decide(selection({ annotations }), fridayEvening, []),
        );
        expect(pending.eta).toBe('2030-01-14T08:00:00.000Z');
        expect(pending.gates[0].summary).toBe(
          'window opens Mon 09:00 (Europe/Berlin)',
        );
        written(
          await planner.decide(
            selection({ annotations }),
            new Date('2030-01-14T08:00:00Z'),
            [],
          ),
        );
      });
    });

    describe('malformed gate annotations', () => {
      it('holds, reports each problem as an error gate and a Warning event, and never writes', async () => {
        const { planner, promotions } = await setup();
        const annotations = {
          [A.soak]: '3d',
          'promotion.image-automation.io/aprovals': '2',
        };
        const soakProblem = `${A.soak}: '3d' is not a Go duration such as 72h or 30m (time: unknown unit "d" in duration "3d")`;
        const typoProblem =
          "unknown promotion gate annotation 'promotion.image-automation.io/aprovals'; known: approvals, soak, window, " +
          "window-duration, window-time-zone, after, after-target, after-soak; did you mean 'approvals'?";
        const events: Event[] = [];
        const pending = held(
          await planner.decide(
            selection({ annotations, firstSeenAt: at(0) }),
            at(0),
            events,
          ),
        );
        expect(pending.state).toBe('pending');
        expect(pending.eta).toBeUndefined();
        expect(pending.gates).toEqual([
          {
            gate: 'approval',
            state: 'error',
            summary: typoProblem,
            evidence: { annotation: 'promotion.image-automation.io/aprovals' },
          },
          {
            gate: 'soak',
            state: 'error',
            summary: soakProblem,
            evidence: { annotation: A.soak },
          },
        ]);
        expect(events).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionCreated',
            message: on(prod, v1, v2),
          },
          {
            type: 'Warning',
            reason: 'InvalidPromotionGate',
            message: soakProblem,
          },
          {
            type: 'Warning',
            reason: 'InvalidPromotionGate',
            message: typoProblem,
          },
        ]);

        // Votes and time do not get it through; the same problems are not reported on every pass.
        await promotions.vote(pending.id, {
          actor: jane,
          decision: 'approve',
          digest: v2.digest!,
          at: iso(1),
        });
        await promotions.vote(pending.id, {
          actor: bob,
          decision: 'approve',
          digest: v2.digest!,
          at: iso(1),
        });
        for (const minute of [1, 60 * 24 * 4, 60 * 24 * 365]) {
          const later: Event[] = [];
          const decision = await planner.decide(
            selection({ annotations, firstSeenAt: at(0) }),
            at(minute),
            later,
          );
          expect(decision.action).toBe('hold');
          expect(held(decision).gates.map(g => g.state)).toEqual([
            'error',
            'error',
          ]);
          expect(later).toEqual([]);
        }
        expect(
          (await promotions.get(pending.id))?.history.map(s => s.state),
        ).toEqual(['pending']);
      });

      it('holds on an unknown gate annotation even when no gate is configured', async () => {
        const { planner } = await setup();
        const annotations = { 'promotion.image-automation.io/freeze': 'true' };
        const events: Event[] = [];
        const pending = held(
          await planner.decide(selection({ annotations }), at(0), events),
        );
        expect(pending.gates).toEqual([
          {
            gate: 'approval',
            state: 'error',
            summary: expect.stringContaining(
              "unknown promotion gate annotation 'promotion.image-automation.io/freeze'",
            ),
            evidence: { annotation: 'promotion.image-automation.io/freeze' },
          },
        ]);
        expect(events.map(e => [e.type, e.reason])).toEqual([
          ['Normal', 'PromotionCreated'],
          ['Warning', 'InvalidPromotionGate'],
        ]);
        expect(events[1].message).toContain(
          'promotion.image-automation.io/freeze',
        );
        expect(
          (await planner.decide(selection({ annotations }), at(600), []))
            .action,
        ).toBe('hold');
      });
    });

    describe('entity annotations', () => {
      it('apply when the object has none, and the object wins key by key', async () => {
        const { planner, lookups } = await setup({
          [shopRef]: { [A.approvals]: '2', [A.soak]: '1h' },
        });
        const fromEntity = held(
          await planner.decide(selection({ firstSeenAt: at(0) }), at(120), []),
        );
        expect(fromEntity.gates.map(g => [g.gate, g.state, g.summary])).toEqual(
          [
            ['approval', 'waiting', 'approval 0/2'],
            ['soak', 'passed', 'soaked 2h (soak 1h0m0s)'],
          ],
        );
        expect(lookups).toEqual([shopRef]);

        const api = 'ImagePolicy/apps/api';
        const objectWins = held(
          await planner.decide(
            selection({
              subject: api,
              annotations: { [A.approvals]: '1' },
              firstSeenAt: at(100),
            }),
            at(120),
            [],
          ),
        );
        expect(objectWins.gates.map(g => [g.gate, g.state, g.summary])).toEqual(
          [
            ['approval', 'waiting', 'approval 0/1'],
            ['soak', 'waiting', 'soak 40m left'],
          ],
        );
        expect(objectWins.eta).toBeUndefined(); // the approval needs a person

        // The object's valid value also replaces a malformed entity value.
        const { planner: fixed } = await setup({
          [shopRef]: { [A.soak]: 'a day' },
        });
        expect(
          held(await fixed.decide(selection(), at(0), [])).gates[0],
        ).toMatchObject({ gate: 'soak', state: 'error' });
        written(
          await fixed.decide(
            selection({ subject: api, annotations: { [A.soak]: '0s' } }),
            at(0),
            [],
          ),
        );
      });

      it('are not looked up for a target without an entity', async () => {
        const { planner, lookups } = await setup({
          [shopRef]: { [A.approvals]: '2' },
        });
        const promotion = written(
          await planner.decide(selection({ entityRef: undefined }), at(0), []),
        );
        expect(promotion.entityRef).toBeUndefined();
        expect(lookups).toEqual([]);
      });
    });

    describe('the upstream gate', () => {
      const entities = { [shopRef]: {}, [stagingRef]: {} };
      const after = { [A.after]: stagingRef };

      /** Staging selects and carries out `to`, applied at `minute`. */
      async function applyToStaging(
        planner: PromotionPlanner,
        to: PromotionVersion,
        minute: number,
      ) {
        const promotion = written(
          await planner.decide(
            {
              entityRef: stagingRef,
              target: staging,
              subject,
              carried: v1,
              selected: to,
            },
            at(minute),
            [],
          ),
        );
        return planner.applied(
          promotion,
          { commit: `c0ffee${minute}` },
          at(minute),
          [],
        );
      }

      it('holds until the upstream entity has applied the same digest and is Ready', async () => {
        const { planner, declare, setStatus } = await setup(entities);
        const stagingObject = await declare(automation('staging'), stagingRef);
        expect(stagingObject).toBe(staging.objectId);

        const events: Event[] = [];
        const pending = held(
          await planner.decide(
            selection({ annotations: after }),
            at(0),
            events,
          ),
        );
        expect(pending.gates).toEqual([
          {
            gate: 'upstream',
            state: 'waiting',
            summary: `waiting for ${stagingRef} to run 1.1.0`,
            evidence: { entityRef: stagingRef, soak: '0s' },
          },
        ]);
        expect(pending.eta).toBeUndefined();
        expect(events).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionCreated',
            message: on(prod, v1, v2),
          },
          {
            type: 'Normal',
            reason: 'PromotionWaiting',
            message: `${on(
              prod,
              v1,
              v2,
            )} waits: waiting for ${stagingRef} to run 1.1.0`,
          },
        ]);

        // Staging runs the same tag with another digest: that is not the image prod would get. Prod,
        // waiting for staging, is handed back to be reconciled now rather than at its interval.
        expect(
          await applyToStaging(planner, version('1.1.0', 'sha256:other'), 1),
        ).toEqual([prod.objectId]);
        expect(
          held(
            await planner.decide(selection({ annotations: after }), at(2), []),
          ).gates[0].state,
        ).toBe('waiting');

        // Staging runs the digest, but its automation never reported Ready.
        await applyToStaging(planner, v2, 10);
        const noStatus = held(
          await planner.decide(selection({ annotations: after }), at(11), []),
        );
        expect(noStatus.gates[0]).toMatchObject({
          state: 'waiting',
          summary: `${stagingRef} runs 1.1.0 but is not Ready: no Ready condition yet`,
        });

        await setStatus(
          stagingObject,
          readyStatus(false, 'failed to push: authentication required'),
        );
        const notReady: Event[] = [];
        const failing = held(
          await planner.decide(
            selection({ annotations: after }),
            at(12),
            notReady,
          ),
        );
        expect(failing.gates).toEqual([
          {
            gate: 'upstream',
            state: 'waiting',
            summary: `${stagingRef} runs 1.1.0 but is not Ready: failed to push: authentication required`,
            evidence: {
              entityRef: stagingRef,
              soak: '0s',
              targetId: staging.id,
              appliedAt: iso(10),
              ready: false,
              readyMessage: 'failed to push: authentication required',
            },
          },
        ]);
        expect(notReady).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionWaiting',
            message: `${on(
              prod,
              v1,
              v2,
            )} waits: ${stagingRef} runs 1.1.0 but is not Ready: failed to push: authentication required`,
          },
        ]);

        await setStatus(
          stagingObject,
          readyStatus(true, 'repository up-to-date'),
        );
        const promotion = written(
          await planner.decide(selection({ annotations: after }), at(13), []),
        );
        expect(promotion.id).toBe(pending.id);
        expect(promotion.gates).toEqual([
          {
            gate: 'upstream',
            state: 'passed',
            summary: `${stagingRef} has run 1.1.0 for 3m`,
            evidence: {
              entityRef: stagingRef,
              soak: '0s',
              targetId: staging.id,
              appliedAt: iso(10),
              ready: true,
              readyMessage: 'repository up-to-date',
            },
          },
        ]);
      });

      it('with after-soak, holds until the upstream has run the digest that long', async () => {
        const { planner, declare } = await setup(entities);
        await declare(
          automation('staging'),
          stagingRef,
          readyStatus(true, 'repository up-to-date'),
        );
        const annotations = { ...after, [A.afterSoak]: '1h' };
        await applyToStaging(planner, v2, 10);

        const pending = held(
          await planner.decide(selection({ annotations }), at(40), []),
        );
        expect(pending.eta).toBe(iso(70));
        expect(pending.gates).toEqual([
          {
            gate: 'upstream',
            state: 'waiting',
            summary: 'upstream soak 30m left',
            evidence: {
              entityRef: stagingRef,
              soak: '1h0m0s',
              targetId: staging.id,
              appliedAt: iso(10),
              ready: true,
              readyMessage: 'repository up-to-date',
              soakEndsAt: iso(70),
            },
            eta: iso(70),
          },
        ]);
        expect(
          held(await planner.decide(selection({ annotations }), at(69), []))
            .gates[0].summary,
        ).toBe('upstream soak 1m left');
        const promotion = written(
          await planner.decide(selection({ annotations }), at(70), []),
        );
        expect(promotion.gates[0]).toMatchObject({
          state: 'passed',
          summary: `${stagingRef} has run 1.1.0 for 1h`,
        });
      });

      it('with after-target, counts only that target of the upstream entity', async () => {
        const { planner, declare } = await setup(entities);
        await declare(
          automation('staging'),
          stagingRef,
          readyStatus(true, 'repository up-to-date'),
        );
        const canary = gitTarget('ImageUpdateAutomation/apps/canary');
        await declare(
          automation('canary'),
          stagingRef,
          readyStatus(true, 'repository up-to-date'),
        );
        const annotations = { ...after, [A.afterTarget]: staging.objectId };

        const onCanary = written(
          await planner.decide(
            {
              entityRef: stagingRef,
              target: canary,
              subject,
              carried: v1,
              selected: v2,
            },
            at(0),
            [],
          ),
        );
        await planner.applied(onCanary, { commit: 'canary' }, at(0), []);
        expect(
          held(await planner.decide(selection({ annotations }), at(5), []))
            .gates[0],
        ).toMatchObject({
          state: 'waiting',
          summary: `waiting for ${stagingRef} (${staging.objectId}) to run 1.1.0`,
        });

        await applyToStaging(planner, v2, 10);
        expect(
          written(await planner.decide(selection({ annotations }), at(15), []))
            .gates[0],
        ).toMatchObject({
          state: 'passed',
          summary: `${stagingRef} (${staging.objectId}) has run 1.1.0 for 5m`,
        });
      });

      it('reports an upstream entity the catalog does not know as an error naming the annotation', async () => {
        const { planner } = await setup(entities);
        const annotations = { [A.after]: 'component:default/ghost' };
        const events: Event[] = [];
        const pending = held(
          await planner.decide(selection({ annotations }), at(0), events),
        );
        const error = pending.gates.find(g => g.state === 'error');
        expect(error).toEqual({
          gate: 'upstream',
          state: 'error',
          summary: `${A.after}: the upstream entity 'component:default/ghost' does not exist in the catalog`,
          evidence: { annotation: A.after },
        });
        expect(pending.eta).toBeUndefined();
        expect(events).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionCreated',
            message: on(prod, v1, v2),
          },
          {
            type: 'Warning',
            reason: 'InvalidPromotionGate',
            message: error!.summary,
          },
        ]);
        expect(
          (await planner.decide(selection({ annotations }), at(600), []))
            .action,
        ).toBe('hold');
      });

      it('reports an after-target that is no target of the upstream entity as an error naming the annotation', async () => {
        const { planner, declare } = await setup(entities);
        await declare(
          automation('staging'),
          stagingRef,
          readyStatus(true, 'repository up-to-date'),
        );
        const annotations = {
          ...after,
          [A.afterTarget]: 'ImageUpdateAutomation/apps/nowhere',
        };
        const events: Event[] = [];
        const pending = held(
          await planner.decide(selection({ annotations }), at(0), events),
        );
        const error = pending.gates.find(g => g.state === 'error');
        expect(error).toMatchObject({
          gate: 'upstream',
          evidence: { annotation: A.afterTarget },
        });
        expect(error!.summary).toContain(A.afterTarget);
        expect(error!.summary).toContain(
          "'ImageUpdateAutomation/apps/nowhere'",
        );
        expect(events[1]).toEqual({
          type: 'Warning',
          reason: 'InvalidPromotionGate',
          message: error!.summary,
        });
      });

      it('matches provider revisions of cluster targets, which carry no digest', async () => {
        const { planner, declare } = await setup(entities);
        const stagingSet = await declare(
          resourceSet('web-staging'),
          stagingRef,
          readyStatus(true, 'applied revision sha256:r2'),
        );
        const prodSet = await declare(
          resourceSet('web-prod'),
          shopRef,
          readyStatus(true, 'applied revision sha256:r1'),
        );
        const stagingCluster = clusterTarget(stagingSet, 'staging');
        const prodCluster = clusterTarget(prodSet, 'prod');
        const revision = (rev: string, tags: string[]): PromotionVersion => ({
          tag: tags.join(', '),
          revision: rev,
          inputs: tags.map(tag => ({ tag })),
        });
        const r1 = revision('sha256:r1', ['1.0.0', '2.0.0']);
        const r2 = revision('sha256:r2', ['1.1.0', '2.0.0']);
        const provider = 'ResourceSetInputProvider/apps/web';

        const first = written(
          await planner.firstApply(
            {
              entityRef: stagingRef,
              target: stagingCluster,
              subject: provider,
              selected: r2,
            },
            at(0),
          ),
        );
        await planner.applied(
          first,
          { appliedRevision: 'sha256:r2' },
          at(1),
          [],
        );

        const decision = await planner.decide(
          {
            entityRef: shopRef,
            target: prodCluster,
            subject: provider,
            carried: r1,
            selected: r2,
            annotations: after,
          },
          at(2),
          [],
        );
        expect(written(decision).gates).toEqual([
          expect.objectContaining({
            gate: 'upstream',
            state: 'passed',
            summary: `${stagingRef} has run 1.1.0, 2.0.0 for 1m`,
          }),
        ]);

        // Another revision exporting the same tags is not what staging ran.
        const r3 = revision('sha256:r3', ['1.1.0', '2.0.0']);
        const other = held(
          await planner.decide(
            {
              entityRef: shopRef,
              target: prodCluster,
              subject: 'ResourceSetInputProvider/apps/other',
              carried: r1,
              selected: r3,
              annotations: after,
            },
            at(3),
            [],
          ),
        );
        expect(other.gates[0]).toMatchObject({
          state: 'waiting',
          summary: `waiting for ${stagingRef} to run 1.1.0, 2.0.0`,
        });
      });
    });

    describe('pins', () => {
      it('roll back to the pinned version, hold the newer selection with a pin gate, and release it when lifted', async () => {
        const { planner, promotions, all } = await setup();
        await promotions.pin({
          targetId: prod.id,
          subject,
          version: v1,
          reason: '1.1.0 leaks memory',
          by: jane,
          at: iso(5),
        });
        const pinNote = 'pinned at 1.0.0: 1.1.0 leaks memory';

        // The target carries 1.1.0 and the policy still selects it: the pin rolls it back.
        const events: Event[] = [];
        const decision = await planner.decide(
          selection({ carried: v2, selected: v2 }),
          at(10),
          events,
        );
        const rollback = written(decision);
        expect(decision).toMatchObject({ action: 'write', version: v1 });
        expect(rollback).toMatchObject({
          from: v2,
          to: v1,
          state: 'applying',
          gates: [],
        });
        expect(rollback.history).toEqual([
          { state: 'pending', at: iso(10), by: jane, note: pinNote },
          { state: 'approved', at: iso(10), by: jane, note: pinNote },
          { state: 'applying', at: iso(10), by: ENGINE_ACTOR },
        ]);
        // The pin itself is announced by whoever set it (the promotion service).
        expect(events).toEqual([]);

        const appliedEvents: Event[] = [];
        await planner.applied(
          rollback,
          { commit: 'beefbeefbeefbeef' },
          at(11),
          appliedEvents,
        );
        expect(appliedEvents).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionApplied',
            message: `${on(prod, v2, v1)} in commit beefbeefbeef`,
          },
        ]);

        // It carries the pin now: nothing to write, and the selection waits visibly for the pin.
        const held1: Event[] = [];
        expect(
          await planner.decide(
            selection({ carried: v1, selected: v2 }),
            at(12),
            held1,
          ),
        ).toEqual({ action: 'none' });
        const waiting = await promotions.findOpen(prod.id, subject);
        expect(waiting).toMatchObject({ from: v1, to: v2, state: 'pending' });
        expect(waiting!.gates).toEqual([
          {
            gate: 'pin',
            state: 'waiting',
            summary: `pinned at 1.0.0 by ${jane}: 1.1.0 leaks memory`,
            evidence: {
              targetId: prod.id,
              subject,
              version: v1,
              reason: '1.1.0 leaks memory',
              by: jane,
              at: iso(5),
            },
          },
        ]);
        expect(held1).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionCreated',
            message: on(prod, v1, v2),
          },
          {
            type: 'Normal',
            reason: 'PromotionWaiting',
            message: `${on(
              prod,
              v1,
              v2,
            )} waits: pinned at 1.0.0 by ${jane}: 1.1.0 leaks memory`,
          },
        ]);

        const held2: Event[] = [];
        expect(
          await planner.decide(
            selection({ carried: v1, selected: v2 }),
            at(13),
            held2,
          ),
        ).toEqual({ action: 'none' });
        expect(held2).toEqual([]);
        expect((await promotions.findOpen(prod.id, subject))?.id).toBe(
          waiting!.id,
        );
        expect(await all()).toHaveLength(2);

        expect(await promotions.unpin(prod.id, subject)).toBe(true);
        const released: Event[] = [];
        const promotion = written(
          await planner.decide(
            selection({ carried: v1, selected: v2 }),
            at(14),
            released,
          ),
        );
        expect(promotion.id).toBe(waiting!.id);
        expect(promotion).toMatchObject({ from: v1, to: v2, gates: [] });
        expect(promotion.history).toEqual([
          {
            state: 'pending',
            at: iso(12),
            by: ENGINE_ACTOR,
            note: `${subject} selected 1.1.0`,
          },
          { state: 'approved', at: iso(14), by: ENGINE_ACTOR, note: NO_GATES },
          { state: 'applying', at: iso(14), by: ENGINE_ACTOR },
        ]);
        expect(released).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionApproved',
            message: `${on(prod, v1, v2)}: ${NO_GATES}`,
          },
        ]);
      });

      it('bypass the gates of the target: the pin is the decision', async () => {
        const { planner, promotions } = await setup();
        await promotions.pin({
          targetId: prod.id,
          subject,
          version: v1,
          reason: 'incident 42',
          by: jane,
          at: iso(0),
        });
        const annotations = { [A.approvals]: '3', [A.soak]: '72h' };
        const promotion = written(
          await planner.decide(
            selection({ carried: v2, selected: v3, annotations }),
            at(1),
            [],
          ),
        );
        expect(promotion.to).toEqual(v1);
        expect(promotion.history.map(s => [s.state, s.by])).toEqual([
          ['pending', jane],
          ['approved', jane],
          ['applying', ENGINE_ACTOR],
        ]);
      });

      it('lift themselves when they expire', async () => {
        const { planner, promotions } = await setup();
        await promotions.pin({
          targetId: prod.id,
          subject,
          version: v1,
          reason: 'freeze',
          by: jane,
          at: iso(0),
          expiresAt: iso(60),
        });
        expect(
          await planner.decide(
            selection({ carried: v1, selected: v2 }),
            at(30),
            [],
          ),
        ).toEqual({ action: 'none' });
        expect((await planner.pin(prod.id, subject, at(30)))?.version).toEqual(
          v1,
        );
        expect(await planner.pin(prod.id, subject, at(60))).toBeUndefined();
        const promotion = written(
          await planner.decide(
            selection({ carried: v1, selected: v2 }),
            at(60),
            [],
          ),
        );
        expect(promotion.to).toEqual(v2);
      });
    });

    describe('firstApply', () => {
      it('creates and writes the selection at once, gates or not, and retries a failed first apply', async () => {
        const { planner, promotions } = await setup();
        const target = clusterTarget('ResourceSet/apps/web', 'prod');
        const provider = 'ResourceSetInputProvider/apps/web';
        const selected: PromotionVersion = {
          tag: '1.1.0',
          digest: 'sha256:1100',
          revision: 'sha256:r1',
          inputs: [{ tag: '1.1.0', digest: 'sha256:1100' }],
        };
        const note =
          'first apply to this target: nothing carried before, so nothing to hold';
        const decision = await planner.firstApply(
          {
            entityRef: shopRef,
            target,
            subject: provider,
            selected,
            annotations: { [A.approvals]: '2' },
          },
          at(0),
        );
        const promotion = written(decision);
        expect(decision).toMatchObject({ action: 'write', version: selected });
        expect(promotion.from).toBeUndefined();
        expect(promotion).toMatchObject({
          entityRef: shopRef,
          target,
          subject: provider,
          to: selected,
        });
        expect(promotion.history).toEqual([
          { state: 'pending', at: iso(0), by: ENGINE_ACTOR, note },
          { state: 'approved', at: iso(0), by: ENGINE_ACTOR, note },
          { state: 'applying', at: iso(0), by: ENGINE_ACTOR },
        ]);

        await planner.failed(promotion, 'cluster unreachable', at(1), []);
        const retried = written(
          await planner.firstApply(
            { entityRef: shopRef, target, subject: provider, selected },
            at(2),
          ),
        );
        expect(retried.id).toBe(promotion.id);
        expect(
          (await promotions.list({ targetId: target.id })).items,
        ).toHaveLength(1);

        await planner.applied(
          retried,
          { appliedRevision: 'sha256:r1' },
          at(3),
          [],
        );
        expect(await planner.carried(target.id, provider)).toEqual(selected);
        expect((await promotions.get(promotion.id))?.appliedRevision).toBe(
          'sha256:r1',
        );
      });
    });

    describe('failed', () => {
      it('records the failure, warns, keeps the promotion open and retries it on the next pass', async () => {
        const { planner, promotions, all } = await setup();
        const promotion = written(await planner.decide(selection(), at(0), []));
        const events: Event[] = [];
        const error = 'push rejected: non-fast-forward';
        await planner.failed(promotion, error, at(1), events);
        const failed = await promotions.get(promotion.id);
        expect(failed).toMatchObject({
          state: 'failed',
          error,
          updatedAt: iso(1),
        });
        expect(failed?.closedAt).toBeUndefined();
        expect(failed?.history.slice(-1)).toEqual([
          { state: 'failed', at: iso(1), by: ENGINE_ACTOR, note: error },
        ]);
        expect(events).toEqual([
          {
            type: 'Warning',
            reason: 'PromotionFailed',
            message: `${on(prod, v1, v2)} failed: ${error}`,
          },
        ]);
        expect(await planner.needsRun(prod.id, at(1))).toBe(true);

        // Reporting a failure of a promotion that is no longer applying changes nothing.
        const twice: Event[] = [];
        await planner.failed(promotion, 'again', at(1), twice);
        expect(twice).toEqual([]);

        const retryEvents: Event[] = [];
        const retry = written(
          await planner.decide(selection(), at(2), retryEvents),
        );
        expect(retry.id).toBe(promotion.id);
        expect(retry.history.slice(-1)).toEqual([
          { state: 'applying', at: iso(2), by: ENGINE_ACTOR },
        ]);
        expect(retryEvents).toEqual([]);
        expect(await all()).toHaveLength(1);

        await planner.applied(retry, { commit: 'abc' }, at(3), []);
        const applied = await promotions.get(promotion.id);
        expect(applied).toMatchObject({
          state: 'applied',
          commit: 'abc',
          closedAt: iso(3),
        });
        expect(applied?.error).toBeUndefined();
      });
    });

    describe('concurrency', () => {
      it('lets exactly one of two instances write a new selection decided at the same time', async () => {
        const { promotions, objects } = await setup();
        const one = new PromotionPlanner({ promotions, objects });
        const two = new PromotionPlanner({ promotions, objects });
        for (let round = 0; round < 10; round++) {
          const s = selection({ subject: `ImagePolicy/apps/web-${round}` });
          const decisions = await Promise.all([
            one.decide(s, at(round), []),
            two.decide(s, at(round), []),
          ]);
          const writes = decisions.filter(d => d.action === 'write');
          expect(decisions.map(d => d.action).sort()).toEqual([
            'hold',
            'write',
          ]);
          const open = await promotions.findOpen(prod.id, s.subject);
          expect(open?.state).toBe('applying');
          expect(open?.id).toBe(written(writes[0]).id);
          const applying = (
            await promotions.list({ targetId: prod.id, states: ['applying'] })
          ).items;
          expect(applying.filter(p => p.subject === s.subject)).toHaveLength(1);
        }
      });

      it('lets exactly one of two instances write a first apply or a pin decided at the same time', async () => {
        const { promotions, objects } = await setup();
        const one = new PromotionPlanner({ promotions, objects });
        const two = new PromotionPlanner({ promotions, objects });
        for (let round = 0; round < 10; round++) {
          const target = clusterTarget(`ResourceSet/apps/web-${round}`, 'prod');
          const s = {
            target,
            subject: 'ResourceSetInputProvider/apps/web',
            selected: { tag: '1.1.0', revision: `sha256:r${round}` },
          };
          const first = await Promise.all([
            one.firstApply(s, at(round)),
            two.firstApply(s, at(round)),
          ]);
          expect(first.map(d => d.action).sort()).toEqual(['hold', 'write']);

          const pinned = `ImagePolicy/apps/pinned-${round}`;
          await promotions.pin({
            targetId: prod.id,
            subject: pinned,
            version: v1,
            reason: 'rollback',
            by: jane,
            at: iso(round),
          });
          const p = selection({ subject: pinned, carried: v2, selected: v2 });
          const pins = await Promise.all([
            one.decide(p, at(round), []),
            two.decide(p, at(round), []),
          ]);
          expect(pins.map(d => d.action).sort()).toEqual(['hold', 'write']);
        }
      });

      it('lets exactly one of two instances write a promotion whose gates just passed', async () => {
        const { promotions, objects } = await setup();
        const one = new PromotionPlanner({ promotions, objects });
        const two = new PromotionPlanner({ promotions, objects });
        const annotations = { [A.approvals]: '1' };
        for (let round = 0; round < 10; round++) {
          const s = selection({
            subject: `ImagePolicy/apps/web-${round}`,
            annotations,
          });
          const pending = held(await one.decide(s, at(round), []));
          await promotions.vote(pending.id, {
            actor: jane,
            decision: 'approve',
            digest: v2.digest!,
            at: iso(round),
          });
          const decisions = await Promise.all([
            one.decide(s, at(round + 1), []),
            two.decide(s, at(round + 1), []),
          ]);
          expect(decisions.map(d => d.action).sort()).toEqual([
            'hold',
            'write',
          ]);
          const stored = await promotions.get(pending.id);
          expect(stored?.state).toBe('applying');
          expect(stored?.history.map(h => h.state)).toEqual([
            'pending',
            'approved',
            'applying',
          ]);
        }
      });
    });

    describe('a promotion changed while it is decided on', () => {
      const annotations = { [A.approvals]: '1' };

      /**
       * The promotion store, storing a preview into the promotion (as PromotionPreviewService does when
       * the approve dialog shows the diff) right after the planner read the promotion's votes: between
       * its read of the promotion and its compare-and-set.
       */
      function previewWhileVotesAreRead(
        promotions: DatabasePromotionStore,
        times: number,
      ) {
        let left = times;
        return new Proxy(promotions, {
          get(target, key) {
            if (key === 'votes') {
              return async (id: string) => {
                const votes = await target.votes(id);
                if (left > 0) {
                  left--;
                  const current = await target.get(id);
                  const stored = await target.update(
                    id,
                    current!.revision,
                    {
                      preview: JSON.stringify({
                        promotionId: id,
                        diff: '-a\n+b\n',
                      }),
                    },
                    at(0),
                  );
                  expect(stored).toBeDefined();
                }
                return votes;
              };
            }
            const value = Reflect.get(target, key, target);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
      }

      it('carries out an approval whose gates passed although a preview was stored meanwhile', async () => {
        const { promotions, objects } = await setup();
        const pending = held(
          await new PromotionPlanner({ promotions, objects }).decide(
            selection({ annotations }),
            at(0),
            [],
          ),
        );
        await promotions.vote(pending.id, {
          actor: jane,
          decision: 'approve',
          digest: v2.digest!,
          at: iso(1),
        });

        const planner = new PromotionPlanner({
          promotions: previewWhileVotesAreRead(promotions, 1),
          objects,
        });
        const events: Event[] = [];
        const promotion = written(
          await planner.decide(selection({ annotations }), at(2), events),
        );
        expect(promotion.id).toBe(pending.id);
        expect(promotion.history.map(h => h.state)).toEqual([
          'pending',
          'approved',
          'applying',
        ]);
        expect(promotion.gates.map(g => `${g.gate} ${g.state}`)).toEqual([
          'approval passed',
        ]);
        // The preview stayed, and the approval is said once.
        expect(
          JSON.parse((await promotions.get(pending.id))!.preview!),
        ).toMatchObject({ promotionId: pending.id });
        expect(events).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionApproved',
            message: `${on(prod, v1, v2)}: ${EVERY_GATE}`,
          },
        ]);
      });

      it('stores gates re-evaluated while a preview was stored, and says so once', async () => {
        const { promotions, objects } = await setup();
        const pending = held(
          await new PromotionPlanner({ promotions, objects }).decide(
            selection({ annotations: { [A.approvals]: '2' } }),
            at(0),
            [],
          ),
        );
        await promotions.vote(pending.id, {
          actor: jane,
          decision: 'approve',
          digest: v2.digest!,
          at: iso(1),
        });

        const planner = new PromotionPlanner({
          promotions: previewWhileVotesAreRead(promotions, 1),
          objects,
        });
        const events: Event[] = [];
        const waiting = held(
          await planner.decide(
            selection({ annotations: { [A.approvals]: '2' } }),
            at(2),
            events,
          ),
        );
        expect(waiting.gates.map(g => g.summary)).toEqual(['approval 1/2']);
        expect(
          (await promotions.get(pending.id))!.gates.map(g => g.summary),
        ).toEqual(['approval 1/2']);
        expect(events).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionWaiting',
            message: `${on(prod, v1, v2)} waits: approval 1/2`,
          },
        ]);
      });

      it('holds, without writing, when the promotion keeps changing under every attempt', async () => {
        const { promotions, objects } = await setup();
        const pending = held(
          await new PromotionPlanner({ promotions, objects }).decide(
            selection({ annotations }),
            at(0),
            [],
          ),
        );
        await promotions.vote(pending.id, {
          actor: jane,
          decision: 'approve',
          digest: v2.digest!,
          at: iso(1),
        });

        const planner = new PromotionPlanner({
          promotions: previewWhileVotesAreRead(promotions, 100),
          objects,
        });
        const events: Event[] = [];
        expect(
          held(await planner.decide(selection({ annotations }), at(2), events))
            .id,
        ).toBe(pending.id);
        expect((await promotions.get(pending.id))!.state).toBe('pending');
        expect(events).toEqual([]);
        // The next pass, undisturbed, carries it out.
        written(
          await new PromotionPlanner({ promotions, objects }).decide(
            selection({ annotations }),
            at(3),
            [],
          ),
        );
      });
    });

    describe('a promotion being applied', () => {
      it('is left to the pass carrying it out, and taken again once abandoned', async () => {
        const { planner, all } = await setup();
        const promotion = written(await planner.decide(selection(), at(0), []));

        // Another pass (its lease lost) runs while this one writes: it neither writes again nor
        // supersedes the promotion with a newer selection.
        expect(await planner.decide(selection(), at(1), [])).toEqual({
          action: 'hold',
          promotion,
        });
        expect(
          await planner.decide(selection({ selected: v3 }), at(1), []),
        ).toEqual({ action: 'hold', promotion });
        expect(await all()).toEqual([promotion]);
        const abandonedAt = new Date(at(0).getTime() + ABANDONED_APPLYING_MS);

        // Its instance died before reporting the outcome: an hour later it is taken again.
        expect(
          await planner.decide(
            selection(),
            new Date(abandonedAt.getTime() - 1),
            [],
          ),
        ).toMatchObject({ action: 'hold' });
        const retaken = written(
          await planner.decide(selection(), abandonedAt, []),
        );
        expect(retaken.id).toBe(promotion.id);
        expect(retaken.history.map(s => s.state)).toEqual([
          'pending',
          'approved',
          'applying',
          'applying',
        ]);
      });

      it('is superseded by a newer selection once abandoned', async () => {
        const { planner, promotions } = await setup();
        const promotion = written(await planner.decide(selection(), at(0), []));
        const later = new Date(at(0).getTime() + ABANDONED_APPLYING_MS);
        const newer = written(
          await planner.decide(selection({ selected: v3 }), later, []),
        );
        expect(newer.to).toEqual(v3);
        expect((await promotions.get(promotion.id))?.state).toBe('superseded');
      });

      it('is not taken again by a first apply while it runs', async () => {
        const { planner } = await setup();
        const target = clusterTarget('ResourceSet/apps/web', 'prod');
        const provider = 'ResourceSetInputProvider/apps/web';
        const selected: PromotionVersion = {
          tag: '1.1.0',
          revision: 'sha256:r1',
        };
        const promotion = written(
          await planner.firstApply(
            { target, subject: provider, selected },
            at(0),
          ),
        );
        expect(
          await planner.firstApply(
            { target, subject: provider, selected },
            at(1),
          ),
        ).toEqual({ action: 'hold', promotion });
      });
    });

    describe('pull requests', () => {
      const pr = (
        state: 'open' | 'closed' | 'merged',
        extra: Record<string, unknown> = {},
      ) => ({
        url: 'https://git.example.com/acme/fleet/pulls/7',
        number: 7,
        host: 'git.example.com',
        state,
        updatedAt: iso(1),
        ...extra,
      });

      it('records the pull request on a promotion in any state, writing only when something but the time changed', async () => {
        const { planner, promotions } = await setup();
        const promotion = written(await planner.decide(selection(), at(0), []));
        await planner.recordPullRequest(promotion, pr('open'), at(1));
        const recorded = (await promotions.get(promotion.id))!;
        expect(recorded).toMatchObject({
          state: 'applying',
          pullRequest: pr('open'),
        });
        // No history step: the host's state is not a decision.
        expect(recorded.history).toHaveLength(promotion.history.length);
        await planner.recordPullRequest(
          promotion,
          pr('open', { updatedAt: iso(5) }),
          at(5),
        );
        expect((await promotions.get(promotion.id))!.revision).toBe(
          recorded.revision,
        );
        await planner.recordPullRequest(
          promotion,
          pr('open', {
            approvedBy: ['ann'],
            checks: 'success',
            updatedAt: iso(6),
          }),
          at(6),
        );
        expect((await promotions.get(promotion.id))!.pullRequest).toEqual(
          pr('open', {
            approvedBy: ['ann'],
            checks: 'success',
            updatedAt: iso(6),
          }),
        );
        await planner.recordPullRequest(
          { ...promotion, id: '00000000-0000-0000-0000-000000000000' },
          pr('open'),
          at(7),
        );
      });

      it('applies a merged promotion with the merge commit, also one merged on the host while still pending here', async () => {
        const { planner, promotions } = await setup();
        const pending = held(
          await planner.decide(
            selection({ annotations: { [A.approvals]: '1' } }),
            at(0),
            [],
          ),
        );
        const events: Event[] = [];
        const merged = pr('merged', { mergeCommit: 'c0ffee' });
        await planner.mergedInPullRequest(pending, merged, at(2), events);
        const applied = (await promotions.get(pending.id))!;
        expect(applied).toMatchObject({
          state: 'applied',
          commit: 'c0ffee',
          pullRequest: merged,
          closedAt: iso(2),
        });
        expect(applied.history.at(-1)).toEqual({
          state: 'applied',
          at: iso(2),
          by: ENGINE_ACTOR,
          note: 'pull request #7 https://git.example.com/acme/fleet/pulls/7 merged as commit c0ffee (merged on the host while it was pending here)',
        });
        expect(events).toEqual([
          {
            type: 'Normal',
            reason: 'PromotionApplied',
            message: `${on(prod, v1, v2)} by pull request #7 in commit c0ffee`,
          },
        ]);
        // Told again (another replica, the next run): nothing changes, no second event.
        const again: Event[] = [];
        await planner.mergedInPullRequest(pending, merged, at(3), again);
        expect(again).toEqual([]);
        expect((await promotions.get(pending.id))!.revision).toBe(
          applied.revision,
        );
      });

      it('records a closed pull request on the promotion it rejects', async () => {
        const { planner, promotions } = await setup();
        const promotion = written(await planner.decide(selection(), at(0), []));
        await planner.closedWithoutMerge(
          promotion,
          'closed by a person',
          at(1),
          [],
          pr('closed'),
        );
        expect(await promotions.get(promotion.id)).toMatchObject({
          state: 'rejected',
          pullRequest: pr('closed'),
        });
      });
    });

    describe('needsRun', () => {
      it('is true while a promotion is open or a pin holds the target, and false otherwise', async () => {
        const { planner, promotions } = await setup();
        expect(await planner.needsRun(prod.id, at(0))).toBe(false);

        const pending = held(
          await planner.decide(
            selection({ annotations: { [A.approvals]: '1' } }),
            at(0),
            [],
          ),
        );
        expect(await planner.needsRun(prod.id, at(0))).toBe(true);
        expect(await planner.needsRun(staging.id, at(0))).toBe(false);

        await promotions.vote(pending.id, {
          actor: jane,
          decision: 'approve',
          digest: v2.digest!,
          at: iso(1),
        });
        const promotion = written(
          await planner.decide(
            selection({ annotations: { [A.approvals]: '1' } }),
            at(1),
            [],
          ),
        );
        expect(await planner.needsRun(prod.id, at(1))).toBe(true);
        await planner.applied(promotion, { commit: 'abc' }, at(2), []);
        expect(await planner.needsRun(prod.id, at(2))).toBe(false);

        await promotions.pin({
          targetId: staging.id,
          subject,
          version: v1,
          reason: 'freeze',
          by: jane,
          at: iso(3),
          expiresAt: iso(60),
        });
        expect(await planner.needsRun(staging.id, at(3))).toBe(true);
        expect(await planner.needsRun(prod.id, at(3))).toBe(false);
        expect(await planner.needsRun(staging.id, at(60))).toBe(false);
        await promotions.pin({
          targetId: staging.id,
          subject,
          version: v1,
          reason: 'freeze',
          by: jane,
          at: iso(61),
        });
        expect(await planner.needsRun(staging.id, at(61))).toBe(true);
        await promotions.unpin(staging.id, subject);
        expect(await planner.needsRun(staging.id, at(62))).toBe(false);
      });
    });

    describe('preview (pull-request mode, before the host answered)', () => {
      it('says what decide will conclude once the carried promotion is released, writing nothing', async () => {
        const { planner, promotions, all } = await setup({
          [stagingRef]: { [A.approvals]: '1' },
        });
        const events: Event[] = [];
        // The pull request carries v2 (applying); v3 is selected.
        const carried = written(
          await planner.decide(selection(), at(0), events),
        );
        const before = await all();
        expect(await planner.openPromotion(prod.id, subject)).toEqual(carried);

        expect(
          await planner.preview(selection({ selected: v3 }), at(1)),
        ).toEqual({ action: 'write', version: v3, gates: [] });
        // The target carries the selection already: nothing to write.
        expect(
          await planner.preview(
            selection({ carried: v3, selected: v3 }),
            at(1),
          ),
        ).toEqual({ action: 'none' });
        // With an approval gate: held, with the gate a new promotion would wait for.
        const gated = await planner.preview(
          selection({ entityRef: stagingRef, selected: v3 }),
          at(1),
        );
        expect(gated).toMatchObject({ action: 'hold', version: v3 });
        expect(
          gated.action !== 'none' && gated.gates.map(g => [g.gate, g.state]),
        ).toEqual([['approval', 'waiting']]);
        // Nothing was written: the carried promotion is still applying, nothing was created.
        expect(await all()).toEqual(before);
        expect((await promotions.get(carried.id))!.state).toBe('applying');
        expect(events.map(e => e.reason)).toEqual([
          'PromotionCreated',
          'PromotionApproved',
        ]);

        // Once the host answered "still open", the writes: released, then decided as previewed.
        await planner.releaseFromPullRequest(
          prod.id,
          subject,
          v3,
          new Set([carried.id]),
          at(2),
          events,
        );
        const next = written(
          await planner.decide(selection({ selected: v3 }), at(2), events),
        );
        expect(next.to).toEqual(v3);
        expect((await promotions.get(carried.id))!.state).toBe('superseded');
      });

      it('holds a selection a person rejected (its pull request closed), as decide does', async () => {
        const { planner } = await setup();
        const events: Event[] = [];
        const promotion = written(
          await planner.decide(selection(), at(0), events),
        );
        await planner.closedWithoutMerge(promotion, 'closed', at(1), events);
        expect(await planner.preview(selection(), at(2))).toEqual({
          action: 'hold',
          gates: [],
        });
        expect(
          await planner.preview(selection({ selected: v3 }), at(2)),
        ).toMatchObject({ action: 'write', version: v3 });
      });
    });
  },
);
