import {
  PromotionTarget,
  PromotionVersion,
} from '@imageops/backstage-plugin-image-automation-common';
import { DatabasePromotionStore } from './DatabasePromotionStore';
import { applyMigrations, rollbackMigrations } from './migrations';
import { createStoreTestDatabases } from './testDatabases';

jest.setTimeout(60_000);

const databases = createStoreTestDatabases();

const entityRef = 'component:default/shop';
const subject = 'ImagePolicy/apps/web';
const staging: PromotionTarget = {
  id: 'git:ImageUpdateAutomation/apps/staging',
  type: 'git',
  objectId: 'ImageUpdateAutomation/apps/staging',
};
const prod: PromotionTarget = {
  id: 'cluster:ResourceSet/apps/web@prod',
  type: 'cluster',
  objectId: 'ResourceSet/apps/web',
  cluster: 'prod',
};

function version(tag: string, digest?: string): PromotionVersion {
  return { image: 'ghcr.io/acme/web', tag, ...(digest ? { digest } : {}) };
}

function at(minute: number): Date {
  return new Date(Date.UTC(2030, 0, 1, 0, minute));
}

describe.each(databases.eachSupportedId())(
  'DatabasePromotionStore on %p',
  databaseId => {
    async function createStore() {
      const knex = await databases.init(databaseId);
      return { knex, store: await DatabasePromotionStore.create({ knex }) };
    }

    it('counts promotions by state (the promotions gauge)', async () => {
      const { store } = await createStore();
      expect(await store.countByState()).toEqual({});
      await store.create({
        entityRef,
        target: staging,
        subject,
        to: version('1.1.0'),
        by: 'image-automation',
        now: at(0),
      });
      const second = await store.create({
        entityRef,
        target: staging,
        subject,
        to: version('1.2.0'),
        by: 'image-automation',
        now: at(1),
      });
      const other = await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('1.1.0'),
        by: 'image-automation',
        now: at(2),
      });
      await store.update(
        other.id,
        other.revision,
        { state: 'applied', closedAt: at(3).toISOString() },
        at(3),
      );
      expect(await store.countByState()).toEqual({
        superseded: 1,
        pending: 1,
        applied: 1,
      });
      await store.update(
        second.id,
        second.revision,
        { state: 'approved' },
        at(4),
      );
      expect(await store.countByState()).toEqual({
        superseded: 1,
        approved: 1,
        applied: 1,
      });
    });

    it('creates, gets and lists promotions newest first, by state, page by page', async () => {
      const { store } = await createStore();
      const created = await store.create({
        entityRef,
        target: prod,
        subject,
        from: version('1.0.0', 'sha256:a'),
        to: version('1.1.0', 'sha256:b'),
        by: 'user:default/jane',
        note: 'selected by policy',
        now: at(0),
      });
      expect(created).toMatchObject({
        entityRef,
        target: prod,
        subject,
        state: 'pending',
        gates: [],
        history: [
          {
            state: 'pending',
            at: at(0).toISOString(),
            by: 'user:default/jane',
            note: 'selected by policy',
          },
        ],
        createdAt: at(0).toISOString(),
        updatedAt: at(0).toISOString(),
        revision: 1,
      });
      expect(await store.get(created.id)).toEqual(created);
      expect(
        await store.get('00000000-0000-0000-0000-000000000000'),
      ).toBeUndefined();

      // Five more subjects on the same target, two of them rejected; one promotion elsewhere.
      const ids = [created.id];
      for (let i = 1; i <= 5; i++) {
        const p = await store.create({
          entityRef,
          target: prod,
          subject: `ImagePolicy/apps/s${i}`,
          to: version(`2.${i}`),
          by: 'image-automation',
          now: at(i),
        });
        ids.push(p.id);
        if (i % 2 === 0) {
          await store.update(
            p.id,
            p.revision,
            { state: 'rejected', closedAt: at(i).toISOString() },
            at(i),
          );
        }
      }
      await store.create({
        entityRef: 'component:default/other',
        target: staging,
        subject,
        to: version('9'),
        by: 'image-automation',
        now: at(0),
      });

      const newestFirst = [...ids].reverse();
      const all = await store.list({ entityRef });
      expect(all.items.map(p => p.id)).toEqual(newestFirst);
      expect(all.nextCursor).toBeUndefined();
      expect((await store.list({ targetId: prod.id })).items).toHaveLength(6);
      expect((await store.list({})).items).toHaveLength(7);

      const rejected = await store.list({ entityRef, states: ['rejected'] });
      expect(rejected.items.map(p => p.id)).toEqual([ids[4], ids[2]]);
      const pending = await store.list({
        entityRef,
        states: ['pending', 'approved'],
      });
      expect(pending.items.map(p => p.id)).toEqual([
        ids[5],
        ids[3],
        ids[1],
        ids[0],
      ]);

      const page1 = await store.list({ entityRef, limit: 4 });
      expect(page1.items.map(p => p.id)).toEqual(newestFirst.slice(0, 4));
      expect(page1.nextCursor).toBeDefined();
      const page2 = await store.list({
        entityRef,
        limit: 4,
        cursor: page1.nextCursor,
      });
      expect(page2.items.map(p => p.id)).toEqual(newestFirst.slice(4));
      expect(page2.nextCursor).toBeUndefined();

      await expect(store.list({ cursor: 'not a cursor' })).rejects.toThrow(
        /cursor/,
      );
    });

    it('pages through promotions created at the same instant without losing or repeating one', async () => {
      const { store } = await createStore();
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        ids.push(
          (
            await store.create({
              entityRef,
              target: prod,
              subject: `s${i}`,
              to: version('1'),
              by: 'x',
              now: at(0),
            })
          ).id,
        );
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list({ entityRef, limit: 3, cursor });
        seen.push(...page.items.map(p => p.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual([...ids].sort().reverse());
    });

    it('supersedes the open promotion of the same target and subject, and only that one', async () => {
      const { store } = await createStore();
      const applied = await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('1.0'),
        by: 'image-automation',
        now: at(0),
      });
      await store.update(
        applied.id,
        applied.revision,
        { state: 'applied', closedAt: at(1).toISOString() },
        at(1),
      );
      const open = await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('1.1'),
        by: 'image-automation',
        now: at(2),
      });
      const otherSubject = await store.create({
        entityRef,
        target: prod,
        subject: 'ImagePolicy/apps/api',
        to: version('3'),
        by: 'image-automation',
        now: at(2),
      });
      const otherTarget = await store.create({
        entityRef,
        target: staging,
        subject,
        to: version('1.1'),
        by: 'image-automation',
        now: at(2),
      });
      expect((await store.findOpen(prod.id, subject))?.id).toBe(open.id);

      const newer = await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('1.2'),
        by: 'user:default/jane',
        now: at(3),
      });
      expect((await store.findOpen(prod.id, subject))?.id).toBe(newer.id);

      const superseded = await store.get(open.id);
      expect(superseded).toMatchObject({
        state: 'superseded',
        closedAt: at(3).toISOString(),
        updatedAt: at(3).toISOString(),
        revision: open.revision + 1,
      });
      expect(superseded?.history).toEqual([
        open.history[0],
        {
          state: 'superseded',
          at: at(3).toISOString(),
          by: 'user:default/jane',
          note: expect.stringContaining(newer.id),
        },
      ]);
      expect((await store.get(applied.id))?.state).toBe('applied');
      expect(await store.get(otherSubject.id)).toEqual(otherSubject);
      expect(await store.get(otherTarget.id)).toEqual(otherTarget);

      // A failed promotion is still open: a new selection supersedes it too.
      const failed = await store.update(
        newer.id,
        newer.revision,
        { state: 'failed', error: 'push rejected' },
        at(4),
      );
      expect(failed?.state).toBe('failed');
      const retry = await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('1.3'),
        by: 'image-automation',
        now: at(5),
      });
      expect((await store.get(newer.id))?.state).toBe('superseded');
      expect((await store.findOpen(prod.id, subject))?.id).toBe(retry.id);
    });

    it('creates only over the expected open promotion when one is named', async () => {
      const { store } = await createStore();
      const first = await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('1.0'),
        by: 'x',
        now: at(0),
        expectedOpen: null,
      });
      await expect(
        store.create({
          entityRef,
          target: prod,
          subject,
          to: version('1.1'),
          by: 'x',
          now: at(1),
          expectedOpen: null,
        }),
      ).rejects.toMatchObject({ name: 'ConflictError' });
      await expect(
        store.create({
          entityRef,
          target: prod,
          subject,
          to: version('1.1'),
          by: 'x',
          now: at(1),
          expectedOpen: 'another',
        }),
      ).rejects.toMatchObject({ name: 'ConflictError' });
      expect(await store.get(first.id)).toEqual(first);
      expect((await store.list({ targetId: prod.id })).items).toHaveLength(1);

      const second = await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('1.1'),
        by: 'x',
        now: at(2),
        expectedOpen: first.id,
      });
      expect((await store.get(first.id))?.state).toBe('superseded');
      expect((await store.findOpen(prod.id, subject))?.id).toBe(second.id);

      // Two creates that both read "nothing open" at once: one wins, the other gets a conflict.
      const results = await Promise.allSettled(
        ['a', 'b'].map(s =>
          store.create({
            entityRef,
            target: staging,
            subject,
            to: version(s),
            by: s,
            now: at(3),
            expectedOpen: null,
          }),
        ),
      );
      expect(results.map(r => r.status).sort()).toEqual([
        'fulfilled',
        'rejected',
      ]);
      expect((await store.list({ targetId: staging.id })).items).toHaveLength(
        1,
      );
    });

    it('leaves exactly one open promotion when several are created at once', async () => {
      const { store } = await createStore();
      const created = await Promise.all(
        ['1', '2', '3', '4'].map(tag =>
          store.create({
            entityRef,
            target: prod,
            subject,
            to: version(tag),
            by: 'x',
            now: at(0),
          }),
        ),
      );
      const open = await store.list({
        targetId: prod.id,
        states: ['pending', 'approved', 'applying', 'failed'],
      });
      expect(open.items).toHaveLength(1);
      const superseded = await store.list({
        targetId: prod.id,
        states: ['superseded'],
      });
      expect(superseded.items).toHaveLength(3);
      expect(created.map(p => p.id)).toContain(open.items[0].id);
    });

    it('lets exactly one of two concurrent updates at the same revision win', async () => {
      const { store } = await createStore();
      const p = await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('1'),
        by: 'x',
        now: at(0),
      });
      const results = await Promise.all([
        store.update(
          p.id,
          p.revision,
          {
            state: 'approved',
            step: { state: 'approved', at: at(1).toISOString(), by: 'one' },
          },
          at(1),
        ),
        store.update(
          p.id,
          p.revision,
          {
            state: 'rejected',
            step: { state: 'rejected', at: at(1).toISOString(), by: 'two' },
          },
          at(1),
        ),
      ]);
      const winners = results.filter(r => r !== undefined);
      expect(winners).toHaveLength(1);
      const stored = await store.get(p.id);
      expect(stored).toEqual(winners[0]);
      expect(stored?.revision).toBe(p.revision + 1);
      expect(stored?.history).toHaveLength(2);
      expect(stored?.history[1].state).toBe(stored?.state);

      // A stale revision is refused; so is an unknown promotion.
      expect(
        await store.update(p.id, p.revision, { state: 'applying' }, at(2)),
      ).toBeUndefined();
      expect(
        await store.update(
          '00000000-0000-0000-0000-000000000000',
          1,
          { state: 'applying' },
          at(2),
        ),
      ).toBeUndefined();
    });

    it('refuses an update when the promotion is not in an expected state', async () => {
      const { store } = await createStore();
      const p = await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('1'),
        by: 'x',
        now: at(0),
      });
      expect(
        await store.update(p.id, p.revision, { state: 'applying' }, at(1), [
          'approved',
        ]),
      ).toBeUndefined();
      expect(await store.get(p.id)).toEqual(p);
      const approved = await store.update(
        p.id,
        p.revision,
        { state: 'approved' },
        at(1),
        ['pending'],
      );
      expect(approved).toMatchObject({
        state: 'approved',
        revision: p.revision + 1,
        updatedAt: at(1).toISOString(),
      });
      const applying = await store.update(
        p.id,
        approved!.revision,
        { state: 'applying' },
        at(2),
        ['approved', 'failed'],
      );
      expect(applying?.state).toBe('applying');

      // A closed promotion cannot become open again while another one is open.
      const rejected = await store.update(
        p.id,
        applying!.revision,
        { state: 'rejected' },
        at(3),
      );
      await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('2'),
        by: 'x',
        now: at(4),
      });
      await expect(
        store.update(p.id, rejected!.revision, { state: 'pending' }, at(5)),
      ).rejects.toThrow(/open promotion/);
      expect((await store.get(p.id))?.state).toBe('rejected');
    });

    it('appends history steps in order and patches and clears fields', async () => {
      const { store } = await createStore();
      const p = await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('1', 'sha256:one'),
        by: 'user:default/jane',
        now: at(0),
      });
      const gates = [
        {
          gate: 'soak' as const,
          state: 'waiting' as const,
          summary: 'soak 1h left',
          evidence: { firstSeenAt: at(0).toISOString() },
        },
      ];
      const r2 = await store.update(
        p.id,
        1,
        {
          gates,
          eta: at(60).toISOString(),
          step: {
            state: 'pending',
            at: at(1).toISOString(),
            by: 'image-automation',
            note: 'gates evaluated',
          },
        },
        at(1),
      );
      const r3 = await store.update(
        p.id,
        2,
        {
          state: 'approved',
          to: version('1', 'sha256:two'),
          bypassedGates: ['soak'],
          justification: 'hotfix',
          eta: undefined,
          step: {
            state: 'approved',
            at: at(2).toISOString(),
            by: 'user:default/joe',
          },
        },
        at(2),
      );
      const r4 = await store.update(
        p.id,
        3,
        {
          state: 'applied',
          commit: 'abc123',
          appliedRevision: 'sha256:rev',
          diff: '- 1\n+ 2',
          preview: 'preview',
          closedAt: at(3).toISOString(),
          step: {
            state: 'applied',
            at: at(3).toISOString(),
            by: 'image-automation',
          },
        },
        at(3),
      );
      expect(r2?.gates).toEqual(gates);
      expect(r3?.eta).toBeUndefined();
      expect(r4).toEqual(await store.get(p.id));
      expect(r4).toMatchObject({
        state: 'applied',
        to: version('1', 'sha256:two'),
        gates,
        bypassedGates: ['soak'],
        justification: 'hotfix',
        commit: 'abc123',
        appliedRevision: 'sha256:rev',
        diff: '- 1\n+ 2',
        preview: 'preview',
        closedAt: at(3).toISOString(),
        revision: 4,
      });
      expect(r4?.eta).toBeUndefined();
      expect(r4?.history.map(s => [s.state, s.by])).toEqual([
        ['pending', 'user:default/jane'],
        ['pending', 'image-automation'],
        ['approved', 'user:default/joe'],
        ['applied', 'image-automation'],
      ]);
      // Changing `to` moves the upstream key with it.
      expect(
        await store.findApplied({ entityRef, digest: 'sha256:two' }),
      ).toHaveLength(1);
      expect(
        await store.findApplied({ entityRef, digest: 'sha256:one' }),
      ).toEqual([]);
    });

    it('stores the pull request that carries a promotion, replaces it, and clears it', async () => {
      const { store } = await createStore();
      const p = await store.create({
        entityRef,
        target: staging,
        subject,
        to: version('2'),
        by: 'image-automation',
        now: at(0),
      });
      expect(p.pullRequest).toBeUndefined();
      const open = {
        url: 'https://git.example.com/o/r/pulls/4',
        number: 4,
        host: 'git.example.com',
        state: 'open' as const,
        approvedBy: ['ann'],
        checks: 'pending' as const,
        autoMerge: false,
        updatedAt: at(1).toISOString(),
      };
      const r2 = await store.update(p.id, 1, { pullRequest: open }, at(1));
      expect(r2?.pullRequest).toEqual(open);
      expect((await store.get(p.id))?.pullRequest).toEqual(open);
      const merged = {
        ...open,
        state: 'merged' as const,
        mergeCommit: 'f'.repeat(40),
        updatedAt: at(2).toISOString(),
      };
      await store.update(
        p.id,
        2,
        { state: 'applied', commit: merged.mergeCommit, pullRequest: merged },
        at(2),
      );
      expect(await store.get(p.id)).toMatchObject({
        state: 'applied',
        commit: 'f'.repeat(40),
        pullRequest: merged,
      });
      // A patch without the key keeps it; one with the key undefined clears it.
      await store.update(p.id, 3, { error: 'x' }, at(3));
      expect((await store.get(p.id))?.pullRequest).toEqual(merged);
      await store.update(p.id, 4, { pullRequest: undefined }, at(4));
      expect((await store.get(p.id))?.pullRequest).toBeUndefined();
    });

    it('keeps one vote per actor and digest, replacing it, and both of two concurrent votes', async () => {
      const { store } = await createStore();
      const p = await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('1', 'sha256:d1'),
        by: 'x',
        now: at(0),
      });
      const jane = {
        actor: 'user:default/jane',
        decision: 'approve' as const,
        digest: 'sha256:d1',
        at: at(1).toISOString(),
      };
      expect(await store.vote(p.id, jane)).toEqual([jane]);

      const janeAgain = {
        ...jane,
        decision: 'reject' as const,
        at: at(2).toISOString(),
        reason: 'wrong build',
      };
      expect(await store.vote(p.id, janeAgain)).toEqual([janeAgain]);

      const janeNewDigest = {
        ...jane,
        digest: 'sha256:d2',
        at: at(3).toISOString(),
      };
      expect(await store.vote(p.id, janeNewDigest)).toEqual([
        janeAgain,
        janeNewDigest,
      ]);

      const joe = {
        actor: 'user:default/joe',
        decision: 'approve' as const,
        digest: 'sha256:d2',
        at: at(4).toISOString(),
      };
      const ann = {
        actor: 'user:default/ann',
        decision: 'approve' as const,
        digest: 'sha256:d2',
        at: at(4).toISOString(),
      };
      await Promise.all([store.vote(p.id, joe), store.vote(p.id, ann)]);
      expect(await store.votes(p.id)).toEqual([
        janeAgain,
        janeNewDigest,
        ann,
        joe,
      ]);

      const other = await store.create({
        entityRef,
        target: staging,
        subject,
        to: version('1'),
        by: 'x',
        now: at(0),
      });
      expect(await store.votes(other.id)).toEqual([]);
    });

    it('finds applied promotions of an entity by digest, or by tag when no digest was known', async () => {
      const { store } = await createStore();
      async function applied(
        target: PromotionTarget,
        to: PromotionVersion,
        minute: number,
        owner = entityRef,
      ) {
        const p = await store.create({
          entityRef: owner,
          target,
          subject,
          to,
          by: 'x',
          now: at(minute),
        });
        return store.update(
          p.id,
          p.revision,
          { state: 'applied', closedAt: at(minute + 1).toISOString() },
          at(minute + 1),
        );
      }
      const byDigest = await applied(staging, version('1.0', 'sha256:aaa'), 0);
      const byTag = await applied(prod, version('1.0'), 10);
      const byDigestLater = await applied(
        prod,
        version('1.0', 'sha256:aaa'),
        20,
      );
      await applied(
        staging,
        version('1.0', 'sha256:aaa'),
        30,
        'component:default/other',
      );
      // Open, not applied: no evidence.
      await store.create({
        entityRef,
        target: { ...staging, id: 'git:x' },
        subject,
        to: version('1.0', 'sha256:aaa'),
        by: 'x',
        now: at(40),
      });

      expect(
        (await store.findApplied({ entityRef, digest: 'sha256:aaa' })).map(
          p => p.id,
        ),
      ).toEqual([byDigestLater!.id, byDigest!.id]);
      expect(
        (await store.findApplied({ entityRef, tag: '1.0' })).map(p => p.id),
      ).toEqual([byTag!.id]);
      expect(
        (
          await store.findApplied({
            entityRef,
            digest: 'sha256:aaa',
            tag: '1.0',
          })
        ).map(p => p.id),
      ).toEqual([byDigestLater!.id, byTag!.id, byDigest!.id]);
      expect(
        await store.findApplied({
          entityRef,
          digest: 'sha256:bbb',
          tag: '2.0',
        }),
      ).toEqual([]);
      expect(await store.findApplied({ entityRef })).toEqual([]);
    });

    it('returns the most recently created promotion of a target’s subject, in any state', async () => {
      const { store } = await createStore();
      expect(await store.latest(prod.id, subject)).toBeUndefined();
      const first = await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('1'),
        by: 'x',
        now: at(0),
      });
      expect((await store.latest(prod.id, subject))?.id).toBe(first.id);
      const second = await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('2'),
        by: 'x',
        now: at(1),
      });
      await store.update(
        second.id,
        second.revision,
        { state: 'rejected', closedAt: at(2).toISOString() },
        at(2),
      );
      await store.create({
        entityRef,
        target: prod,
        subject: 'ImagePolicy/apps/other',
        to: version('3'),
        by: 'x',
        now: at(3),
      });
      await store.create({
        entityRef,
        target: staging,
        subject,
        to: version('4'),
        by: 'x',
        now: at(4),
      });
      expect(await store.latest(prod.id, subject)).toMatchObject({
        id: second.id,
        state: 'rejected',
      });
    });

    it('returns the most recently applied promotion of a target’s subject', async () => {
      const { store } = await createStore();
      expect(await store.lastApplied(prod.id, subject)).toBeUndefined();
      const first = await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('1'),
        by: 'x',
        now: at(0),
      });
      await store.update(
        first.id,
        first.revision,
        { state: 'applied', closedAt: at(1).toISOString() },
        at(1),
      );
      const second = await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('2'),
        by: 'x',
        now: at(2),
      });
      await store.update(
        second.id,
        second.revision,
        { state: 'applied', closedAt: at(3).toISOString() },
        at(3),
      );
      const third = await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('3'),
        by: 'x',
        now: at(4),
      });
      await store.update(
        third.id,
        third.revision,
        { state: 'failed', error: 'boom' },
        at(5),
      );
      await store
        .create({
          entityRef,
          target: staging,
          subject,
          to: version('4'),
          by: 'x',
          now: at(6),
        })
        .then(p =>
          store.update(
            p.id,
            p.revision,
            { state: 'applied', closedAt: at(7).toISOString() },
            at(7),
          ),
        );

      expect((await store.lastApplied(prod.id, subject))?.to.tag).toBe('2');
      expect((await store.lastApplied(staging.id, subject))?.to.tag).toBe('4');
      expect(
        await store.lastApplied(prod.id, 'ImagePolicy/apps/other'),
      ).toBeUndefined();
    });

    it('sets, replaces and removes pins, and hides expired ones', async () => {
      const { store } = await createStore();
      const now = at(10);
      const pin = {
        targetId: prod.id,
        subject,
        version: version('1.0', 'sha256:a'),
        reason: 'freeze',
        by: 'user:default/jane',
        at: at(0).toISOString(),
      };
      await store.pin(pin);
      expect(await store.getPin(prod.id, subject, now)).toEqual(pin);

      const replaced = {
        ...pin,
        version: version('1.1'),
        reason: 'incident',
        by: 'user:default/joe',
        at: at(5).toISOString(),
        expiresAt: at(20).toISOString(),
      };
      await store.pin(replaced);
      expect(await store.getPin(prod.id, subject, now)).toEqual(replaced);
      expect(await store.getPin(prod.id, subject, at(20))).toBeUndefined();
      expect(await store.getPin(prod.id, subject, at(30))).toBeUndefined();

      const stagingPin = { ...pin, targetId: staging.id };
      const otherPin = { ...pin, targetId: 'git:elsewhere' };
      await store.pin(stagingPin);
      await store.pin(otherPin);
      expect(await store.listPins([staging.id, prod.id], now)).toEqual(
        [replaced, stagingPin].sort((a, b) =>
          a.targetId < b.targetId ? -1 : 1,
        ),
      );
      expect(await store.listPins([staging.id, prod.id], at(30))).toEqual([
        stagingPin,
      ]);
      expect(await store.listPins([], now)).toEqual([]);

      expect(await store.unpin(prod.id, subject)).toBe(true);
      expect(await store.unpin(prod.id, subject)).toBe(false);
      expect(await store.getPin(prod.id, subject, now)).toBeUndefined();
      expect(await store.getPin(staging.id, subject, now)).toEqual(stagingPin);
    });

    it('migrates down and up again', async () => {
      const { knex, store } = await createStore();
      const p = await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('1'),
        by: 'x',
        now: at(0),
      });
      await store.vote(p.id, {
        actor: 'a',
        decision: 'approve',
        digest: '1',
        at: at(1).toISOString(),
      });
      await store.pin({
        targetId: prod.id,
        subject,
        version: version('1'),
        reason: 'r',
        by: 'a',
        at: at(1).toISOString(),
      });

      await rollbackMigrations(knex);
      for (const table of [
        'image_automation_promotions',
        'image_automation_promotion_votes',
        'image_automation_promotion_pins',
      ]) {
        expect(await knex.schema.hasTable(table)).toBe(false);
      }
      await applyMigrations(knex);
      expect(await store.list({})).toEqual({
        items: [],
        nextCursor: undefined,
      });
      const again = await store.create({
        entityRef,
        target: prod,
        subject,
        to: version('1'),
        by: 'x',
        now: at(0),
      });
      expect(
        await store.vote(again.id, {
          actor: 'a',
          decision: 'approve',
          digest: '1',
          at: at(1).toISOString(),
        }),
      ).toHaveLength(1);
    });
  },
);
