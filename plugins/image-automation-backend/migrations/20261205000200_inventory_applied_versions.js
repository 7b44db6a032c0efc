// @ts-check

/**
 * What the last complete apply left in the cluster: the `resourceVersion` of every object of the
 * inventory right after it was applied (or found unchanged), and a key of the apply settings it was
 * made with. An unchanged render whose objects still carry these versions is not dry-run again; a
 * changed `resourceVersion` (someone else wrote the object) sends it through the full apply. Null
 * until an apply finished (and after a failed one).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('image_automation_inventories', table => {
    table
      .text('applied_versions')
      .nullable()
      .comment(
        'JSON {key, versions: {<inventory id>: <resourceVersion>}} of the last complete apply',
      );
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('image_automation_inventories', table => {
    table.dropColumn('applied_versions');
  });
};
