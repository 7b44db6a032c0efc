// @ts-check

/**
 * A registry's `Retry-After`, shared by every replica (issue #16): when a registry answers 429 and
 * asks callers to wait longer than a call waits, the time is kept per registry host, and until
 * then no replica lists that registry: the scans that wanted to fail at once with a rateLimited
 * error naming the time, instead of adding to the load the registry asked to shed.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('image_automation_registry_backoff', table => {
    table
      .string('host', 255)
      .primary()
      .comment('registry host and port, as in image references');
    table
      .text('until')
      .notNullable()
      .comment('ISO time the registry asked callers to wait until');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('image_automation_registry_backoff');
};
