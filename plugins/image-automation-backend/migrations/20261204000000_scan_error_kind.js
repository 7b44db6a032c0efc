// @ts-check

/**
 * The class of a failed scan: the registry error's kind (`unauthorized`, `rateLimited`, `server`,
 * `tls`, `network`, `timeout`, …) and the HTTP status of the failing answer, so the tab can say
 * "unauthorized (HTTP 401)" without parsing the message. Both are null for a successful scan and for
 * a failure that was not a registry error. Neither ever holds a credential.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('image_automation_scans', table => {
    table
      .string('error_kind', 32)
      .nullable()
      .comment(
        'A failed scan: RegistryError kind, e.g. unauthorized, rateLimited, server',
      );
    table
      .integer('error_status')
      .nullable()
      .comment('A failed scan: HTTP status of the failing registry answer');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('image_automation_scans', table => {
    table.dropColumn('error_status');
    table.dropColumn('error_kind');
  });
};
