// A test helper that only *.test.ts files import, so the dev dependency is right; its name
// is not one of the test-file patterns the rule knows.
// eslint-disable-next-line @backstage/no-undeclared-imports
import { TestDatabaseId, TestDatabases } from '@backstage/backend-test-utils';
import { Knex } from 'knex';

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
    throw new Error(
      `${POSTGRES_ENV} is not set: the store tests must run on PostgreSQL too`,
    );
  }
  const databases = TestDatabases.create({ ids, disableDocker: true });
  // A test's databases are closed when it ends. Files that set up a fresh database per test would
  // otherwise hold a connection pool per test until the file ends, and with two test processes at
  // once exhaust PostgreSQL's max_connections.
  const opened: Knex[] = [];
  const init = databases.init.bind(databases);
  databases.init = async id => {
    const knex = await init(id);
    opened.push(knex);
    return knex;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map(knex => knex.destroy()));
  });
  return databases;
}
