import {
  FaultProxy,
  pushImage,
  startFaultProxy,
  startRegistry,
  TestRegistry,
} from '@internal/image-automation-test/testbed';
import { DatabaseListingStore } from '../store/DatabaseListingStore';
import { createStoreTestDatabases } from '../store/testDatabases';
import { FleetBudget } from './limits';
import { parseImageReference } from './parseImageReference';
import { RegistryClient } from './RegistryClient';
import { RegistryError } from './RegistryError';

jest.setTimeout(120_000);

// `imageAutomation.registry.requestBudget` counted for the whole fleet (issue #16): replicas claim
// the requests of one registry's budget window from the database, never more than the budget
// between them.

const databases = createStoreTestDatabases();
const MINUTE = 60_000;
/** A time at the start of a budget window of a minute. */
const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);

describe.each(databases.eachSupportedId())(
  'the fleet-wide request budget on %s',
  databaseId => {
    async function store() {
      return DatabaseListingStore.create({
        knex: await databases.init(databaseId),
      });
    }

    /** Reserves `count` requests at once; how many may be sent now, and the waits of the others. */
    async function reserveAll(budget: FleetBudget, count: number) {
      const waits = await Promise.all(
        Array.from({ length: count }, () => budget.reserve()),
      );
      return {
        granted: waits.filter(w => w === 0).length,
        waits: waits.filter(w => w > 0),
      };
    }

    it('grants two replicas no more than the budget of a window between them, and a new window again', async () => {
      const shared = await store();
      let now = T0 + 10_000;
      const clock = () => now;
      const a = new FleetBudget(
        shared,
        'registry.example:5000',
        40,
        MINUTE,
        clock,
      );
      const b = new FleetBudget(
        shared,
        'registry.example:5000',
        40,
        MINUTE,
        clock,
      );
      const [fromA, fromB] = await Promise.all([
        reserveAll(a, 30),
        reserveAll(b, 30),
      ]);
      expect(fromA.granted + fromB.granted).toBe(40);
      expect(fromA.granted).toBeGreaterThan(0);
      expect(fromB.granted).toBeGreaterThan(0);
      // The others wait for the next window, 50 s on.
      expect(new Set([...fromA.waits, ...fromB.waits])).toEqual(
        new Set([50_000]),
      );

      // Another registry has a budget of its own.
      const other = new FleetBudget(shared, 'other.example', 40, MINUTE, clock);
      expect((await reserveAll(other, 5)).granted).toBe(5);

      now = T0 + MINUTE;
      const [nextA, nextB] = await Promise.all([
        reserveAll(a, 30),
        reserveAll(b, 30),
      ]);
      expect(nextA.granted + nextB.granted).toBe(40);
    });

    it('claims in blocks, so a replica asks the database once per block', async () => {
      const shared = await store();
      const claims: number[] = [];
      const counting = {
        claimBudget: async (
          ...args: Parameters<DatabaseListingStore['claimBudget']>
        ) => {
          const granted = await shared.claimBudget(...args);
          claims.push(granted);
          return granted;
        },
      };
      const budget = new FleetBudget(
        counting,
        'registry.example',
        100,
        MINUTE,
        () => T0,
      );
      for (let i = 0; i < 12; i++) expect(await budget.reserve()).toBe(0);
      // A twentieth of 100 per block: 12 requests took 3 claims of 5.
      expect(claims).toEqual([5, 5, 5]);
      // A request that was not sent goes back to the block.
      budget.refund();
      for (let i = 0; i < 4; i++) expect(await budget.reserve()).toBe(0);
      expect(claims).toEqual([5, 5, 5]);
    });

    it('gives a replica whose clock is behind nothing of a window the others moved past', async () => {
      const shared = await store();
      const ahead = new FleetBudget(
        shared,
        'registry.example',
        10,
        MINUTE,
        () => T0 + MINUTE + 100,
      );
      const behind = new FleetBudget(
        shared,
        'registry.example',
        10,
        MINUTE,
        () => T0 + MINUTE - 200,
      );
      expect(await ahead.reserve()).toBe(0);
      // It waits for its own next window, 200 ms away, and is counted in that one then.
      expect(await behind.reserve()).toBe(200);
    });

    it('fails a registry call closed, naming the cause, when the budget cannot be claimed', async () => {
      const knex = await databases.init(databaseId);
      const shared = await DatabaseListingStore.create({ knex });
      await knex.schema.dropTable('image_automation_registry_budget');
      const client = new RegistryClient({
        requestBudget: { requests: 10, intervalMs: MINUTE },
        budgetStore: shared,
      });
      const error = await client
        .getDigest(
          parseImageReference('127.0.0.1:1/team/app', { insecure: true }),
          'latest',
        )
        .catch(e => e);
      expect(error).toBeInstanceOf(RegistryError);
      expect(error.kind).toBe('budgetExceeded');
      expect(error.message).toMatch(
        /^HEAD .*: the request budget for 127\.0\.0\.1:1 could not be claimed: .*image_automation_registry_budget/,
      );
    });
  },
);

describe.each(databases.eachSupportedId())(
  'two replicas sharing a registry budget on %s, against a real registry',
  databaseId => {
    let registry: TestRegistry;
    let proxy: FaultProxy;
    beforeAll(async () => {
      registry = await startRegistry();
      await pushImage(registry, 'team/app', ['1.0.0']);
      proxy = await startFaultProxy(registry.url);
    });
    afterAll(async () => {
      await proxy?.stop();
      await registry?.stop();
    });

    it('sends the registry no more than the budget from both, and fails the rest as budgetExceeded', async () => {
      const shared = await DatabaseListingStore.create({
        knex: await databases.init(databaseId),
      });
      const replica = () =>
        new RegistryClient({
          allowedHosts: ['127.0.0.1'],
          requestBudget: { requests: 4, intervalMs: 10 * MINUTE },
          budgetStore: shared,
        });
      const [a, b] = [replica(), replica()];
      const ref = parseImageReference(`${proxy.host}/team/app`, {
        insecure: true,
      });
      for (let i = 0; i < 3; i++) await a.getDigest(ref, '1.0.0');
      await b.getDigest(ref, '1.0.0');
      const refused = await Promise.all(
        [a, b].map(client =>
          client.getDigest(ref, '1.0.0', { timeoutMs: 500 }).catch(e => e),
        ),
      );
      for (const error of refused) {
        expect(error).toBeInstanceOf(RegistryError);
        expect(error.kind).toBe('budgetExceeded');
        expect(error.message).toContain(
          `the request budget for ${proxy.host} is spent until after this call's deadline`,
        );
      }
      expect(proxy.requests).toHaveLength(4);
    });
  },
);
