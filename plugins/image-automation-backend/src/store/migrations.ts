import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { Knex } from 'knex';

const migrationsDir = resolvePackagePath(
  '@imageops/backstage-plugin-image-automation-backend',
  'migrations',
);

/** Brings the plugin's tables up to date. @internal */
export async function applyMigrations(knex: Knex): Promise<void> {
  await knex.migrate.latest({
    directory: migrationsDir,
    tableName: 'image_automation_knex_migrations',
  });
}

/** Undoes every migration (used by the migration test). @internal */
export async function rollbackMigrations(knex: Knex): Promise<void> {
  await knex.migrate.rollback(
    { directory: migrationsDir, tableName: 'image_automation_knex_migrations' },
    true,
  );
}
