import { TestDatabaseId, TestDatabases } from '@backstage/backend-test-utils';

const POSTGRES_ENV = 'BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING';

/**
 * The databases every store test runs on: SQLite always, and the real PostgreSQL server that
 * the test script starts (`test/testbed/postgres.sh`). Under CI a missing PostgreSQL is an
 * error, never a silent SQLite-only run.
 * @internal
 */
export function createStoreTestDatabases(): TestDatabases {
  const ids: TestDatabaseId[] = ['SQLITE_3'];
  if (process.env[POSTGRES_ENV]) {
    ids.unshift('POSTGRES_15');
  } else if (process.env.CI) {
    throw new Error(`${POSTGRES_ENV} is not set: the store tests must run on PostgreSQL too`);
  }
  return TestDatabases.create({ ids, disableDocker: true });
}
