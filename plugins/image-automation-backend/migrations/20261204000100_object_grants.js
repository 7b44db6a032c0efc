// @ts-check

/**
 * The namespaces granted to the entity that declared an object (imageAutomation.tenancy), as of the
 * last manifest sync: a JSON array of names, `*` for all. Null for platform objects
 * (imageAutomation.locations), which are not limited; a catalog object with null grants (stored
 * before this column existed) is granted nothing until the next sync.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('image_automation_objects', table => {
    table
      .text('granted_namespaces')
      .nullable()
      .comment(
        'JSON array of the namespaces granted to the declaring entity; null for platform objects',
      );
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('image_automation_objects', table => {
    table.dropColumn('granted_namespaces');
  });
};
